"""Arrivals and handler costs per IRQ for replay."""

from irqlab.analysis.arrivals import arrivals
from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    Event,
)


def test_shared_line_counts_one_arrival_per_interrupt():
    events = [
        Event(100, 0, IRQ_ENTRY, 16, 0, "ehci"), Event(110, 0, IRQ_EXIT, 16, 0),
        Event(112, 0, IRQ_ENTRY, 16, 0, "eth0"), Event(130, 0, IRQ_EXIT, 16, 1),
        Event(500, 0, IRQ_ENTRY, 16, 0, "ehci"), Event(505, 0, IRQ_EXIT, 16, 1),
    ]
    rec = arrivals(events)["16"]
    assert rec.times_ns == [100, 500]
    assert rec.handler_ns == [30, 5]
    assert rec.actions == ["ehci", "eth0"]


def test_softirq_between_actions_starts_a_new_interrupt():
    events = [
        Event(100, 0, IRQ_ENTRY, 16, 0, "a"), Event(110, 0, IRQ_EXIT, 16, 1),
        Event(120, 0, SOFTIRQ_ENTRY, -1, 3), Event(130, 0, SOFTIRQ_EXIT, -1, 3),
        Event(140, 0, IRQ_ENTRY, 16, 0, "a"), Event(150, 0, IRQ_EXIT, 16, 1),
    ]
    assert arrivals(events)["16"].times_ns == [100, 140]


def test_vectors_use_proc_row_labels_and_nesting():
    events = [
        Event(100, 1, IRQ_ENTRY, 30, 0, "nvme0q1"),
        Event(105, 1, VECTOR_ENTRY, -1, 236, "local_timer"),
        Event(108, 1, VECTOR_EXIT, -1, 236, "local_timer"),
        Event(120, 1, IRQ_EXIT, 30, 1),
    ]
    out = arrivals(events)
    assert list(out) == ["30", "LOC"]
    assert out["LOC"].handler_ns == [3] and out["LOC"].cpus == [1]
    assert out["30"].handler_ns == [20]


def test_missing_exit_and_orphan_exit():
    events = [Event(5, 0, IRQ_EXIT, 9, 1), Event(10, 0, IRQ_ENTRY, 9, 0, "acpi")]
    rec = arrivals(events)["9"]
    assert rec.times_ns == [10] and rec.handler_ns == [-1]


def test_arrivals_sorted_across_cpus():
    events = [
        Event(300, 0, IRQ_ENTRY, 24, 0, "x"), Event(310, 0, IRQ_EXIT, 24, 1),
        Event(200, 1, IRQ_ENTRY, 24, 0, "x"), Event(220, 1, IRQ_EXIT, 24, 1),
    ]
    rec = arrivals(events)["24"]
    assert rec.times_ns == [200, 300] and rec.cpus == [1, 0] and rec.handler_ns == [20, 10]


def test_softirq_work_goes_to_the_handlers_that_raised_it():
    """One NET_RX run (vector 3) serves the raises since the previous run on its
    CPU, shared equally; a hard IRQ inside the run is not softirq time; a run no
    hard IRQ raised is ``unraised``; a raise during a run is for the next run."""
    events = [
        Event(100, 0, IRQ_ENTRY, 24, 0, "eth0"), Event(101, 0, SOFTIRQ_RAISE, -1, 3),
        Event(110, 0, IRQ_EXIT, 24, 1),
        Event(200, 0, VECTOR_ENTRY, -1, 236, "local_timer"), Event(201, 0, SOFTIRQ_RAISE, -1, 3),
        Event(210, 0, VECTOR_EXIT, -1, 236, "local_timer"),
        Event(300, 0, SOFTIRQ_ENTRY, -1, 3),
        Event(310, 0, IRQ_ENTRY, 24, 0, "eth0"), Event(312, 0, SOFTIRQ_RAISE, -1, 3),
        Event(350, 0, IRQ_EXIT, 24, 1),                      # 40 ns of hard IRQ in the run
        Event(400, 0, SOFTIRQ_EXIT, -1, 3),                  # 100 - 40 = 60 ns, 2 raisers
        Event(500, 0, SOFTIRQ_ENTRY, -1, 3), Event(530, 0, SOFTIRQ_EXIT, -1, 3),  # eth0's 2nd
        Event(600, 1, SOFTIRQ_RAISE, -1, 4),
        Event(610, 1, SOFTIRQ_ENTRY, -1, 4), Event(617, 1, SOFTIRQ_EXIT, -1, 4),
        Event(700, 1, SOFTIRQ_ENTRY, -1, 9), Event(705, 1, SOFTIRQ_EXIT, -1, 9),
    ]
    unraised: dict[int, int] = {}
    out = arrivals(events, unraised)
    assert out["24"].softirq_ns == {3: 30 + 30}
    assert out["LOC"].softirq_ns == {3: 30}
    assert unraised == {4: 7, 9: 5}
