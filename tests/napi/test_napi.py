"""NAPI: weight, round budget, time limit, re-enable, MISSED, deferred hard IRQs."""

from __future__ import annotations

import itertools
from collections.abc import Generator

from irqlab.hw.nic import Nic
from irqlab.kernel.action import IrqAction
from irqlab.kernel.kernel import Kernel
from irqlab.kernel.napi import (
    NAPIF_STATE_MISSED,
    NAPIF_STATE_SCHED,
    Napi,
    Softnet,
    napi_complete_done,
    napi_schedule,
    napi_schedule_prep,
    net_dev_init,
)
from irqlab.kernel.softirq import NET_RX
from tests.napi.rig import X86_1CPU, Pulses, drive, machine


class Source:
    """A device with ``left`` packets of ``ns`` each; records every poll."""

    def __init__(self, left: int, ns: int) -> None:
        self.left = left
        self.ns = ns
        self.budgets: list[int] = []
        self.completions: list[tuple[int, bool]] = []


def fake_poll(n: Napi, budget: int) -> Generator[int, None, int]:
    dev: Source = n.dev
    dev.budgets.append(budget)
    work = min(budget, dev.left)
    dev.left -= work
    if work:
        yield work * dev.ns
    if work == budget:
        return budget
    dev.completions.append((n.net.k.engine.now, napi_complete_done(n, work)))
    return work


def _setup() -> tuple[Kernel, Softnet]:
    m = machine(X86_1CPU)
    return m.kernel, net_dev_init(m.kernel)


def _schedule_in_irq(k: Kernel, napis: list[Napi]) -> None:
    cpu = k.cpus[0]
    cpu.in_irq += 1  # as from a hard-IRQ handler
    for n in napis:
        napi_schedule(n, 0)
    cpu.in_irq -= 1


def test_round_stops_at_netdev_budget_300_with_weight_64_polls() -> None:
    k, net = _setup()
    devs = [Source(10**9, 10) for _ in range(10)]
    napis = [net.napi_add(fake_poll, d, 0) for d in devs]
    _schedule_in_irq(k, napis)
    drive(k.engine, net.net_rx_action(k, 0))
    budgets = [b for d in devs for b in d.budgets]
    assert budgets == [64] * 5  # 300 - 5 * 64 < 0: the round ends after the 5th poll
    sd = net.sd[0]
    assert sd.time_squeeze == 1
    assert len(sd.poll_list) == 10  # nobody completed: all still scheduled
    assert k.softirqs.pending[0] >> NET_RX & 1


def test_round_stops_after_two_jiffies() -> None:
    k, net = _setup()
    # a 64-packet poll takes 3.2 ms; a jiffy is 4 ms at HZ=250
    devs = [Source(10**9, 50_000) for _ in range(4)]
    napis = [net.napi_add(fake_poll, d, 0) for d in devs]
    _schedule_in_irq(k, napis)
    drive(k.engine, net.net_rx_action(k, 0))
    # 192 packets, under the 300 budget: the 2-jiffy limit ended the round
    assert [len(d.budgets) for d in devs] == [1, 1, 1, 0]
    assert net.sd[0].time_squeeze == 1
    assert list(net.sd[0].poll_list) == [napis[3], *napis[:3]]  # unpolled first, then repoll


def _nic_driver(k: Kernel, net: Softnet, frames: int):  # type: ignore[no-untyped-def]
    from irqlab.machine.netdev import RxDriver

    nic = Nic(k.engine, "eth0", [Pulses(k.engine)], ring_size=512)
    q = nic.queues[0]
    for _ in range(frames):
        q.receive()
    driver = RxDriver(k, net, nic, 100, 100, napi=True, adaptive=False, cpus=[0])
    ctx = k.handler_ctx[0]
    ctx.action = IrqAction(24, driver.interrupt, None, 0, "eth0", q)
    k.cpus[0].in_irq += 1
    driver.interrupt(ctx)
    k.cpus[0].in_irq -= 1
    return q, driver.napis[0]


def test_poll_under_weight_completes_and_reenables_the_device_irq() -> None:
    k, net = _setup()
    q, n = _nic_driver(k, net, 10)
    assert not q.irq_enabled and n.scheduled
    drive(k.engine, net.net_rx_action(k, 0))
    assert q.irq_enabled
    assert not n.scheduled and not net.sd[0].poll_list


def test_poll_that_used_its_weight_stays_scheduled_with_the_irq_masked() -> None:
    k, net = _setup()
    q, n = _nic_driver(k, net, 100)
    drive(k.engine, net.net_rx_action(k, 0))
    assert not q.irq_enabled and n.scheduled
    assert list(net.sd[0].poll_list) == [n]
    assert len(q.ring) == 36
    drive(k.engine, net.net_rx_action(k, 0))
    assert q.irq_enabled and not n.scheduled and not q.ring


def test_schedule_while_scheduled_sets_missed_and_completion_repolls() -> None:
    _k, net = _setup()
    n = net.napi_add(fake_poll, Source(0, 10), 0)
    assert napi_schedule_prep(n)
    assert not napi_schedule_prep(n)
    assert n.state & NAPIF_STATE_MISSED
    assert not napi_complete_done(n, 5)  # the driver must not re-enable: poll again
    assert n.state == NAPIF_STATE_SCHED
    assert list(net.sd[0].poll_list) == [n]


def test_defer_hard_irqs_keeps_the_irq_masked_under_the_gro_flush_timer() -> None:
    k, net = _setup()
    dev = Source(5, 100)
    n = net.napi_add(fake_poll, dev, 0)
    n.defer_hard_irqs = 2
    n.gro_flush_timeout = 20_000
    net.napi_watchdog(n)  # first poll, as if from the interrupt
    k.engine.run(until_ns=1_000_000)
    # busy poll: timer; empty poll: timer; second empty poll: back to interrupts
    assert [ok for _, ok in dev.completions] == [False, False, True]
    times = [t for t, _ in dev.completions]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(20_000 <= g < 22_000 for g in gaps), gaps
    assert not n.scheduled


def test_without_deferral_completion_reenables_at_once() -> None:
    k, net = _setup()
    dev = Source(5, 100)
    n = net.napi_add(fake_poll, dev, 0)
    net.napi_watchdog(n)
    k.engine.run(until_ns=1_000_000)
    assert [ok for _, ok in dev.completions] == [True]
