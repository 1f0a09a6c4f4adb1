"""Windows: ISRs nest by IRQL; DPCs run after all ISRs, in queue order, at DISPATCH_LEVEL."""

from __future__ import annotations

import pytest

from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.machine.build import BuildError, Machine
from irqlab.os.windows import DISPATCH_LEVEL, Kdpc, NtKernel, WorkItem
from tests.napi.rig import machine

SCENARIO = """
[machine]
arch = "x86"
os = "windows"
cpus = 1
irq_nesting = true
[timer]
enabled = false
[[device]]
name = "low"
kind = "msix"
vector = 0x51
[[device]]
name = "low2"
kind = "msix"
vector = 0x52
[[device]]
name = "high"
kind = "msix"
vector = 0x81
"""


class Rig:
    def __init__(self) -> None:
        self.m: Machine = machine(SCENARIO)
        assert isinstance(self.m.os, NtKernel)
        self.nt = self.m.os
        self.isr: list[tuple[str, str, int]] = []  # (entry/exit, device, time)
        self.dpcs: list[tuple[str, int, int]] = []  # (dpc, time, irql)
        self.m.trace.connect([self])

    def feed(self, ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        if kind in (IRQ_ENTRY, IRQ_EXIT):
            self.isr.append(("entry" if kind == IRQ_ENTRY else "exit", name, ts))

    def device(self, name: str, isr_ns: int, dpc_ns: int = 1000) -> None:
        k = self.m.kernel
        dev = self.m.devices[name][0]
        dpc = Kdpc(f"{name}Dpc", self._dpc_routine(f"{name}Dpc", dpc_ns))

        def isr(ctx: HandlerContext) -> int:
            ctx.cost += isr_ns
            self.nt.ke_insert_queue_dpc(ctx, dpc)
            return IRQ_HANDLED

        k.descs[dev.irq].action[0].handler = isr

    def _dpc_routine(self, name: str, cost: int):  # type: ignore[no-untyped-def]
        def routine(_: object) -> int:
            self.dpcs.append((name, self.m.engine.now, self.nt.current_irql(0)))
            return cost
        return routine

    def fire(self, name: str, at: int) -> None:
        dev = self.m.devices[name][0]
        self.m.engine.at(at, lambda _: dev.request())

    def time(self, what: str, name: str) -> int:
        return next(t for w, n, t in self.isr if w == what and n == name)


def test_higher_irql_isr_preempts_and_dpcs_wait_for_all_isrs() -> None:
    r = Rig()
    r.device("low", isr_ns=10_000)
    r.device("high", isr_ns=2_000)
    r.fire("low", 1_000)
    r.fire("high", 5_000)
    r.m.engine.run(until_ns=100_000)
    order = [(w, n) for w, n, _ in r.isr]
    assert order == [("entry", "low"), ("entry", "high"), ("exit", "high"), ("exit", "low")]
    assert [d for d, _, _ in r.dpcs] == ["lowDpc", "highDpc"]  # queue order
    last_isr = r.time("exit", "low")
    assert all(t >= last_isr for _, t, _ in r.dpcs)
    assert all(irql == DISPATCH_LEVEL for _, _, irql in r.dpcs)
    assert r.nt.current_irql(0) == 0  # back to PASSIVE_LEVEL


def test_same_irql_does_not_preempt() -> None:
    r = Rig()
    r.device("low", isr_ns=10_000)
    r.device("low2", isr_ns=1_000)
    r.fire("low", 1_000)
    r.fire("low2", 5_000)
    r.m.engine.run(until_ns=100_000)
    assert r.time("entry", "low2") >= r.time("exit", "low")


def test_device_interrupt_preempts_a_dpc() -> None:
    r = Rig()
    r.device("low", isr_ns=1_000, dpc_ns=50_000)
    r.device("high", isr_ns=1_000)
    r.fire("low", 1_000)
    r.fire("high", 20_000)  # during lowDpc
    r.m.engine.run(until_ns=200_000)
    low_dpc = next(t for d, t, _ in r.dpcs if d == "lowDpc")
    assert low_dpc < r.time("entry", "high") < low_dpc + 50_000
    assert [d for d, _, _ in r.dpcs] == ["lowDpc", "highDpc"]


def test_dpc_is_not_queued_twice() -> None:
    r = Rig()
    ctx = r.m.kernel.handler_ctx[0]
    dpc = Kdpc("d", lambda _: 0)
    assert r.nt.ke_insert_queue_dpc(ctx, dpc)
    assert not r.nt.ke_insert_queue_dpc(ctx, dpc)
    assert len(r.nt.dpc_queue[0]) == 1


def test_work_item_runs_at_passive_level_after_the_dpc() -> None:
    r = Rig()
    seen: list[tuple[int, int]] = []
    item = WorkItem("w", lambda _: seen.append((r.m.engine.now, r.nt.current_irql(0))) or 500)
    dpc = Kdpc("queuer", lambda _: r.nt.io_queue_work_item(item) and 2_000)
    dev = r.m.devices["low"][0]

    def isr(ctx: HandlerContext) -> int:
        r.nt.ke_insert_queue_dpc(ctx, dpc)
        return IRQ_HANDLED

    r.m.kernel.descs[dev.irq].action[0].handler = isr
    r.fire("low", 1_000)
    r.m.engine.run(until_ns=100_000)
    assert len(seen) == 1 and seen[0][1] == 0


def test_device_vectors_at_or_below_dispatch_level_are_refused() -> None:
    with pytest.raises(BuildError, match="not above DISPATCH_LEVEL"):
        machine(SCENARIO.replace("vector = 0x52", "vector = 0x2a"))
