from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.report import Report
from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    Event,
)
from irqlab.report.text import render_text

NET_RX = 3


def entry(ts: int, cpu: int, irq: int, name: str) -> Event:
    return Event(ts, cpu, IRQ_ENTRY, irq, 0, name)


def exit_(ts: int, cpu: int, irq: int, ret: int = 1) -> Event:
    return Event(ts, cpu, IRQ_EXIT, irq, ret)


def stats_of(*events: Event, cpus: int = 2) -> IrqStats:
    s = IrqStats(cpus)
    s.feed_events(events)
    return s


def test_counts_per_cpu_and_action_names() -> None:
    s = stats_of(entry(0, 0, 24, "eth0"), exit_(10, 0, 24),
                 entry(20, 1, 24, "eth0"), exit_(30, 1, 24),
                 entry(40, 1, 24, "eth0"), exit_(50, 1, 24))
    assert s.counts["24"] == [1, 2]
    assert s.names["24"] == ["eth0"]
    assert s.handler_ns["24"].count == 3


def test_shared_line_counts_one_interrupt_per_action_chain() -> None:
    # __handle_irq_event_percpu: every action in turn, each with its own entry/exit
    chain = [entry(0, 0, 17, "ehci"), exit_(5, 0, 17, 0), entry(6, 0, 17, "i801"), exit_(9, 0, 17)]
    s = stats_of(*chain, *(e._replace(ts_ns=e.ts_ns + 100) for e in chain))
    assert s.counts["17"] == [2, 0]
    assert s.names["17"] == ["ehci", "i801"]
    assert s.handler_ns["17"].count == 4


def test_shared_action_entered_while_first_is_open_is_not_counted() -> None:
    s = stats_of(entry(0, 0, 17, "a"), entry(1, 0, 17, "b"), exit_(2, 0, 17), exit_(3, 0, 17))
    assert s.counts["17"] == [1, 0]
    assert s.nested == {}


def test_same_action_back_to_back_is_a_new_interrupt() -> None:
    s = stats_of(entry(0, 0, 9, "acpi"), exit_(5, 0, 9), entry(6, 0, 9, "acpi"), exit_(9, 0, 9))
    assert s.counts["9"] == [2, 0]


def test_interrupt_is_handled_when_any_action_handled_it() -> None:
    s = stats_of(entry(0, 0, 17, "a"), exit_(1, 0, 17, 0), entry(2, 0, 17, "b"), exit_(3, 0, 17, 1),
                 entry(10, 0, 17, "a"), exit_(11, 0, 17, 0), entry(12, 0, 17, "b"),
                 exit_(13, 0, 17, 0))
    assert (s.handled["17"], s.unhandled["17"]) == (1, 1)
    assert s.storm_suspects() == [("17", 1, 2)]


def test_nested_interrupt_is_counted_and_hard_time_not_doubled() -> None:
    s = stats_of(entry(0, 0, 24, "eth0"), entry(20, 0, 30, "nvme"), exit_(50, 0, 30),
                 exit_(100, 0, 24))
    assert s.nested == {"30": 1}
    assert s.hardirq_time_ns == [100, 0]
    assert (s.handler_ns["24"].max, s.handler_ns["30"].max) == (100, 30)


def test_softirq_time_excludes_hard_irqs_that_preempted_it() -> None:
    s = stats_of(Event(0, 1, SOFTIRQ_ENTRY, -1, NET_RX),
                 Event(30, 1, VECTOR_ENTRY, -1, 236, "local_timer"),
                 Event(50, 1, VECTOR_EXIT, -1, 236, "local_timer"),
                 Event(100, 1, SOFTIRQ_EXIT, -1, NET_RX))
    assert s.softirq_time_ns == [0, 80]
    assert s.hardirq_time_ns == [0, 20]
    assert s.softirq_ns["NET_RX"].max == 100
    assert s.softirq_counts["NET_RX"] == [0, 1]


def test_vector_events_count_in_their_proc_row() -> None:
    s = stats_of(Event(0, 0, VECTOR_ENTRY, -1, 236, "local_timer"),
                 Event(5, 0, VECTOR_EXIT, -1, 236, "local_timer"),
                 Event(6, 1, VECTOR_ENTRY, -1, 251, "call_function_single"),
                 Event(9, 1, VECTOR_EXIT, -1, 251, "call_function_single"))
    assert s.counts == {"LOC": [1, 0], "CAL": [0, 1]}


def test_raise_latency_uses_earliest_pending_raise() -> None:
    s = stats_of(Event(0, -1, IRQ_RAISE, 24), Event(10, -1, IRQ_RAISE, 24),
                 entry(50, 0, 24, "eth0"), exit_(60, 0, 24),
                 Event(70, -1, IRQ_RAISE, 24), entry(80, 1, 24, "eth0"), exit_(90, 1, 24))
    lat = s.latency_ns["24"]
    assert (lat.count, lat.max, lat.min) == (2, 50, 10)


def test_softirq_latency_is_coalesced_per_cpu_and_vector() -> None:
    s = stats_of(Event(0, 0, SOFTIRQ_RAISE, -1, NET_RX), Event(5, 0, SOFTIRQ_RAISE, -1, NET_RX),
                 Event(7, 1, SOFTIRQ_RAISE, -1, NET_RX),
                 Event(20, 0, SOFTIRQ_ENTRY, -1, NET_RX), Event(30, 0, SOFTIRQ_EXIT, -1, NET_RX))
    lat = s.softirq_latency_ns["NET_RX"]
    assert (lat.count, lat.max) == (1, 20)


def soft(ts: int, cpu: int, kind: int, vec: int = NET_RX) -> Event:
    return Event(ts, cpu, kind, -1, vec)


def test_end_to_end_runs_from_request_to_the_softirq_run_that_served_it() -> None:
    """A raise while NET_RX runs re-pends it (__do_softirq re-reads the pending
    mask): that interrupt is served by the next run, not the current one."""
    s = stats_of(Event(0, -1, IRQ_RAISE, 24), entry(10, 0, 24, "eth0"),
                 soft(12, 0, SOFTIRQ_RAISE), exit_(15, 0, 24),
                 soft(20, 0, SOFTIRQ_ENTRY),
                 Event(25, -1, IRQ_RAISE, 24), entry(30, 0, 24, "eth0"),
                 soft(32, 0, SOFTIRQ_RAISE), exit_(35, 0, 24),
                 soft(100, 0, SOFTIRQ_EXIT),  # serves the first interrupt: 100 - 0
                 soft(110, 0, SOFTIRQ_ENTRY), soft(150, 0, SOFTIRQ_EXIT))  # the second: 150 - 25
    e2e = s.end_to_end_ns["24"]
    assert sorted(b[0] for b in e2e.bucket_list()) == [100, 125] and e2e.count == 2


def test_end_to_end_waits_for_every_vector_its_handler_raised() -> None:
    s = stats_of(Event(0, -1, IRQ_RAISE, 24), entry(10, 0, 24, "eth0"),
                 soft(11, 0, SOFTIRQ_RAISE, 1), soft(12, 0, SOFTIRQ_RAISE, NET_RX),
                 soft(13, 0, SOFTIRQ_RAISE, NET_RX), exit_(15, 0, 24),
                 soft(20, 0, SOFTIRQ_ENTRY, 1), soft(30, 0, SOFTIRQ_EXIT, 1),
                 soft(40, 0, SOFTIRQ_ENTRY), soft(70, 0, SOFTIRQ_EXIT))
    assert (s.end_to_end_ns["24"].count, s.end_to_end_ns["24"].max) == (1, 70)


def test_no_end_to_end_without_a_bottom_half_or_a_device_request() -> None:
    s = stats_of(Event(0, -1, IRQ_RAISE, 24), entry(10, 0, 24, "eth0"), exit_(15, 0, 24),
                 entry(20, 1, 25, "nvme"), soft(21, 1, SOFTIRQ_RAISE), exit_(22, 1, 25),
                 soft(30, 1, SOFTIRQ_ENTRY), soft(40, 1, SOFTIRQ_EXIT))
    assert s.end_to_end_ns == {}


def test_exit_without_entry_is_unmatched() -> None:
    s = stats_of(exit_(5, 0, 24), Event(6, 0, SOFTIRQ_EXIT, -1, NET_RX), entry(10, 0, 24, "eth0"))
    assert s.unmatched == 2
    assert s.counts["24"] == [1, 0]
    assert s.handler_ns["24"].count == 0


def test_lost_inner_exit_is_unmatched_and_outer_still_closes() -> None:
    s = stats_of(entry(0, 0, 24, "eth0"), entry(5, 0, 30, "nvme"), exit_(20, 0, 24))
    assert s.unmatched == 1
    assert s.hardirq_time_ns == [20, 0]


def test_cpu_beyond_the_announced_count_extends_per_cpu_lists() -> None:
    s = stats_of(entry(0, 0, 24, "eth0"), exit_(1, 0, 24), entry(2, 3, 24, "eth0"), exit_(3, 3, 24))
    assert s.cpus == 4
    assert s.counts["24"] == [1, 0, 0, 1]
    assert len(s.hardirq_time_ns) == 4


def test_span_follows_first_and_last_timestamps() -> None:
    s = stats_of(entry(100, 0, 1, "a"), exit_(350, 0, 1))
    assert (s.first_ts, s.last_ts, s.span_ns) == (100, 350, 250)
    assert IrqStats(1).first_ts is None


events = st.builds(
    Event,
    ts_ns=st.integers(min_value=0, max_value=10**6),
    cpu=st.integers(min_value=-2, max_value=5),
    kind=st.integers(min_value=-1, max_value=9),
    irq=st.integers(min_value=-1, max_value=40),
    value=st.integers(min_value=-1, max_value=12),
    name=st.sampled_from(["", "eth0", "local_timer", "reschedule", "odd vector"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=60))
def test_arbitrary_event_streams_never_raise(stream: list[Event]) -> None:
    s = IrqStats(2)
    s.feed_events(stream)  # unordered, unmatched, bad cpus and kinds
    report = Report("trace", s.cpus, stats=s)
    assert set(report.to_json()) >= {"counters", "handler_ns"}
    assert render_text(report)


def test_dpc_latency_run_time_and_time_net_of_nested_isrs() -> None:
    from irqlab.events import DPC_ENTRY, DPC_EXIT, DPC_QUEUE

    s = IrqStats(1)
    s.feed_events([
        Event(0, 0, IRQ_ENTRY, 24, 0, "nic"),
        Event(100, 0, DPC_QUEUE, 24, 0, "nic.sys!NicDpc"),
        Event(300, 0, DPC_QUEUE, 24, 0, "nic.sys!NicDpc"),  # already queued: no new request
        Event(500, 0, IRQ_EXIT, 24, 1),
        Event(1_100, 0, DPC_ENTRY, -1, 0, "nic.sys!NicDpc"),
        Event(1_500, 0, IRQ_ENTRY, 24, 0, "nic"),  # an ISR preempts the DPC
        Event(2_000, 0, IRQ_EXIT, 24, 1),
        Event(3_100, 0, DPC_EXIT, -1, 0, "nic.sys!NicDpc"),
        Event(4_000, 0, DPC_EXIT, -1, 0, "nic.sys!NicDpc"),  # no entry: unmatched
    ])
    assert s.dpc_counts == {"nic.sys!NicDpc": [1]}
    assert s.dpc_latency_ns["nic.sys!NicDpc"].max == 1_000  # from the first queueing
    assert s.dpc_ns["nic.sys!NicDpc"].max == 2_000  # wall time, the nested ISR inside
    assert s.dpc_time_ns == [1_500]  # the nested ISR's 500 ns are hard-IRQ time
    assert s.hardirq_time_ns == [1_000]
    assert s.nested == {}  # preempting a DPC is not nesting in another ISR
    assert s.unmatched == 1


def test_latencymon_execution_time_classes_are_exact_at_their_bounds() -> None:
    from irqlab.analysis.irqstats import DURATION_CLASSES_NS
    from irqlab.events import DPC_ENTRY, DPC_EXIT

    assert DURATION_CLASSES_NS == (250_000, 500_000, 1_000_000, 2_000_000, 4_000_000)
    s = IrqStats(1)
    ts = 0
    for took in (249_999, 250_000, 499_999, 999_999, 1_000_000, 3_999_999, 4_000_000, 9_000_000):
        s.feed_events([Event(ts, 0, IRQ_ENTRY, 5, 0, "dev"), Event(ts + took, 0, IRQ_EXIT, 5, 1),
                       Event(ts + took, 0, DPC_ENTRY, -1, 0, "dev.sys!Dpc"),
                       Event(ts + 2 * took, 0, DPC_EXIT, -1, 0, "dev.sys!Dpc")])
        ts += 3 * took
    assert s.handler_classes("5") == [1, 2, 1, 1, 1, 2]
    assert s.dpc_classes("dev.sys!Dpc") == [1, 2, 1, 1, 1, 2]
    assert s.handler_classes("missing") == [0] * 6
