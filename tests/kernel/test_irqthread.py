"""Threaded interrupts (kernel/irq/manage.c): request rules, the irq/N-name
thread at SCHED_FIFO 50, IRQF_ONESHOT masking, coalesced wake-ups."""

from __future__ import annotations

import pytest

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.chip import IRQCHIP_ONESHOT_SAFE
from irqlab.kernel.flags import (
    IRQ_HANDLED,
    IRQ_WAKE_THREAD,
    IRQF_ONESHOT,
    IRQF_TRIGGER_HIGH,
    IRQF_TRIGGER_RISING,
)
from irqlab.kernel.irqthread import IrqThread
from irqlab.kernel.manage import (
    IrqRequestError,
    irq_default_primary_handler,
    request_threaded_irq,
)
from irqlab.kernel.sched import SCHED_FIFO
from irqlab.machine.build import Machine

from .rig import at, bare_kernel, line, machine, run

LEVEL = """
[scenario]
name = "threaded"
[machine]
cpus = 2
entry_cost = "100ns"
exit_cost = "100ns"
{workload}
[timer]
enabled = false
[[device]]
name = "i2c_hid"
kind = "line"
line = 17
trigger = "level"
cpu = 1
arrival = {{ kind = "replay", times = ["1ms"] }}
handler = {{ cost = "1us", thread = "100us"{oneshot} }}
"""


def level(oneshot: bool = True, workload: bool = False) -> Machine:
    return machine(LEVEL.format(oneshot=", oneshot = true" if oneshot else "",
                                workload='workload = { kind = "cpu-bound" }' if workload else ""))


def thread_of(m: Machine, irq: int) -> IrqThread:
    it: IrqThread = m.kernel.descs[irq].action[0].thread
    return it


def _thread_fn(ctx: HandlerContext) -> int:
    return IRQ_HANDLED


def test_null_primary_without_oneshot_is_refused() -> None:
    k = bare_kernel(1)
    desc = line(k, "fasteoi", [], level=True)
    with pytest.raises(IrqRequestError) as err:
        request_threaded_irq(k, 10, None, _thread_fn, IRQF_TRIGGER_HIGH, "tsc2007")
    msg = "Threaded irq requested with handler=NULL and !ONESHOT for tsc2007 (irq 10)"
    assert (err.value.errno, str(err.value), k.log[-1][1]) == ("EINVAL", msg, msg)
    assert desc.action == []
    action = request_threaded_irq(k, 10, None, _thread_fn, IRQF_TRIGGER_HIGH | IRQF_ONESHOT,
                                  "tsc2007")
    assert action.handler is irq_default_primary_handler
    assert irq_default_primary_handler(k.handler_ctx[0]) == IRQ_WAKE_THREAD


def test_null_primary_is_accepted_on_a_oneshot_safe_chip() -> None:
    k = bare_kernel(1)
    line(k, "edge", [], level=False, chip_flags=IRQCHIP_ONESHOT_SAFE)
    action = request_threaded_irq(k, 10, None, _thread_fn, IRQF_TRIGGER_RISING, "msi")
    assert action.thread is not None


def test_thread_is_named_irq_n_name_and_runs_sched_fifo_50_on_the_line_cpu() -> None:
    m = level()
    t = thread_of(m, 17).thread
    assert (t.name, t.policy, t.prio, t.cpu) == ("irq/17-i2c_hid", SCHED_FIFO, 50, 1)


def test_oneshot_keeps_the_line_masked_until_the_thread_has_run() -> None:
    m = level(oneshot=True)
    desc = m.kernel.descs[17]
    dev = m.devices["i2c_hid"][0]
    seen: dict[str, tuple[bool, int, int]] = {}
    # the thread runs 1.0012 .. 1.1012 ms; it clears the device as it starts
    at(m, 1_001_000, lambda: seen.update(primary=(desc.masked, dev.status, desc.threads_oneshot)))
    at(m, 1_050_000, lambda: seen.update(thread=(desc.masked, dev.status, desc.threads_oneshot)))
    at(m, 1_150_000, lambda: seen.update(after=(desc.masked, dev.status, desc.threads_oneshot)))
    run(m, 2_000_000)
    assert seen == {"primary": (True, 1, 0), "thread": (True, 0, 1), "after": (False, 0, 0)}
    assert desc.kstat == [0, 1]
    assert m.kernel.sched.runtime_ns(thread_of(m, 17).thread) == 100_000


def test_without_oneshot_the_asserted_level_line_fires_again_before_the_thread_runs() -> None:
    m = level(oneshot=False)
    desc = m.kernel.descs[17]
    run(m, 1_300_000)
    assert desc.kstat[1] > 200
    assert m.kernel.sched.runtime_ns(thread_of(m, 17).thread) == 0


def test_irq_thread_preempts_the_user_thread_when_the_interrupt_returns() -> None:
    m = level(workload=True)
    k = m.kernel
    running: list[str | None] = []

    def who() -> None:
        curr = k.sched.rqs[1].curr
        running.append(None if curr is None else curr.name)

    # the primary runs 1.0001 .. 1.0011 ms on top of the user thread, then
    # wakes the thread, which runs from the interrupt's return (1.0012 ms)
    for t in (1_000_500, 1_001_300, 1_101_100, 1_101_300):
        at(m, t, who)
    run(m, 2_000_000)
    assert running == ["cpu-bound/1", "irq/17-i2c_hid", "irq/17-i2c_hid", "cpu-bound/1"]


MSI = """
[scenario]
name = "coalesce"
[machine]
cpus = 1
entry_cost = "100ns"
exit_cost = "100ns"
[timer]
enabled = false
[[device]]
name = "nvme0q1"
kind = "msix"
arrival = { kind = "replay", times = ["1ms", "1.01ms", "1.02ms", "1.03ms"] }
handler = { cost = "1us", thread = "100us", batch = 0 }
"""


def test_wakeups_coalesce_while_the_thread_has_not_started() -> None:
    m = machine(MSI)
    desc = m.kernel.descs[24]
    it = thread_of(m, 24)
    run(m, 2_000_000)
    # 1st wake-up starts the thread; the 2nd (while it runs) sets RUNTHREAD
    # again; the 3rd and 4th find it set: one more run for the three.
    assert it.coalesced == 2
    assert m.kernel.sched.runtime_ns(it.thread) == 200_000
    assert desc.threads_handled == 2
    assert (desc.threads_active, m.devices["nvme0q1"][0].status, desc.kstat) == (0, 0, [4])
