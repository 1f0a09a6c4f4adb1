"""The NIC's RX ring and ethtool coalescing rules."""

from __future__ import annotations

import pytest

from irqlab.hw.nic import CoalesceError, RxQueue, check_coalesce
from irqlab.sim.engine import Engine
from tests.napi.rig import Pulses


def _queue(usecs: int, frames: int, ring: int = 64) -> tuple[Engine, RxQueue, Pulses]:
    engine = Engine()
    sig = Pulses(engine)
    q = RxQueue(engine, 0, sig, ring, 64)
    q.set_coalesce(usecs, frames)
    return engine, q, sig


def _frames_at(engine: Engine, q: RxQueue, times: list[int]) -> None:
    for t in times:
        engine.at(t, lambda _: q.receive())
    engine.run()


def test_rx_frames_limit_fires_on_the_nth_frame() -> None:
    engine, q, sig = _queue(0, 4)
    _frames_at(engine, q, [1000 * i for i in range(1, 10)])
    assert sig.times == [4000, 8000]


def test_rx_usecs_limit_fires_after_usecs_from_the_first_frame() -> None:
    engine, q, sig = _queue(10, 0)
    _frames_at(engine, q, [1000, 3000, 5000, 30_000])
    assert sig.times == [11_000, 40_000]


def test_whichever_limit_comes_first_fires() -> None:
    engine, q, sig = _queue(10, 3)
    # three quick frames: the frame limit; then one lone frame: the timer
    _frames_at(engine, q, [1000, 1500, 2000, 50_000])
    assert sig.times == [2000, 60_000]


def test_both_zero_is_refused_with_the_ethtool_error() -> None:
    with pytest.raises(CoalesceError, match="Cannot set device coalesce parameters: Invalid argument"):
        check_coalesce(0, 0)
    _, q, _ = _queue(0, 1)
    with pytest.raises(CoalesceError):
        q.set_coalesce(0, 0)
    assert (q.usecs_ns, q.frames) == (0, 1)  # the refused request changed nothing


def test_usecs_zero_frames_one_is_an_interrupt_per_frame() -> None:
    engine, q, sig = _queue(0, 1)
    _frames_at(engine, q, [100, 200, 300])
    assert sig.times == [100, 200, 300]


def test_masked_queue_interrupts_on_unmask_once_the_limit_was_reached() -> None:
    engine, q, sig = _queue(0, 2)
    q.irq_disable()
    _frames_at(engine, q, [100, 200, 300])
    assert sig.times == []
    q.irq_enable()
    assert sig.times == [300]


def test_unmask_after_the_driver_emptied_the_ring_is_silent() -> None:
    engine, q, sig = _queue(0, 1)
    q.irq_disable()
    _frames_at(engine, q, [100, 200])
    assert len(q.take(64)) == 2
    q.irq_enable()
    assert sig.times == []


def test_full_ring_drops_and_counts() -> None:
    engine, q, _ = _queue(0, 1, ring=4)
    _frames_at(engine, q, [10 * i for i in range(1, 8)])
    assert (len(q.ring), q.drops, q.packets) == (4, 3, 4)
