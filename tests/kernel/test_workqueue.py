"""Workqueues (kernel/workqueue.c): kworker threads in process context,
WORK_STRUCT_PENDING coalescing, sleeping work and concurrency management;
where sleeping is allowed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.cpu import IDLE, SYSTEM
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_WAKE_THREAD, IRQF_TRIGGER_RISING
from irqlab.kernel.manage import free_irq, request_threaded_irq
from irqlab.kernel.sched import Body, Sleep
from irqlab.kernel.tasklet import Tasklet
from irqlab.kernel.workqueue import Work
from irqlab.machine.build import Machine

from .rig import at, machine, python_handler, run

ONE_CPU = """
[scenario]
name = "wq"
[machine]
cpus = 1
entry_cost = "100ns"
exit_cost = "100ns"
[timer]
enabled = false
[[device]]
name = "xhci"
kind = "msix"
arrival = { kind = "replay", times = ["1ms", "1.5ms"] }
"""

IRQ_RETURNS = 1_001_200  # entry 100 ns + built-in handler cost 1 us + exit 100 ns


def queueing(*works: Work, results: list[bool] | None = None):
    """A primary handler that clears its device and queues ``works``."""
    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        for w in works:
            ok = ctx.schedule_work(w)
            if results is not None:
                results.append(ok)
        return IRQ_HANDLED
    return handler


def first_irq_only(handler: Callable[[HandlerContext], int]):
    def h(ctx: HandlerContext) -> int:
        if ctx.k.engine.now < 1_400_000:
            return handler(ctx)
        ctx.device.service(1)
        return IRQ_HANDLED
    return h


def test_work_runs_in_a_kworker_in_process_context_and_may_sleep() -> None:
    m = machine(ONE_CPU)
    k = m.kernel
    log: list[tuple[str, int, bool]] = []

    def func(ctx: HandlerContext) -> Body:
        curr = k.sched.rqs[0].curr
        log.append(("start", m.engine.now, ctx.atomic))
        assert curr is not None and curr.name == "kworker/0:0"
        yield 10_000
        ctx.might_sleep("mutex_lock")
        yield Sleep(1_000_000)
        yield 10_000
        log.append(("end", m.engine.now, ctx.atomic))

    python_handler(m, "xhci", first_irq_only(queueing(Work(func))))
    run(m, 3_000_000)
    assert log == [("start", IRQ_RETURNS, False), ("end", IRQ_RETURNS + 1_020_000, False)]
    t = k.cpus[0].account()
    assert t[SYSTEM] == 20_000
    assert t[IDLE] >= 1_000_000  # the CPU idles while the work sleeps
    assert k.warnings == []


def test_queueing_pending_work_does_nothing_and_requeue_while_running_runs_again() -> None:
    m = machine(ONE_CPU)
    runs: list[int] = []

    def func(ctx: HandlerContext) -> Body:
        runs.append(m.engine.now)
        yield Sleep(1_000_000)  # still running when the second interrupt queues it

    w = Work(func)
    results: list[bool] = []
    python_handler(m, "xhci", queueing(w, w, results=results))
    run(m, 5_000_000)
    assert results == [True, False, True, False]
    # the second run waits for the first to end (1.0012 + 1 ms)
    assert runs == [IRQ_RETURNS, IRQ_RETURNS + 1_000_000]
    assert w.runs == 2


def test_a_sleeping_worker_hands_the_pool_to_another_worker() -> None:
    m = machine(ONE_CPU)
    k = m.kernel
    done: dict[str, tuple[str, int]] = {}

    def sleepy(ctx: HandlerContext) -> Body:
        yield Sleep(1_000_000)
        done["sleepy"] = (k.sched.rqs[0].curr.name, m.engine.now)  # type: ignore[union-attr]

    def quick(ctx: HandlerContext) -> Body:
        yield 10_000
        done["quick"] = (k.sched.rqs[0].curr.name, m.engine.now)  # type: ignore[union-attr]

    python_handler(m, "xhci", first_irq_only(queueing(Work(sleepy), Work(quick))))
    run(m, 3_000_000)
    assert done == {"quick": ("kworker/0:1", IRQ_RETURNS + 10_000),
                    "sleepy": ("kworker/0:0", IRQ_RETURNS + 1_000_000)}


def _sleeps(ctx: HandlerContext) -> None:
    ctx.msleep(1)


def _sleeping_handler(ctx: HandlerContext) -> int:
    ctx.device.service(1)
    _sleeps(ctx)
    return IRQ_HANDLED


def _in_hardirq(m: Machine) -> None:
    python_handler(m, "xhci", _sleeping_handler)


def _in_tasklet(m: Machine) -> None:
    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        ctx.tasklet_schedule(Tasklet(_sleeps))
        return IRQ_HANDLED

    python_handler(m, "xhci", first_irq_only(handler))


def _in_irq_thread(m: Machine) -> None:
    k = m.kernel
    dev = m.devices["xhci"][0]

    def primary(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        return IRQ_WAKE_THREAD

    def thread_fn(ctx: HandlerContext) -> int:
        _sleeps(ctx)
        return IRQ_HANDLED

    free_irq(k, 24, dev)
    request_threaded_irq(k, 24, primary, thread_fn, IRQF_TRIGGER_RISING, "xhci", dev)


def _in_work(m: Machine) -> None:
    python_handler(m, "xhci", first_irq_only(queueing(Work(_sleeps))))


@pytest.mark.parametrize(("where", "violations"), [
    (_in_hardirq, 2), (_in_tasklet, 1), (_in_irq_thread, 0), (_in_work, 0),
])
def test_sleeping_is_a_bug_in_atomic_context_only(where: Callable[[Machine], None],
                                                  violations: int) -> None:
    m = machine(ONE_CPU)
    where(m)
    run(m, 3_000_000)
    assert [w.kind for w in m.kernel.warnings] == ["atomic-sleep"] * violations


def test_system_time_of_kworkers_leaves_the_rest_to_the_user_thread() -> None:
    m = machine(ONE_CPU.replace('entry_cost', 'workload = { kind = "cpu-bound" }\nentry_cost'))
    k = m.kernel

    def func(ctx: HandlerContext) -> Body:
        yield 50_000
        yield Sleep(200_000)
        yield 50_000

    python_handler(m, "xhci", first_irq_only(queueing(Work(func))))
    running: list[str] = []

    def who() -> None:
        curr = k.sched.rqs[0].curr
        running.append(curr.name if curr is not None else "-")

    # queued at 1.0011 ms, the kworker waits for the user thread's slice to
    # end (1.5 ms), computes 50 us, sleeps 200 us, then waits for a slice again
    for t_ns in (1_200_000, 1_520_000, 1_600_000, 1_800_000):
        at(m, t_ns, who)
    run(m, 4_000_000)
    assert running == ["cpu-bound/0", "kworker/0:0", "cpu-bound/0", "cpu-bound/0"]
    t = k.cpus[0].account()
    assert t[SYSTEM] == 100_000
    assert sum(t) == 4_000_000 and t[IDLE] == 0
