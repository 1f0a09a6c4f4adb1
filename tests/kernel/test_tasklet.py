"""Tasklets (kernel/softirq.c): TASKLET_STATE_SCHED coalescing, no
concurrent run of one tasklet, HI before TASKLET, softirq context."""

from __future__ import annotations

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.softirq import HI, TASKLET
from irqlab.kernel.tasklet import Tasklet
from irqlab.machine.build import Machine

from .rig import machine, python_handler, run

DEVICES = """
[scenario]
name = "tasklets"
[machine]
cpus = 2
entry_cost = "100ns"
exit_cost = "100ns"
[timer]
enabled = false
[[device]]
name = "uart0"
kind = "msix"
cpu = 0
arrival = {{ kind = "replay", times = ["1ms"] }}
[[device]]
name = "uart1"
kind = "msix"
cpu = 1
arrival = {{ kind = "replay", times = ["{second}"] }}
"""


def two_uarts(second: str = "50ms") -> Machine:
    return machine(DEVICES.format(second=second))


def scheduling(*tasklets: Tasklet, results: list[bool] | None = None):
    """A primary handler that clears its device and schedules ``tasklets``."""
    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        for t in tasklets:
            ok = ctx.tasklet_schedule(t)
            if results is not None:
                results.append(ok)
        return IRQ_HANDLED
    return handler


def test_scheduling_a_scheduled_tasklet_does_nothing() -> None:
    m = two_uarts()
    runs: list[int] = []
    t = Tasklet(lambda ctx: runs.append(m.engine.now))
    results: list[bool] = []
    python_handler(m, "uart0", scheduling(t, t, t, results=results))
    run(m, 2_000_000)
    assert results == [True, False, False]
    assert runs == [1_001_100]  # at the interrupt's exit
    assert t.runs == 1
    assert m.kernel.softirqs.counts[TASKLET] == [1, 0]


def test_tasklet_scheduled_while_it_runs_runs_again() -> None:
    m = two_uarts()
    k = m.kernel
    again: list[bool] = []

    def func(ctx: HandlerContext) -> None:
        ctx.spend(5_000)
        if t.runs == 0:
            again.append(ctx.tasklet_schedule(t))

    t = Tasklet(func)
    python_handler(m, "uart0", scheduling(t))
    run(m, 2_000_000)
    assert again == [True]
    assert t.runs == 2
    assert k.softirqs.counts[TASKLET] == [2, 0]  # the restart loop's second pass


def test_a_tasklet_never_runs_on_two_cpus_at_once() -> None:
    m = two_uarts(second="1.01ms")
    k = m.kernel
    spans: list[tuple[int, int, int]] = []

    def func(ctx: HandlerContext) -> None:
        spans.append((ctx.cpu, m.engine.now, m.engine.now + 100_000))
        ctx.spend(100_000)

    t = Tasklet(func)
    python_handler(m, "uart0", scheduling(t))
    python_handler(m, "uart1", scheduling(t))
    run(m, 2_000_000)
    # CPU0 runs it 1.0011-1.1011 ms; CPU1, scheduled at 1.0101 ms, finds it
    # running, requeues it (the restart loop, then ksoftirqd/1, retry) and runs
    # it once CPU0 is done.
    (cpu_a, start_a, end_a), (cpu_b, start_b, _) = spans
    assert (cpu_a, start_a, cpu_b) == (0, 1_001_100, 1)
    assert end_a <= start_b < end_a + 1_000
    assert t.runs == 2
    assert k.softirqs.handoffs == [0, 1]


def test_hi_tasklets_run_before_normal_ones() -> None:
    m = two_uarts()
    order: list[str] = []
    normal = Tasklet(lambda ctx: order.append("normal"))
    high = Tasklet(lambda ctx: order.append("hi"))

    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        ctx.tasklet_schedule(normal)
        ctx.k.tasklets.hi_schedule(ctx.cpu, high)
        return IRQ_HANDLED

    python_handler(m, "uart0", handler)
    run(m, 2_000_000)
    assert order == ["hi", "normal"]
    assert (m.kernel.softirqs.counts[HI], m.kernel.softirqs.counts[TASKLET]) == ([1, 0], [1, 0])


def test_sleeping_in_a_tasklet_is_scheduling_while_atomic() -> None:
    m = two_uarts()
    t = Tasklet(lambda ctx: ctx.msleep(1))
    python_handler(m, "uart0", scheduling(t))
    run(m, 2_000_000)
    kinds = [w.kind for w in m.kernel.warnings]
    assert kinds == ["atomic-sleep"]
    assert "BUG: scheduling while atomic: msleep" in m.kernel.warnings[0].message
