"""FreeRTOS on the NVIC: PendSV switches after the ISRs; API calls above
configMAX_SYSCALL_INTERRUPT_PRIORITY are violations."""

from __future__ import annotations

from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.os.freertos import FreeRtos, Queue
from tests.napi.rig import machine

SCENARIO = """
[machine]
arch = "armv7m"
cpus = 1
clock_mhz = 100
[timer]
enabled = false
[[device]]
name = "uart"
line = 3
trigger = "edge"
priority = 0xC0
[[device]]
name = "dma"
line = 4
trigger = "edge"
priority = 0xE0
[[device]]
name = "motor"
line = 5
trigger = "edge"
priority = 0x20
"""


class Rig:
    def __init__(self) -> None:
        self.m = machine(SCENARIO)
        self.rtos = FreeRtos(self.m.kernel)
        self.sem: Queue = self.rtos.semaphore_create_binary()
        self.worker = self.rtos.task_create("worker", 2)
        self.rtos.block_on(self.worker, self.sem)
        self.isr: list[tuple[str, str, int]] = []
        self.m.trace.connect([self])

    def feed(self, ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        if kind in (IRQ_ENTRY, IRQ_EXIT):
            self.isr.append(("entry" if kind == IRQ_ENTRY else "exit", name, ts))

    def giver(self, name: str, cost: int) -> None:
        def isr(ctx: HandlerContext) -> int:
            ctx.cost += cost
            _, woken = self.rtos.xSemaphoreGiveFromISR(ctx, self.sem)
            self.rtos.portYIELD_FROM_ISR(woken)
            return IRQ_HANDLED
        self._install(name, isr)

    def busy(self, name: str, cost: int) -> None:
        def isr(ctx: HandlerContext) -> int:
            ctx.cost += cost
            return IRQ_HANDLED
        self._install(name, isr)

    def _install(self, name: str, isr) -> None:  # type: ignore[no-untyped-def]
        dev = self.m.devices[name][0]
        self.m.kernel.descs[dev.irq].action[0].handler = isr

    def fire(self, name: str, at: int) -> None:
        dev = self.m.devices[name][0]
        self.m.engine.at(at, lambda _: dev.request())

    def exit_time(self, name: str) -> int:
        return next(t for w, n, t in self.isr if w == "exit" and n == f"{name}_IRQHandler")


def test_give_from_isr_switches_through_pendsv_tail_chained_after_the_isr() -> None:
    r = Rig()
    r.giver("uart", 5_000)
    r.fire("uart", 1_000)
    r.m.engine.run(until_ns=100_000)
    assert r.rtos.current is r.worker
    assert len(r.rtos.switches) == 1
    t, frm, to = r.rtos.switches[0]
    assert (frm, to) == ("IDLE", "worker")
    nvic = r.m.ctrl
    assert nvic is not None
    # PendSV tail-chains: no unstacking and stacking between the ISR and the switch
    assert t == r.exit_time("uart") + nvic.entry_ns(0, True) + r.rtos.switch_ns
    assert not r.m.kernel.warnings


def test_pendsv_waits_for_every_isr_to_return() -> None:
    r = Rig()
    r.busy("dma", 20_000)  # lower priority, preempted by the uart
    r.giver("uart", 2_000)
    r.fire("dma", 1_000)
    r.fire("uart", 5_000)
    r.m.engine.run(until_ns=100_000)
    assert r.exit_time("uart") < r.exit_time("dma")  # nested
    (t, _, to), = r.rtos.switches
    assert to == "worker" and t > r.exit_time("dma")


def test_no_switch_without_a_higher_priority_task_woken() -> None:
    r = Rig()
    r.rtos.current = r.rtos.task_create("control", 5)  # outranks the worker
    r.giver("uart", 1_000)
    r.fire("uart", 1_000)
    r.m.engine.run(until_ns=100_000)
    assert list(r.rtos.switches) == []


def test_api_call_above_max_syscall_priority_is_a_violation() -> None:
    r = Rig()
    r.giver("motor", 1_000)  # priority 0x20: above configMAX_SYSCALL_INTERRUPT_PRIORITY
    r.fire("motor", 1_000)
    r.m.engine.run(until_ns=100_000)
    kinds = [w.kind for w in r.m.kernel.warnings]
    assert kinds == ["freertos-priority"]
    assert "xQueueGiveFromISR" in r.m.kernel.warnings[0].message  # the macro xSemaphoreGiveFromISR
