"""The ftrace reader takes the scheduler, workqueue and tasklet events as the
kernel (include/trace/events/{sched,workqueue,irq}.h) and libtraceevent's
plugins (trace-cmd report, perf script) print them."""

from __future__ import annotations

import io

from irqlab.events import (
    IRQ_ENTRY,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    TASKLET_ENTRY,
    TASKLET_EXIT,
    WORK_END,
    WORK_QUEUE,
    WORK_START,
    Event,
)
from irqlab.observe.ftrace import FtraceReader

TRACEFS = """\
# tracer: nop
#
          <idle>-0       [001] d.h1.  5101.000002: irq_handler_entry: irq=130 name=iwlwifi
          <idle>-0       [001] d.h1.  5101.000009: sched_wakeup: comm=irq/130-iwlwifi pid=612 prio=49 target_cpu=001
          <idle>-0       [001] d..2.  5101.000010: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=irq/130-iwlwifi next_pid=612 next_prio=49
 irq/130-iwlwifi-612     [001] d..2.  5101.000031: sched_switch: prev_comm=irq/130-iwlwifi prev_pid=612 prev_prio=49 prev_state=S ==> next_comm=kworker/1:2 next_pid=88 next_prio=120
     kworker/1:2-88      [001] d..2.  5101.000040: sched_switch: prev_comm=kworker/1:2 prev_pid=88 prev_prio=120 prev_state=R+ ==> next_comm=swapper/1 next_pid=0 next_prio=120
     kworker/1:2-88      [001] d..2.  5101.000041: sched_switch: prev_comm=kworker/1:2 prev_pid=88 prev_prio=120 prev_state=D|W ==> next_comm=swapper/1 next_pid=0 next_prio=120
            bash-4021    [000] d..1.  5101.000050: workqueue_queue_work: work struct=00000000c0ffee12 function=e1000_watchdog [e1000e] workqueue=events req_cpu=8192 cpu=0
     kworker/0:1-31      [000] .....  5101.000060: workqueue_execute_start: work struct 00000000c0ffee12: function e1000_watchdog [e1000e]
     kworker/0:1-31      [000] .....  5101.000070: workqueue_execute_end: work struct 00000000c0ffee12: function e1000_watchdog [e1000e]
     kworker/0:1-31      [000] .....  5101.000071: workqueue_execute_end: work struct 00000000c0ffee12
          <idle>-0       [000] ..s1.  5101.000080: tasklet_entry: tasklet=0xffff8881001b4c40 function=ath9k_tasklet
          <idle>-0       [000] ..s1.  5101.000083: tasklet_exit: tasklet=0xffff8881001b4c40 function=ath9k_tasklet
"""

PLUGINS = """\
cpus=2
          <idle>-0     [001]  5101.000009123: sched_wakeup:         irq/130-iwlwifi:612 [49] success=1 CPU:001
          <idle>-0     [001]  5101.000010456: sched_switch:         swapper/1:0 [120] R ==> irq/130-iwlwifi:612 [49]
 irq/130-iwlwifi-612   [001]  5101.000031000: sched_switch:         irq/130-iwlwifi:612 [49] S ==> swapper/1:0 [120]
            perf  4021 [000]  5101.000050000: irq:tasklet_entry: func=.rpavscsi_task
"""


def read(text: str) -> list[Event]:
    return list(FtraceReader(io.BytesIO(text.encode())))


def test_tracefs_text_of_the_sched_workqueue_and_tasklet_events() -> None:
    assert read(TRACEFS) == [
        Event(5101_000_002_000, 1, IRQ_ENTRY, 130, 0, "iwlwifi"),
        Event(5101_000_009_000, 1, SCHED_WAKEUP, 612, 49, "irq/130-iwlwifi"),
        Event(5101_000_010_000, 1, SCHED_SWITCH, 612, 0, "irq/130-iwlwifi"),
        Event(5101_000_031_000, 1, SCHED_SWITCH, 88, 0x01, "kworker/1:2"),
        Event(5101_000_040_000, 1, SCHED_SWITCH, 0, 0x100, "swapper/1"),  # R+: preempted
        # (the "D|W" line is damaged: see below)
        Event(5101_000_050_000, 0, WORK_QUEUE, 0xC0FFEE12, 0, "e1000_watchdog [e1000e]"),
        Event(5101_000_060_000, 0, WORK_START, 0xC0FFEE12, 0, "e1000_watchdog [e1000e]"),
        Event(5101_000_070_000, 0, WORK_END, 0xC0FFEE12, 0, "e1000_watchdog [e1000e]"),
        Event(5101_000_071_000, 0, WORK_END, 0xC0FFEE12, 0, ""),
        Event(5101_000_080_000, 0, TASKLET_ENTRY, -1, 0, "ath9k_tasklet"),
        Event(5101_000_083_000, 0, TASKLET_EXIT, -1, 0, "ath9k_tasklet"),
    ]


def test_an_unknown_prev_state_letter_is_a_damaged_line() -> None:
    reader = FtraceReader(io.BytesIO(TRACEFS.encode()))
    list(reader)
    assert reader.skipped.count == 1  # "D|W": no W in TASK_REPORT
    assert reader.skipped.line == 8


def test_libtraceevent_plugin_layouts() -> None:
    assert read(PLUGINS) == [
        Event(5101_000_009_123, 1, SCHED_WAKEUP, 612, 49, "irq/130-iwlwifi"),
        Event(5101_000_010_456, 1, SCHED_SWITCH, 612, 0, "irq/130-iwlwifi"),
        Event(5101_000_031_000, 1, SCHED_SWITCH, 0, 0x01, "swapper/1"),
        Event(5101_000_050_000, 0, TASKLET_ENTRY, -1, 0, "rpavscsi_task"),
    ]
