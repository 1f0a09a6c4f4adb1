"""The per-CPU scheduler (irqlab.kernel.sched): FIFO over normal threads,
priorities, fair slices, preemption at interrupt return, need_resched."""

from __future__ import annotations

import pytest

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.cpu import USER
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.sched import (
    SCHED_FIFO,
    SLEEP,
    Body,
    Sleep,
    base_slice_ns,
    cpu_bound,
)
from irqlab.machine.build import Machine

from .rig import at, machine, python_handler, run

QUIET = """
[scenario]
name = "sched"
[machine]
cpus = 1
entry_cost = "100ns"
exit_cost = "100ns"
[timer]
enabled = false
"""

ONE_IRQ = QUIET + """
[[device]]
name = "dev"
kind = "msix"
arrival = { kind = "replay", times = ["1ms"] }
"""


def burst(m: Machine, log: list[tuple[str, int]], name: str, cost: int) -> Body:
    """A thread that, each time it is woken, logs its start, runs ``cost`` and sleeps."""
    while True:
        log.append((name, m.engine.now))
        yield cost
        yield SLEEP


def test_machine_without_threads_has_no_scheduler_hook() -> None:
    m = machine(ONE_IRQ)
    run(m, 2_000_000)
    assert m.kernel.cpus[0].on_idle is None


def test_fifo_thread_preempts_a_normal_thread_at_once() -> None:
    m = machine(QUIET)
    s = m.kernel.sched
    user = s.kthread_create("user", 0, cpu_bound(), kind=USER)
    s.wake_up_process(user)
    log: list[tuple[str, int]] = []
    rt = s.kthread_create("rt", 0, burst(m, log, "rt", 200_000), SCHED_FIFO, 10)
    at(m, 1_000_000, lambda: s.wake_up_process(rt))
    run(m, 5_000_000)
    assert log == [("rt", 1_000_000)]
    assert s.runtime_ns(rt) == 200_000
    assert s.runtime_ns(user) == 5_000_000 - 200_000


def test_higher_fifo_priority_preempts_equal_priority_waits() -> None:
    m = machine(QUIET)
    s = m.kernel.sched
    log: list[tuple[str, int]] = []
    low = s.kthread_create("low", 0, burst(m, log, "low", 1_000_000), SCHED_FIFO, 10)
    high = s.kthread_create("high", 0, burst(m, log, "high", 300_000), SCHED_FIFO, 20)
    same = s.kthread_create("same", 0, burst(m, log, "same", 100_000), SCHED_FIFO, 10)
    s.wake_up_process(low)
    at(m, 200_000, lambda: s.wake_up_process(high))
    at(m, 300_000, lambda: s.wake_up_process(same))
    run(m, 3_000_000)
    # high runs 0.2-0.5 ms; low resumes with its remaining 0.8 ms; then same.
    assert log == [("low", 0), ("high", 200_000), ("same", 1_300_000)]


def test_slice_scales_with_cpus_as_sched_tunable_scaling_log() -> None:
    assert [base_slice_ns(n) for n in (1, 2, 4, 8, 64)] == [
        750_000, 1_500_000, 2_250_000, 3_000_000, 3_000_000]


def test_normal_threads_share_the_cpu_round_robin() -> None:
    m = machine(QUIET)
    s = m.kernel.sched
    a = s.kthread_create("a", 0, cpu_bound(), kind=USER)
    b = s.kthread_create("b", 0, cpu_bound(), kind=USER)
    s.wake_up_process(a)
    s.wake_up_process(b)
    run(m, 30_000_000)
    # 20 slices of 0.75 ms each: a has had its 20th, b is in its 20th.
    assert s.runtime_ns(a) == 15_000_000
    assert s.runtime_ns(b) == 15_000_000


def test_woken_normal_thread_waits_for_the_end_of_the_running_slice() -> None:
    m = machine(QUIET)
    s = m.kernel.sched
    s.wake_up_process(s.kthread_create("user", 0, cpu_bound(), kind=USER))
    log: list[tuple[str, int]] = []
    other = s.kthread_create("other", 0, burst(m, log, "other", 10_000))
    at(m, 1_000_000, lambda: s.wake_up_process(other))
    run(m, 3_000_000)
    assert log == [("other", 2 * base_slice_ns(1))]  # the slice that began at 0.75 ms


def test_thread_woken_by_an_interrupt_runs_when_it_returns() -> None:
    m = machine(ONE_IRQ)
    k = m.kernel
    s = k.sched
    s.wake_up_process(s.kthread_create("user", 0, cpu_bound(), kind=USER))
    log: list[tuple[str, int]] = []
    rt = s.kthread_create("rt", 0, burst(m, log, "rt", 50_000), SCHED_FIFO, 50)
    resched: list[bool] = []

    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        resched.append(k.sched.need_resched(0))
        s.wake_up_process(rt)
        resched.append(k.sched.need_resched(0))
        return IRQ_HANDLED

    python_handler(m, "dev", handler)
    at(m, 1_020_000, lambda: resched.append(k.sched.need_resched(0)))
    run(m, 2_000_000)
    # entry 100 ns + handler 1 us (the built-in cost) + exit 100 ns, then the thread
    assert log == [("rt", 1_001_200)]
    assert resched == [False, True, False]


def test_waking_a_normal_thread_does_not_ask_to_preempt_a_normal_one() -> None:
    m = machine(QUIET)
    s = m.kernel.sched
    s.wake_up_process(s.kthread_create("user", 0, cpu_bound(), kind=USER))
    other = s.kthread_create("other", 0, burst(m, [], "other", 10_000))
    seen: list[bool] = []

    def wake() -> None:
        s.wake_up_process(other)
        seen.append(m.kernel.sched.need_resched(0))

    at(m, 1_000_000, wake)
    run(m, 1_100_000)
    assert seen == [False]


def test_timed_sleep_wakes_after_its_time() -> None:
    m = machine(QUIET)
    s = m.kernel.sched
    log: list[int] = []

    def body() -> Body:
        log.append(m.engine.now)
        yield 10_000
        yield Sleep(500_000)
        log.append(m.engine.now)

    t = s.kthread_create("sleeper", 0, body())
    s.wake_up_process(t)
    run(m, 1_000_000)
    assert log == [0, 510_000]
    assert s.runtime_ns(t) == 10_000


@pytest.mark.parametrize(("policy", "prio", "kind"), [
    (SCHED_FIFO, 0, USER), (SCHED_FIFO, 100, USER), (0, 5, USER), (0, 0, 2),
])
def test_bad_thread_parameters_are_refused(policy: int, prio: int, kind: int) -> None:
    m = machine(QUIET)
    with pytest.raises(ValueError, match=r"^t: "):
        m.kernel.sched.kthread_create("t", 0, cpu_bound(), policy, prio, kind)
