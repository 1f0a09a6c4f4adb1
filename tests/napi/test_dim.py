"""net DIM: 64-event windows and the 10 % significance threshold."""

from __future__ import annotations

from irqlab.kernel.dim import (
    DIM_GOING_LEFT,
    DIM_PARKING_ON_TOP,
    DIM_STATS_BETTER,
    DIM_STATS_SAME,
    DIM_STATS_WORSE,
    RX_EQE_PROFILES,
    DimStats,
    Moderation,
    NetDim,
    stats_compare,
)


def _parked(prev: DimStats, profile_ix: int = 2) -> tuple[NetDim, list[Moderation]]:
    applied: list[Moderation] = []
    dim = NetDim(applied.append, profile_ix=profile_ix)
    dim.prev_stats = prev
    return dim, applied


PREV = DimStats(ppms=1000, bpms=64_000, epms=100)


def test_more_than_ten_percent_more_bytes_moves_a_parked_dim() -> None:
    dim, _ = _parked(PREV)
    assert dim.decision(DimStats(1000, 72_000, 100))  # +12.5 %
    assert dim.tune_state == DIM_GOING_LEFT
    assert dim.profile_ix == 1


def test_ten_percent_or_less_leaves_a_parked_dim_alone() -> None:
    # 0, +4.7, +10.0, -10.0 %, and +10.9 %, which the integer arithmetic rounds to 10
    for bpms in (64_000, 67_000, 70_400, 57_600, 71_000):
        dim, _ = _parked(PREV)
        assert not dim.decision(DimStats(1000, bpms, 100)), bpms
        assert dim.tune_state == DIM_PARKING_ON_TOP
        assert dim.profile_ix == 2


def test_compare_order_bytes_then_packets_then_fewer_events() -> None:
    assert stats_compare(DimStats(1000, 50_000, 100), PREV) == DIM_STATS_WORSE
    assert stats_compare(DimStats(1200, 64_000, 100), PREV) == DIM_STATS_BETTER
    assert stats_compare(DimStats(1000, 64_000, 80), PREV) == DIM_STATS_BETTER  # fewer events
    assert stats_compare(DimStats(1000, 64_000, 120), PREV) == DIM_STATS_WORSE
    assert stats_compare(DimStats(1050, 66_000, 105), PREV) == DIM_STATS_SAME


def _window(dim: NetDim, t0: int, events: int, span_us: int, pkts_per_event: int) -> None:
    """Feed ``events`` NAPI completions evenly over ``span_us``."""
    for e in range(1, events + 1):
        dim.sample(t0 + e * span_us * 1000 // events, e, e * pkts_per_event, e * pkts_per_event * 64)


def test_decisions_wait_for_64_events() -> None:
    dim, applied = _parked(DimStats(0, 0, 0))
    dim.sample(0, 0, 0, 0)  # START_MEASURE -> measuring
    _window(dim, 0, 63, 1000, 10)
    assert applied == [] and dim.tune_state == DIM_PARKING_ON_TOP
    dim.sample(2_000_000, 64, 640, 640 * 64)
    assert applied == [RX_EQE_PROFILES[1]]  # left from profile 2 on the first window
    assert dim.changes == 1
