"""Interrupt rate over time: counts as IrqStats counts them, in bins that
coarsen to stay within their bound."""

from __future__ import annotations

import pytest

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.rates import RateTimeline
from irqlab.events import IRQ_ENTRY, IRQ_EXIT, SOFTIRQ_ENTRY, VECTOR_ENTRY, Event
from tests.report.runs import simulated


def feed(sink, events) -> None:
    for ev in events:
        sink.feed(*ev)


def test_totals_match_irqstats_on_a_run_with_a_shared_line() -> None:
    run = simulated("default", 3_000_000)
    stats, timeline = IrqStats(2), RateTimeline(bin_ns=50_000, max_bins=16)
    feed(stats, run.events)
    feed(timeline, run.events)
    assert "16" in timeline.rows  # the shared uhci/i801 line: two actions per interrupt
    assert {k: sum(v) for k, v in timeline.rows.items()} == \
        {k: sum(v) for k, v in stats.counts.items() if sum(v)}
    assert all(len(row) <= 16 for row in timeline.rows.values())
    assert timeline.bin_ns > 50_000  # 3 ms did not fit 16 bins of 50 us


def test_back_to_back_interrupts_of_one_line_are_two() -> None:
    events = [Event(0, 0, IRQ_ENTRY, 17, 0, "a"), Event(5, 0, IRQ_EXIT, 17, 0, "a"),
              Event(6, 0, IRQ_ENTRY, 17, 0, "b"), Event(9, 0, IRQ_EXIT, 17, 0, "b"),
              Event(10, 0, IRQ_ENTRY, 17, 0, "a"),  # "a" again: a new interrupt
              Event(20, 1, VECTOR_ENTRY, -1, 236, "local_timer"),
              Event(30, 0, SOFTIRQ_ENTRY, -1, 3),
              Event(31, 0, IRQ_ENTRY, 17, 0, "b")]  # after a softirq: a new interrupt
    timeline = RateTimeline(bin_ns=100)
    feed(timeline, events)
    assert timeline.rows == {"17": [3], "LOC": [1]}


def test_per_second_pads_rows_to_the_run() -> None:
    timeline = RateTimeline(bin_ns=1_000_000)
    timeline.feed(0, 0, IRQ_ENTRY, 5, 0, "x")
    timeline.feed(2_500_000, 0, IRQ_ENTRY, 6, 0, "y")
    times, rows = timeline.per_second(end_ns=4_000_000)
    assert times == pytest.approx([0, 0.001, 0.002, 0.003])
    assert rows == {"5": [1000.0, 0, 0, 0], "6": [0, 0, 1000.0, 0]}
