"""Softirqs (kernel/softirq.c): run at irq_exit in vector order, the bounded
restart loop, the hand-off to ksoftirqd and how ksoftirqd competes, and the
/proc/softirqs counters."""

from __future__ import annotations

import pytest

from irqlab.events import SOFTIRQ_ENTRY, SOFTIRQ_NAMES
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.cpu import IDLE, SOFTIRQ, USER
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.kernel import Kernel
from irqlab.kernel.sched import SCHED_FIFO, SLEEP, Body, Thread
from irqlab.kernel.softirq import BLOCK, HI, NET_RX, RCU, TIMER
from irqlab.machine.build import Machine, build
from irqlab.report.procfs import render_softirqs
from irqlab.runner import simulation_report
from irqlab.scenario.loader import load

from .rig import at, machine, python_handler, run

ONE_IRQ = """
[scenario]
name = "softirq"
[machine]
cpus = 1
hz = {hz}
entry_cost = "100ns"
exit_cost = "100ns"
{workload}
[timer]
enabled = false
[[device]]
name = "dev"
kind = "msix"
arrival = {{ kind = "replay", times = ["{at}"] }}
"""


def one_irq(at_: str = "1ms", hz: int = 250, workload: str = "") -> Machine:
    return machine(ONE_IRQ.format(hz=hz, at=at_, workload=workload))


def raising(*vectors: int, cost: int = 1_000):
    """A primary handler that clears its device and raises ``vectors``."""
    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        for nr in vectors:
            ctx.k.raise_softirq(ctx.cpu, nr, cost)
        return IRQ_HANDLED
    return handler


def where(k: Kernel) -> Thread | None:
    """The thread running on CPU0 (None: an interrupt's exit on the idle CPU)."""
    return k.sched.rqs[0].curr


def test_softirqs_run_at_irq_exit_lowest_vector_first() -> None:
    m = one_irq()
    python_handler(m, "dev", raising(RCU, BLOCK, HI, NET_RX))
    rec = run(m, 2_000_000)
    ran = [(ts, SOFTIRQ_NAMES[v]) for ts, _, kind, _, v, _ in rec.events if kind == SOFTIRQ_ENTRY]
    # right after the handler (entry 100 ns + 1 us), each vector's 1 us in turn
    assert ran == [(1_001_100, "HI"), (1_002_100, "NET_RX"), (1_003_100, "BLOCK"),
                   (1_004_100, "RCU")]


def test_softirq_raised_during_a_pass_restarts_the_loop() -> None:
    m = one_irq()
    k = m.kernel
    order: list[str] = []

    def block(k: Kernel, cpu: int) -> int:
        order.append("BLOCK")
        if order.count("BLOCK") == 1:
            k.raise_softirq(cpu, NET_RX)  # a lower vector: runs in the next pass
        return 1_000

    def net_rx(k: Kernel, cpu: int) -> int:
        order.append(("NET_RX", where(k)))  # type: ignore[arg-type]
        return 1_000

    k.softirqs.open_softirq(BLOCK, block)
    k.softirqs.open_softirq(NET_RX, net_rx)
    python_handler(m, "dev", raising(BLOCK))
    run(m, 2_000_000)
    assert order == ["BLOCK", ("NET_RX", None)]
    assert k.softirqs.handoffs == [0]


def rerasing(k: Kernel, log: list[Thread | None], cost: int, passes: int):
    """A NET_RX action that raises itself again, ``passes`` times in all."""
    def action(k_: Kernel, cpu: int) -> int:
        log.append(where(k))
        if len(log) < passes:
            k.raise_softirq(cpu, NET_RX)
        return cost
    return action


def test_restart_loop_hands_off_to_ksoftirqd_after_10_passes() -> None:
    m = one_irq()
    k = m.kernel
    log: list[Thread | None] = []
    k.softirqs.open_softirq(NET_RX, rerasing(k, log, 1_000, 15))
    python_handler(m, "dev", raising(NET_RX))
    run(m, 2_000_000)
    ksoftirqd = k.ksoftirqd[0]
    assert ksoftirqd is not None and ksoftirqd.name == "ksoftirqd/0"
    assert log == [None] * 10 + [ksoftirqd] * 5
    assert k.softirqs.handoffs == [1]


@pytest.mark.parametrize(("hz", "start", "inline_passes"), [
    # msecs_to_jiffies(2) = 2 at HZ=1000: from a jiffy boundary, 2-3 ms in 0.7 ms passes
    (1000, "5ms", 3),
    # = 1 jiffy (4 ms) at HZ=250: up to the next tick, checked after each pass
    (250, "4ms", 6),
    (250, "7.9ms", 1),
])
def test_restart_loop_time_limit_is_jiffy_granular(hz: int, start: str, inline_passes: int) -> None:
    m = one_irq(start, hz=hz)
    k = m.kernel
    log: list[Thread | None] = []
    k.softirqs.open_softirq(NET_RX, rerasing(k, log, 700_000, 12))
    python_handler(m, "dev", raising(NET_RX))
    run(m, 20_000_000)
    assert log.count(None) == inline_passes
    assert log[inline_passes:] == [k.ksoftirqd[0]] * (12 - inline_passes)


def test_restart_loop_stops_when_a_woken_thread_needs_the_cpu() -> None:
    m = one_irq()
    k = m.kernel
    log: list[Thread | None] = []
    k.softirqs.open_softirq(NET_RX, rerasing(k, log, 1_000, 5))
    rt = k.sched.kthread_create("rt", 0, sleeper(), SCHED_FIFO, 50)

    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(1)
        k.raise_softirq(ctx.cpu, NET_RX)
        k.sched.wake_up_process(rt)  # need_resched
        return IRQ_HANDLED

    python_handler(m, "dev", handler)
    run(m, 2_000_000)
    assert log == [None] + [k.ksoftirqd[0]] * 4
    assert k.softirqs.handoffs == [1]


def sleeper() -> Body:
    while True:
        yield 10_000
        yield SLEEP


def test_raise_outside_interrupt_context_wakes_ksoftirqd() -> None:
    m = one_irq()
    k = m.kernel
    log: list[Thread | None] = []
    k.softirqs.open_softirq(NET_RX, rerasing(k, log, 1_000, 1))
    at(m, 500_000, lambda: k.raise_softirq(0, NET_RX))
    run(m, 600_000)
    assert log == [k.ksoftirqd[0]]


def test_ksoftirqd_shares_the_cpu_with_a_normal_thread() -> None:
    """An endless softirq load raised outside interrupt context is run by
    ksoftirqd, a normal thread: the user thread keeps about half the CPU."""
    m = one_irq(workload='workload = { kind = "cpu-bound" }')
    k = m.kernel

    def endless(k_: Kernel, cpu: int) -> int:
        k.raise_softirq(cpu, NET_RX)
        return 50_000

    k.softirqs.open_softirq(NET_RX, endless)
    at(m, 100_000, lambda: k.raise_softirq(0, NET_RX))
    run(m, 60_000_000)
    t = k.cpus[0].account()
    assert 0.45 < t[USER] / 60e6 < 0.55
    assert 0.45 < t[SOFTIRQ] / 60e6 < 0.55
    assert t[IDLE] == 0


def test_softirq_overload_scenario_reports_the_takeover() -> None:
    spec, _ = load("softirq-overload")
    m = build(spec)
    run(m, 60_000_000)
    data = simulation_report(m, None).to_json()
    notes = [w["message"] for w in data["warnings"] if w["kind"] == "ksoftirqd"]
    assert len(notes) == 1 and "ksoftirqd/0" in notes[0]
    threads = {row["thread"]: row for row in data["results"]}
    cpu0 = data["cpu_time_ns"]["0"]
    assert threads["ksoftirqd/0"]["runtime_ns"] > 0
    # ksoftirqd's time is softirq time; the user thread still gets its share
    assert threads["ksoftirqd/0"]["runtime_ns"] <= cpu0["softirq"]
    assert cpu0["system"] == 0
    assert cpu0["user"] == threads["cpu-bound/0"]["runtime_ns"] > 0


def test_proc_softirqs_counts_every_run_per_cpu() -> None:
    m = machine("""
[scenario]
name = "counts"
[machine]
cpus = 2
hz = 1000
[[device]]
name = "eth0"
kind = "msix"
cpu = 1
arrival = { kind = "periodic", period = "1ms", phase = "300us" }
handler = { cost = "1us", softirq = "NET_RX", softirq_cost = "2us" }
""")
    run(m, 10_000_000)
    snap = m.kernel.snapshot()
    loc = snap.rows["LOC"].per_cpu
    assert loc == [10, 10]
    text = render_softirqs(snap).splitlines()
    assert text[0] == " " * 20 + "CPU0       CPU1       "
    # every tick raises TIMER on its CPU; each NIC interrupt one NET_RX run on CPU1
    assert text[1 + TIMER] == f"       TIMER: {loc[0]:10d} {loc[1]:10d}"
    assert text[1 + NET_RX] == f"      NET_RX: {0:10d} {10:10d}"
    assert text[1 + HI] == f"          HI: {0:10d} {0:10d}"
