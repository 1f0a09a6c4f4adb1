"""arm64 with a GICv3 (``drivers/irqchip/irq-gic-v3.c``, ``irq-gic-v3-its.c``,
Arm IHI 0069).

* IRQs (Linux virqs) are allocated in order from 1, the arch timer first.
* Wired devices are SPIs (INTID 32-1019) routed to one CPU; MSI-X messages
  are LPIs (INTID 8192 and up) written through the ITS ("ITS-MSI").
* The per-CPU timer is the non-secure EL1 physical timer, PPI 30, a level
  line handled as an ordinary per-CPU IRQ (``arch_timer_handler_phys``).
* IPIs are SGIs 0-7 (``arch/arm64/kernel/smp.c`` ``ipi_msg_type``): the
  scheduler's reschedule is SGI 0, both call-function kinds SGI 1, IRQ work
  SGI 5.  ``arch_show_interrupts`` prints all eight ``IPIn`` rows with their
  ``ipi_types`` texts.  TLB maintenance is broadcast in hardware (``TLBI
  ...IS``): a shootdown sends no IPI.
* EOImode 1 splits the EOI: the priority drop at entry (ICC_EOIR1), the
  deactivation (ICC_DIR) when the flow handler ends.  A missed deactivation
  leaves only that INTID active; other interrupts still arrive.
* ``machine.iommu = "arm-smmuv3"``: an SMMUv3 whose event queue interrupt is an
  edge SPI (the first SPI no device uses) to CPU 0; SMMUv3 wired interrupts are
  edge-triggered (IHI 0070, "Interrupts and notifications").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from irqlab.events import VECTOR_ENTRY, VECTOR_EXIT, CounterSnapshot
from irqlab.hw.controller import LineSink
from irqlab.hw.device import Device, LevelSignal, LpiSignal, Signal, Wire
from irqlab.hw.gic import LPI_BASE, GicV3
from irqlab.hw.smmu_v3 import SmmuV3
from irqlab.kernel.chip import IrqChip, eoi_dropped
from irqlab.kernel.cpuhotplug import irq_migrate_all_off_this_cpu
from irqlab.kernel.cpumask import cpumask_first
from irqlab.kernel.flags import IRQ_HANDLED, IRQD_AFFINITY_MANAGED, IRQF_ONESHOT, IRQF_TIMER
from irqlab.kernel.flow import FLOWS
from irqlab.kernel.manage import request_irq, request_threaded_irq
from irqlab.kernel.printk import KernelWarning
from irqlab.kernel.smp import IPI_CALL_FUNC, IPI_CALL_FUNC_SINGLE, IPI_IRQ_WORK, IPI_RESCHEDULE
from irqlab.machine.errors import BuildError
from irqlab.platform.base import (
    Board,
    add_rows,
    machine_spec,
    next_irq,
    no_handler,
    pci_sids,
    show_counted_rows,
)
from irqlab.scenario import plain

if TYPE_CHECKING:
    from collections.abc import Generator

    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel
    from irqlab.machine.machine import Machine
    from irqlab.scenario.schema import Arm64Machine, DeviceSpec

#: the scenario's machine section of an arm64 machine (its plain node)
ARM64_MACHINE = cast("type[Arm64Machine]", plain.kind("Arm64Machine"))

ARCH_TIMER_PPI = 30  # non-secure EL1 physical timer (arm,armv8-timer binding)
ITS_MAX_LPI_NRBITS = 16  # Linux drivers/irqchip/irq-gic-v3-its.c: 64K LPI INTIDs at most
# arch/arm64/kernel/smp.c: enum ipi_msg_type (SGI = IPI number) and ipi_types[]
IPI_SGI = {IPI_RESCHEDULE: 0, IPI_CALL_FUNC: 1, IPI_CALL_FUNC_SINGLE: 1, IPI_IRQ_WORK: 5}
IPI_TYPES = {
    "IPI0": "Rescheduling interrupts",
    "IPI1": "Function call interrupts",
    "IPI2": "CPU stop interrupts",
    "IPI3": "CPU stop NMIs",
    "IPI4": "Timer broadcast interrupts",
    "IPI5": "IRQ work interrupts",
    "IPI6": "CPU backtrace interrupts",
    "IPI7": "KGDB roundup interrupts",
}
# Model parameter (ns), not a manual figure: TLBI ...IS + DSB ISH on the initiator.
TLBI_BROADCAST_NS = 300


class GicChip(IrqChip):
    """GICv3: mask/unmask are ICENABLER/ISENABLER; ``irq_eoi`` writes
    ICC_EOIR1 in EOImode 0 and ICC_DIR in EOImode 1 (the priority drop was
    done at entry)."""

    name = "GICv3"

    def __init__(self, gic: GicV3) -> None:
        self.gic = gic

    def irq_mask(self, d: IrqDesc) -> None:
        self.gic.disable(d.hwirq, d.affinity if d.hwirq >= 32 else None)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.gic.enable(d.hwirq, d.affinity if d.hwirq >= 32 else None)

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        if eoi_dropped(d):
            return
        if self.gic.eoi_mode:
            self.gic.deactivate(cpu, d.hwirq)
        else:
            self.gic.eoi(cpu, d.hwirq)

    def irq_retrigger(self, d: IrqDesc) -> bool:
        self.gic.set_pending(d.hwirq, d.affinity)
        return True

    def irq_set_affinity(self, d: IrqDesc, mask: int) -> None:
        """A routing change, no vector to allocate: the first CPU of the mask
        (``gic_set_affinity``: ``cpumask_any_and``) through GICD_IROUTER, or
        the ITS MOVI command for an LPI (``its_set_affinity``)."""
        cpu = cpumask_first(mask)
        if d.hwirq >= LPI_BASE:
            self.gic.move_lpi(d.hwirq, cpu)
        elif d.hwirq >= 32:
            self.gic.route(d.hwirq, cpu)
        d.affinity = cpu


def _bind_everywhere(m: Machine, desc: IrqDesc, mask: int, managed: bool) -> None:
    """An INTID means the same IRQ on every CPU (one irq_domain, no per-CPU
    vector space), so a move is only a routing change."""
    desc.affinity = cpumask_first(mask)
    desc.affinity_mask = mask
    if managed:
        desc.state |= IRQD_AFFINITY_MANAGED
    for cpu in range(m.kernel.ncpus):
        m.kernel.bind_vector(cpu, desc.hwirq, desc)


class Arm64Board(Board):
    """The GIC, and the next free LPI (INTIDs are never freed while building).
    ``gic`` is the GIC itself, where ``ctrl`` may be a guest's view of it
    (``irqlab.hw.vcpuif``): the ITS writes to the GIC."""

    next_lpi = LPI_BASE

    def __init__(self, gic: GicV3, *, irq_nesting: bool, split_eoi: bool) -> None:
        super().__init__(gic, irq_nesting=irq_nesting, split_eoi=split_eoi)
        self.gic = gic


def arch_timer_handler_phys(ctx: HandlerContext) -> int:
    """The tick as a per-CPU IRQ: reprogram the comparator (which drops the
    level line), then the expired hrtimers.  ``dev_id`` is the list of
    per-CPU timer devices."""
    timers = ctx.action.dev_id  # type: ignore[union-attr]
    timers[ctx.cpu].service(timers[ctx.cpu].status)
    ctx.cost += ctx.k.tick.run_hrtimers(ctx.cpu)
    return IRQ_HANDLED


def ipi_handler(k: Kernel, cpu: Cpu, sgi: int) -> Generator[int, None, None]:
    """``do_handle_IPI`` through ``handle_percpu_devid_irq``: the row, the work,
    then the EOI (the deactivation in EOImode 1)."""
    c = cpu.index
    row = f"IPI{sgi}"
    k.trace.emit(k.engine.now, c, VECTOR_ENTRY, -1, sgi, row)
    k.irq_stat.inc(row, c)
    if sgi == IPI_SGI[IPI_RESCHEDULE]:
        cost = k.sched.scheduler_ipi(c)
    elif sgi == IPI_SGI[IPI_IRQ_WORK]:
        cost = k.smp.irq_work_run(c)
    else:
        cost = k.smp.flush_call_function_queue(c)
    if cost:
        yield cost
    if k.split_eoi:
        k.ctrl.deactivate(c, sgi)
    else:
        k.ctrl.eoi(c, sgi)
    k.trace.emit(k.engine.now, c, VECTOR_EXIT, -1, sgi, row)


class Arm64:
    """The arm64 GICv3 platform (see the module docstring)."""

    arch = "arm64"

    def board(self, m: Machine) -> Board:
        ms = machine_spec(m, ARM64_MACHINE)
        kw: dict[str, int] = {}
        if ms.entry_cost is not None:
            kw["entry_ns"] = ms.entry_cost
        if ms.exit_cost is not None:
            kw["exit_ns"] = ms.exit_cost
        gic = GicV3(ms.cpus, eoi_mode=ms.eoi_mode, **kw)
        m.timers = [Device(m.engine, f"arch_timer{cpu}", LevelSignal(Wire(gic, ARCH_TIMER_PPI, cpu)),
                           None) for cpu in range(ms.cpus)]
        return Arm64Board(gic, irq_nesting=bool(ms.irq_nesting), split_eoi=ms.eoi_mode == 1)

    def boot(self, m: Machine) -> None:
        k = m.kernel
        gic: GicV3 = m.ctrl
        irq = next_irq(m, 1)
        desc = k.alloc_irq(irq, GicChip(gic), ARCH_TIMER_PPI, FLOWS["percpu"], "percpu", True)
        gic.set_trigger(ARCH_TIMER_PPI, True)
        for cpu in range(m.spec.machine.cpus):
            k.bind_vector(cpu, ARCH_TIMER_PPI, desc)
            for sgi in sorted(set(IPI_SGI.values())):
                k.bind_vector(cpu, sgi, ipi_handler)
        request_irq(k, irq, arch_timer_handler_phys, IRQF_TIMER, "arch_timer", m.timers)
        m.irqs["arch_timer"] = [irq]

        def cpu_disable(cpu: int) -> None:
            """``__cpu_disable`` -> ``irq_migrate_all_off_this_cpu``, then ``cpu_die``."""
            irq_migrate_all_off_this_cpu(k, cpu)
            k.printk(f"CPU{cpu}: shutdown")

        k.hotplug.set_arch(cpu_disable, lambda cpu: None)

    def add_line(self, m: Machine, spec: DeviceSpec, line: int, cpu: int,
                 level: bool) -> tuple[int, LineSink]:
        gic: GicV3 = m.ctrl
        if not 32 <= line < 1020:
            raise BuildError(f"device '{spec.name}': line {line} is not a GIC SPI (32-1019)")
        irq = next_irq(m, 1)
        gic.set_trigger(line, level)
        gic.route(line, cpu)
        if spec.priority is not None:
            gic.set_priority(line, spec.priority)
        desc = m.kernel.alloc_irq(irq, GicChip(gic), line, FLOWS["fasteoi"], "fasteoi", level)
        _bind_everywhere(m, desc, 1 << cpu, False)
        return irq, gic

    def add_msi(self, m: Machine, spec: DeviceSpec,
                index: int) -> Callable[[int, int, bool], tuple[int, Signal]]:
        gic: GicV3 = m.ctrl
        board: Arm64Board = m.board  # type: ignore[assignment]
        k = m.kernel
        chip = GicChip(gic)
        chip.name = "ITS-MSI"

        def alloc(i: int, mask: int, managed: bool) -> tuple[int, Signal]:
            irq = next_irq(m, 1)
            lpi = board.next_lpi
            if lpi >= 1 << ITS_MAX_LPI_NRBITS:
                raise BuildError(f"no LPI left: Linux's ITS driver allocates INTIDs {LPI_BASE}-"
                                 f"{(1 << ITS_MAX_LPI_NRBITS) - 1} (ITS_MAX_LPI_NRBITS = "
                                 f"{ITS_MAX_LPI_NRBITS})")
            board.next_lpi += 1
            if spec.priority is not None:
                gic.set_priority(lpi, spec.priority)
            gic.map_lpi(lpi, cpumask_first(mask))
            desc = k.alloc_irq(irq, chip, lpi, FLOWS["fasteoi"], "fasteoi", False)
            _bind_everywhere(m, desc, mask, managed)
            return irq, LpiSignal(board.gic, lpi)

        return alloc

    def isr_name(self, device: str) -> str:
        return device

    def finish(self, m: Machine) -> None:
        if machine_spec(m, ARM64_MACHINE).iommu:
            self._add_smmu(m)

    def _add_smmu(self, m: Machine) -> None:
        """The SMMUv3 and its event queue interrupt; the thread is the OS's
        (Linux ``arm_smmu_evtq_thread``, "arm-smmu-v3-evtq")."""
        k = m.kernel
        gic = m.board.gic  # type: ignore[attr-defined]
        spi = next((line for line in range(32, 1020) if line not in m.lines), None)
        if spi is None:
            raise BuildError("machine.iommu = 'arm-smmuv3': no SPI left for the SMMU's event queue "
                             "interrupt (devices use INTIDs 32-1019)")
        irq = next_irq(m, 1)
        gic.set_trigger(spi, False)
        gic.route(spi, 0)
        desc = k.alloc_irq(irq, GicChip(gic), spi, FLOWS["fasteoi"], "fasteoi", False)
        _bind_everywhere(m, desc, 1, False)
        smmu = SmmuV3(Wire(gic, spi).pulse)
        m.board.iommu = smmu
        pci_sids(m)
        handler, thread_fn = m.os.iommu_fault_isr(m, smmu)
        request_threaded_irq(k, irq, handler, thread_fn, IRQF_ONESHOT, "arm-smmu-v3-evtq", smmu)
        m.irqs["arm-smmu-v3-evtq"] = [irq]

    def missed_eoi(self, m: Machine) -> list[KernelWarning]:
        return []

    # -- kernel.arch.Arch ------------------------------------------------------------------
    def spurious_vector(self, k: Kernel, cpu: int, vector: int) -> None:
        """INTID 1023: nothing pending any more; no state change."""

    def no_irq_handler(self, k: Kernel, cpu: int, vector: int) -> None:
        if k.split_eoi:
            k.ctrl.deactivate(cpu, vector)
        else:
            k.ctrl.eoi(cpu, vector)
        no_handler(k, f"Unexpected interrupt (irqnr {vector})")

    def trigger_name(self, d: IrqDesc) -> str:
        return "Level" if d.level else "Edge"

    def send_ipi(self, k: Kernel, cpu: int, ipi: int) -> None:
        """``smp_cross_call``: an ICC_SGI1R_EL1 write aimed at ``cpu``."""
        gic = cast("GicV3", k.ctrl)
        gic.send_sgi(IPI_SGI[ipi], cpu)

    def flush_tlb_multi(self, k: Kernel, this_cpu: int, cpus: list[int]) -> int:
        """``flush_tlb_mm``: one broadcast TLBI reaches every CPU; no IPI."""
        return TLBI_BROADCAST_NS

    def arch_show_interrupts(self, k: Kernel, snap: CounterSnapshot) -> None:
        add_rows(k, snap, list(IPI_TYPES), IPI_TYPES)
        show_counted_rows(k, snap, IPI_TYPES)
