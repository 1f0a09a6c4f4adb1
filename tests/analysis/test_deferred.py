"""IRQ-thread, tasklet, work-item and DPC distributions from the scheduler,
tasklet, workqueue and DPC events (irqlab.analysis.deferred through IrqStats)."""

from __future__ import annotations

from irqlab.analysis.irqstats import IrqStats
from irqlab.events import (
    DPC_ENTRY,
    DPC_EXIT,
    DPC_QUEUE,
    EXIT_DEAD,
    IRQ_ENTRY,
    IRQ_EXIT,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    TASK_INTERRUPTIBLE,
    TASK_REPORT_MAX,
    TASKLET_ENTRY,
    TASKLET_EXIT,
    WORK_END,
    WORK_QUEUE,
    WORK_START,
    Event,
)

IT, USER = "irq/17-i2c_hid", "stress-ng"


def stats(events: list[Event], cpus: int = 2) -> IrqStats:
    s = IrqStats(cpus)
    s.feed_events(events)
    return s


def summary(hists: dict, key: str) -> tuple[int, int, int]:
    h = hists[key]
    return h.count, h.min, h.max


def test_irq_thread_wake_to_run_and_cpu_time_of_one_activation() -> None:
    s = stats([
        Event(1_000, 0, SCHED_SWITCH, 300, 0, USER),
        Event(2_000, 0, IRQ_ENTRY, 17, 0, "i2c_hid"),
        Event(3_000, 0, IRQ_EXIT, 17, 1),
        Event(3_000, 0, SCHED_WAKEUP, 100, 49, IT),
        Event(3_500, 0, SCHED_SWITCH, 100, TASK_REPORT_MAX, IT),  # user preempted
        Event(13_500, 0, SCHED_SWITCH, 300, TASK_REPORT_MAX, USER),  # thread preempted after 10 us
        Event(20_000, 0, SCHED_SWITCH, 100, TASK_REPORT_MAX, IT),  # back for 5 us more
        Event(25_000, 0, SCHED_SWITCH, 300, TASK_INTERRUPTIBLE, USER),  # asleep: done
        # second activation, woken twice before it runs, on the other CPU
        Event(40_000, 1, SCHED_WAKEUP, 100, 49, IT),
        Event(41_000, 1, SCHED_WAKEUP, 100, 49, IT),
        Event(42_000, 1, SCHED_SWITCH, 100, 0, IT),
        Event(45_000, 1, SCHED_SWITCH, 0, EXIT_DEAD, "swapper/1"),
    ])
    assert summary(s.irqthread_latency_ns, IT) == (2, 500, 2_000)
    assert summary(s.irqthread_ns, IT) == (2, 3_000, 15_000)
    assert s.unmatched == 0
    assert USER not in s.irqthread_ns  # only IRQ threads (irq/N-name)


def test_tasklet_work_and_dpc_times() -> None:
    s = stats([
        Event(0, 1, TASKLET_ENTRY, -1, 0, "serial_tasklet"),
        Event(4_000, 1, TASKLET_EXIT, -1, 0, "serial_tasklet"),
        Event(5_000, 0, WORK_QUEUE, 7, 1, "xhci_work"),
        Event(6_000, 1, WORK_START, 7, 0, "xhci_work"),
        Event(1_006_000, 1, WORK_END, 7, 0, "xhci_work"),  # slept in between: wall time
        Event(10_000, 0, DPC_QUEUE, -1, 0, "ndisDpc"),
        Event(10_000, 0, DPC_QUEUE, -1, 0, "ndisDpc"),  # already queued: the first counts
        Event(12_500, 0, DPC_ENTRY, -1, 0, "ndisDpc"),
        Event(13_000, 0, DPC_QUEUE, -1, 0, "storDpc"),
        Event(14_000, 0, DPC_EXIT, -1, 0, "ndisDpc"),
        Event(14_000, 0, DPC_ENTRY, -1, 0, "storDpc"),
        Event(20_000, 0, DPC_EXIT, -1, 0, "storDpc"),
    ])
    assert summary(s.tasklet_ns, "serial_tasklet") == (1, 4_000, 4_000)
    assert summary(s.work_ns, "xhci_work") == (1, 1_000_000, 1_000_000)
    assert summary(s.dpc_latency_ns, "ndisDpc") == (1, 2_500, 2_500)
    assert summary(s.dpc_latency_ns, "storDpc") == (1, 1_000, 1_000)
    assert summary(s.dpc_ns, "ndisDpc") == (1, 1_500, 1_500)
    assert summary(s.dpc_ns, "storDpc") == (1, 6_000, 6_000)
    assert s.unmatched == 0


def test_ends_without_starts_are_unmatched_not_errors() -> None:
    s = stats([
        Event(0, 0, TASKLET_EXIT, -1, 0, "t"),
        Event(1, 0, WORK_END, 9, 0, "w"),
        Event(2, 0, DPC_EXIT, -1, 0, "d"),
        Event(3, 0, TASKLET_ENTRY, -1, 0, "t"),
        Event(4, 0, TASKLET_ENTRY, -1, 0, "t"),  # the first lost its exit
        Event(5, 0, WORK_START, 3, 0, "w"),
        Event(2, 0, WORK_END, 3, 0, "w"),  # out of order: negative
        Event(6, 0, 99, -1, 0, ""),  # unknown kind
    ])
    assert s.unmatched == 6
    assert not s.work_ns and not s.dpc_ns and not s.tasklet_ns
