"""Cortex-M with the NVIC (Armv7-M / Armv6-M Architecture Reference Manuals,
B1.5 the exception model, B3.4 the NVIC).

* One core.  The IRQ is the NVIC IRQn; its exception number is IRQn + 16.
* There is no MSI and no EOI: the exception return ends the interrupt, and
  tail-chains into the next pending one without unstacking.
* The per-CPU timer is SysTick (exception 15).
* Reports name handlers as CMSIS does: ``USART1_IRQHandler``,
  ``SysTick_Handler``, ``PendSV_Handler``.
* Handlers nest by priority (PRIGROUP splits group and subpriority).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, cast

from irqlab.events import VECTOR_ENTRY, VECTOR_EXIT, CounterSnapshot
from irqlab.hw.controller import LineSink
from irqlab.hw.device import Device, PendSignal, Signal
from irqlab.hw.nvic import CORES, SYSTICK, Nvic, NvicError
from irqlab.kernel.chip import IrqChip
from irqlab.kernel.flow import FLOWS
from irqlab.kernel.printk import KernelWarning
from irqlab.machine.errors import BuildError
from irqlab.platform.base import Board, machine_spec, no_handler, show_counted_rows
from irqlab.scenario import plain

if TYPE_CHECKING:
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel
    from irqlab.machine.machine import Machine
    from irqlab.scenario.schema import ArmV7mMachine, DeviceSpec

#: the scenario's machine section of a Cortex-M machine (its plain node)
ARMV7M_MACHINE = cast("type[ArmV7mMachine]", plain.kind("ArmV7mMachine"))


#: system exceptions' rows, named for their CMSIS handlers (startup_<device>.s)
CMSIS_HANDLERS = {"SysTick": "SysTick_Handler", "PendSV": "PendSV_Handler"}


class NvicChip(IrqChip):
    """NVIC: mask/unmask are ICER/ISER; there is no EOI, the exception return
    ends the interrupt (done by the dispatcher)."""

    name = "NVIC"

    def __init__(self, nvic: Nvic) -> None:
        self.nvic = nvic

    def irq_mask(self, d: IrqDesc) -> None:
        self.nvic.disable(d.hwirq)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.nvic.enable(d.hwirq)

    def irq_retrigger(self, d: IrqDesc) -> bool:
        self.nvic.set_pending(d.hwirq + 16)
        return True


def systick(k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
    """The SysTick exception: the expired hrtimers (the tick among them),
    ended by the exception return."""
    c = cpu.index
    k.trace.emit(k.engine.now, c, VECTOR_ENTRY, -1, vector, "SysTick_Handler")
    k.irq_stat.inc("SysTick", c)
    cost = k.tick.run_hrtimers(c)
    if cost:
        yield cost
    k.trace.emit(k.engine.now, c, VECTOR_EXIT, -1, vector, "SysTick_Handler")


class ArmV7m:
    """The Cortex-M NVIC platform (see the module docstring)."""

    arch = "armv7m"

    def board(self, m: Machine) -> Board:
        ms = machine_spec(m, ARMV7M_MACHINE)
        if ms.cpus != 1:
            raise BuildError(f"machine.cpus: a Cortex-M has one core, got {ms.cpus}")
        lines = [d.line for d in m.spec.device if d.line is not None]
        irqs = CORES[ms.core].max_irqs
        for d in m.spec.device:
            if d.line is not None and d.line >= irqs:
                raise BuildError(f"device '{d.name}': line {d.line} is not an IRQn of a {ms.core} "
                                 f"(0-{irqs - 1})")
        try:
            nvic = Nvic(max([31, *lines]) + 1, core=ms.core, prigroup=ms.prigroup,
                        clock_hz=round(ms.clock_mhz * 1e6))
        except NvicError as exc:  # prigroup on ARMv6-M, clock_mhz out of range
            raise BuildError(f"machine: {exc}") from None
        m.timers = [Device(m.engine, "systick", PendSignal(nvic, SYSTICK), None)]
        return Board(nvic, irq_nesting=True if ms.irq_nesting is None else ms.irq_nesting,
                     eoi_on_return=True, tail_chaining=True)

    def boot(self, m: Machine) -> None:
        m.kernel.bind_vector(0, SYSTICK, systick)

    def add_line(self, m: Machine, spec: DeviceSpec, line: int, cpu: int,
                 level: bool) -> tuple[int, LineSink]:
        nvic: Nvic = m.ctrl
        nvic.set_level_sensitive(line, level)
        if spec.priority is not None:
            nvic.set_priority(line + 16, spec.priority)
        desc = m.kernel.alloc_irq(line, NvicChip(nvic), line, FLOWS["simple"], "simple", level)
        desc.affinity = cpu
        desc.affinity_mask = 1 << cpu
        m.kernel.bind_vector(cpu, line + 16, desc)
        return line, nvic

    def add_msi(self, m: Machine, spec: DeviceSpec,
                index: int) -> Callable[[int, int, bool], tuple[int, Signal]]:
        raise BuildError(f"device '{spec.name}': a Cortex-M has no MSI")

    def isr_name(self, device: str) -> str:
        """The CMSIS handler name: ``<IRQn name>_IRQHandler`` (a device is named
        for its IRQn, as in the vendor's device header)."""
        return f"{device}_IRQHandler"

    def finish(self, m: Machine) -> None:
        return None

    def missed_eoi(self, m: Machine) -> list[KernelWarning]:
        return []  # the exception return is the EOI: it cannot be missed

    # -- kernel.arch.Arch ------------------------------------------------------------------
    def spurious_vector(self, k: Kernel, cpu: int, vector: int) -> None:
        """Nothing pending any more at exception entry: no state change."""

    def no_irq_handler(self, k: Kernel, cpu: int, vector: int) -> None:
        no_handler(k, f"Spurious interrupt: no handler for exception {vector}")

    def trigger_name(self, d: IrqDesc) -> str:
        return "Level" if d.level else "Edge"

    def arch_show_interrupts(self, k: Kernel, snap: CounterSnapshot) -> None:
        show_counted_rows(k, snap, CMSIS_HANDLERS)

    def send_ipi(self, k: Kernel, cpu: int, ipi: int) -> None:
        raise NotImplementedError("a Cortex-M has one core: there is no IPI")

    def flush_tlb_multi(self, k: Kernel, this_cpu: int, cpus: list[int]) -> int:
        return 0  # no MMU (an MPU has no TLB)
