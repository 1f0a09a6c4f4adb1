"""x86: local APIC, IO-APIC, PCI MSI-X and the VT-d fault interrupt
(``arch/x86/kernel/apic/``, ``arch/x86/kernel/irq.c``, Intel SDM vol. 3
ch. 10-11, the VT-d specification).

* IRQs: IO-APIC pins are GSIs (IRQ = pin); MSI-X vectors get IRQs from 24 up,
  after the 24 GSIs.
* Vectors: device vectors from 0x21 (after FIRST_EXTERNAL_VECTOR 0x20) below
  the system vectors at 0xEB; Linux reserves 0x80 (IA32_SYSCALL_VECTOR);
  Windows starts device vectors at 0x30, the first IRQL above DISPATCH_LEVEL.
  They come from the vector matrix (``irqlab.platform.x86_vector``): taken
  when a line starts, moved with its affinity, freed when it shuts down.
* The per-CPU timer is the LAPIC timer on vector 0xEC (``LOC`` row).
* IPIs are ICR writes that set a vector in the target's IRR
  (``RESCHEDULE_VECTOR`` 0xFD, ``CALL_FUNCTION_VECTOR`` 0xFC,
  ``CALL_FUNCTION_SINGLE_VECTOR`` 0xFB, ``IRQ_WORK_VECTOR`` 0xF6); their
  ``sysvec_*`` handlers EOI first and count RES, CAL (both call-function
  vectors) and IWI.  A TLB shootdown is a call-function IPI whose function
  (``flush_tlb_func``) counts TLB on each remote CPU, so several flushes
  queued on one IPI count one CAL and several TLB (``arch/x86/mm/tlb.c``).
* A missed EOI leaves the vector's ISR bit set: its priority class and every
  lower one stay blocked on that CPU (PPR), higher classes still arrive
  (SDM 10.8.3.1).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, cast

from irqlab.events import (
    VECTOR_ENTRY,
    VECTOR_EXIT,
    VECTOR_ROWS,
    X86_ROWS,
    CounterRow,
    CounterSnapshot,
)
from irqlab.hw.amd_iommu import AmdIommu
from irqlab.hw.apic import LOCAL_TIMER_VECTOR, Apic
from irqlab.hw.controller import LineSink
from irqlab.hw.device import Device, MsiSignal, Signal, VectorSignal
from irqlab.hw.ioapic import IoApic
from irqlab.hw.iommu import VtdUnit
from irqlab.hw.msi import MsixTable, compose
from irqlab.hw.remapping import Irte, RemappedMsiSignal, RemapUnit, source_id
from irqlab.kernel.chip import IRQCHIP_ONESHOT_SAFE, IrqChip, eoi_dropped
from irqlab.kernel.cpumask import cpumask_first
from irqlab.kernel.flags import IRQD_IRQ_MASKED, IRQD_SETAFFINITY_PENDING, IRQF_NO_THREAD
from irqlab.kernel.flow import FLOWS
from irqlab.kernel.manage import request_irq, request_threaded_irq
from irqlab.kernel.matrix import MatrixError
from irqlab.kernel.migration import irq_move_irq, irq_move_masked_irq
from irqlab.kernel.printk import KernelWarning
from irqlab.kernel.smp import IPI_CALL_FUNC, IPI_CALL_FUNC_SINGLE, IPI_IRQ_WORK, IPI_RESCHEDULE
from irqlab.machine.errors import BuildError
from irqlab.platform.base import (
    Board,
    add_rows,
    machine_spec,
    next_irq,
    no_handler,
    pci_address,
    pci_sids,
)
from irqlab.platform.x86_eoi import ApicEoi
from irqlab.platform.x86_vector import VectorDomain
from irqlab.scenario import plain
from irqlab.scenario.names import IOMMU_IRQ

if TYPE_CHECKING:
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel
    from irqlab.machine.machine import Machine
    from irqlab.scenario.schema import DeviceSpec, X86Machine

#: the scenario's machine section of an x86 machine (its plain node)
X86_MACHINE = cast("type[X86Machine]", plain.kind("X86Machine"))

# Model parameters (ns), not manual figures: the cost of taking and leaving an
# exception in hardware on a current core.
X86_ENTRY_NS, X86_EXIT_NS = 200, 150
FIRST_DEVICE_VECTOR = 0x21  # after FIRST_EXTERNAL_VECTOR 0x20 (irq_vectors.h)
WINDOWS_FIRST_DEVICE_VECTOR = 0x30  # DIRQL 3: the first IRQL above DISPATCH_LEVEL
FIRST_SYSTEM_VECTOR = 0xEB  # POSTED_MSI_NOTIFICATION_VECTOR (irq_vectors.h)
IA32_SYSCALL_VECTOR = 0x80
FIRST_MSI_IRQ = 24  # after the 24 IO-APIC GSIs
# arch/x86/include/asm/irq_vectors.h
RESCHEDULE_VECTOR = 0xFD
CALL_FUNCTION_VECTOR = 0xFC
CALL_FUNCTION_SINGLE_VECTOR = 0xFB
IRQ_WORK_VECTOR = 0xF6
IPI_VECTORS = {IPI_RESCHEDULE: RESCHEDULE_VECTOR, IPI_CALL_FUNC: CALL_FUNCTION_VECTOR,
               IPI_CALL_FUNC_SINGLE: CALL_FUNCTION_SINGLE_VECTOR, IPI_IRQ_WORK: IRQ_WORK_VECTOR}
#: rows an SMP kernel's arch_show_interrupts prints, counted or not
SMP_ROWS = ("IWI", "RES", "CAL", "TLB")
# Model parameter (ns), not a manual figure: invalidating a range of one
# address space on one CPU (INVLPG per page or a CR3 reload).
TLB_FLUSH_NS = 500


# -- chips (arch/x86/kernel/apic/vector.c, io_apic.c, msi.c; drivers/iommu/intel/irq_remapping.c)
class ApicAckChip(ApicEoi, IrqChip):
    """Chips whose ack/EOI is the local APIC EOI (``ApicEoi``, compiled), under
    the x86 vector domain (``irqlab.platform.x86_vector``): activating the line
    or moving it takes a vector there, and the chip then writes where its
    messages go (``write_msg``)."""

    def __init__(self, apic: Apic, vectors: VectorDomain, level_pins: bool = False) -> None:
        ApicEoi.__init__(self, apic, level_pins)
        self.vectors = vectors

    def eoi_slow(self, d: IrqDesc, cpu: int) -> None:
        # apic_ack_irq / apic_ack_edge: irq_complete_move, then the EOI (before
        # the handler runs, as the edge flow's ack).
        if d.chip_data.move_in_progress:
            self.vectors.complete_move(d, cpu)
        if not eoi_dropped(d):
            self.apic.eoi(cpu)

    def msi_msg(self, cpu: int, vector: int) -> tuple[int, int]:
        """The (address, data) of a message to ``vector`` on ``cpu``
        (``x86_vector_msi_compose_msg``)."""
        return compose(self.apic.lapics[cpu].apic_id, vector)

    def irq_retrigger(self, d: IrqDesc) -> bool:
        # apic_retrigger_irq: send the vector to the target CPU as an IPI.
        self.apic.accept(d.affinity, d.vector, False)
        return True

    def irq_activate(self, d: IrqDesc) -> None:
        self.vectors.activate(d)
        self.write_msg(d)

    def irq_deactivate(self, d: IrqDesc) -> None:
        self.vectors.deactivate(d)

    def irq_set_affinity(self, d: IrqDesc, mask: int) -> None:
        self.vectors.set_affinity(d, mask)
        if d.chip_data.vector >= 0:
            self.write_msg(d)

    def write_msg(self, d: IrqDesc) -> None:
        """Point the hardware at (``d.affinity``, ``d.vector``)."""


class IoApicChip(ApicAckChip):
    """IO-APIC pins (arch/x86/kernel/apic/io_apic.c ``ioapic_chip``).  Level
    pins use fasteoi: the LAPIC EOI is broadcast back and clears Remote IRR.
    Without interrupt remapping an RTE is rewritten only from the interrupt
    path: an affinity change waits for the next interrupt (``apic_ack_edge``,
    ``ioapic_ack_level``)."""

    name = "IO-APIC"
    move_pending = True

    def __init__(self, apic: Apic, vectors: VectorDomain, ioapic: IoApic,
                 name: str = "IO-APIC") -> None:
        super().__init__(apic, vectors, level_pins=True)
        self.ioapic = ioapic
        self.name = name

    def irq_mask(self, d: IrqDesc) -> None:
        self.ioapic.mask(d.hwirq)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.ioapic.unmask(d.hwirq)

    def irq_ack(self, d: IrqDesc, cpu: int) -> None:
        if d.state & IRQD_SETAFFINITY_PENDING and self.k is not None:
            irq_move_irq(self.k, d)
        ApicAckChip.eoi_slow(self, d, cpu)

    def eoi_slow(self, d: IrqDesc, cpu: int) -> None:
        as_edge = d.level and not self.apic.level_triggered(cpu, d.vector)
        k = self.k if d.state & IRQD_SETAFFINITY_PENDING else None
        if k is not None and not d.state & IRQD_IRQ_MASKED:
            self.ioapic.mask(d.hwirq)  # ioapic_prepare_move
        # ioapic_ack_level: a level interrupt that arrived as an edge (retriggered
        # by fixup_irqs after a CPU went offline) has no TMR bit, so the local
        # APIC's EOI is not broadcast: EOI the pin directly and count it (MIS).
        ApicAckChip.eoi_slow(self, d, cpu)
        if as_edge and self.k is not None:
            self.k.irq_stat.inc("MIS", cpu)
            self.ioapic.eoi(d.vector)
        if k is not None:  # ioapic_finish_move
            if not self.ioapic.rte[d.hwirq].remote_irr:  # only once the EOI has reached the pin
                irq_move_masked_irq(k, d)
            if not d.state & IRQD_IRQ_MASKED:
                self.ioapic.unmask(d.hwirq)

    def write_msg(self, d: IrqDesc) -> None:
        """Rewrite the pin's RTE (``ioapic_configure_entry``)."""
        rte = self.ioapic.rte[d.hwirq]
        self.ioapic.program(d.hwirq, d.vector, d.affinity, rte.level_trig, rte.masked)


class MsiChip(ApicAckChip):
    """PCI MSI-X vectors; hwirq is the table entry (per-device MSI domain).
    ``pci_msi_mask_irq`` writes the per-vector mask bit.
    MSI cannot storm, so ONESHOT is not needed (IRQCHIP_ONESHOT_SAFE)."""

    name = "PCI-MSI"
    flags = IRQCHIP_ONESHOT_SAFE

    def __init__(self, apic: Apic, vectors: VectorDomain, table: MsixTable,
                 name: str = "PCI-MSI") -> None:
        super().__init__(apic, vectors)
        self.table = table
        self.name = name

    def write_msg(self, d: IrqDesc) -> None:
        """The MSI-X entry's message names the new APIC and vector
        (``msi_domain_set_affinity`` -> ``irq_chip_write_msi_msg``)."""
        self.table.program(d.hwirq, *self.msi_msg(d.affinity, d.vector))

    def irq_mask(self, d: IrqDesc) -> None:
        self.table.mask(d.hwirq)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.table.unmask(d.hwirq)


class IrMsiChip(MsiChip):
    """MSI-X vectors behind interrupt remapping ("IR-PCI-MSIX-..."): a new
    vector or CPU rewrites the IRTE (``intel_ir_set_affinity``, AMD
    ``amd_ir_set_affinity``), the table entry's handle stays."""

    def __init__(self, apic: Apic, vectors: VectorDomain, table: MsixTable, unit: RemapUnit,
                 irtes: dict[int, int], name: str) -> None:
        super().__init__(apic, vectors, table, name)
        self.unit = unit
        self.irtes = irtes  # MSI-X entry -> IRTE index

    def write_msg(self, d: IrqDesc) -> None:
        super().write_msg(d)
        irte = self.unit.irt[self.irtes[d.hwirq]]
        irte.dest = self.apic.lapics[d.affinity].apic_id
        irte.vector = d.vector


class DmarMsiChip(ApicAckChip):
    """The IOMMU's own fault / event interrupt: VT-d's (``dmar_msi_irq_chip``,
    "DMAR-MSI": masking writes FECTL.IM) or AMD-Vi's ("PCI-MSI" of the IOMMU
    function); a held event is sent on unmask."""

    name = "DMAR-MSI"
    flags = IRQCHIP_ONESHOT_SAFE

    def __init__(self, apic: Apic, vectors: VectorDomain, unit: VtdUnit | AmdIommu,
                 name: str = "DMAR-MSI") -> None:
        super().__init__(apic, vectors)
        self.unit = unit
        self.name = name

    def write_msg(self, d: IrqDesc) -> None:
        """``dmar_msi_write``: FEADDR/FEDATA name the new CPU and vector."""
        self.unit.program_fault_event(*self.msi_msg(d.affinity, d.vector))

    def irq_mask(self, d: IrqDesc) -> None:
        self.unit.set_masked(True)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.unit.set_masked(False)


def local_timer(k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
    """``sysvec_apic_timer_interrupt``: EOI first, the LOC row, then the
    expired hrtimers (the tick among them)."""
    c = cpu.index
    k.trace.emit(k.engine.now, c, VECTOR_ENTRY, -1, vector, "local_timer")
    k.ctrl.eoi(c, vector)
    k.irq_stat.inc("LOC", c)
    cost = k.tick.run_hrtimers(c)
    if cost:
        yield cost
    k.trace.emit(k.engine.now, c, VECTOR_EXIT, -1, vector, "local_timer")


#: each IPI vector's tracepoint (irq_vectors:<name>_entry) and row
IPI_TRACEPOINTS = {RESCHEDULE_VECTOR: "reschedule", CALL_FUNCTION_VECTOR: "call_function",
                   CALL_FUNCTION_SINGLE_VECTOR: "call_function_single", IRQ_WORK_VECTOR: "irq_work"}


def sysvec_ipi(k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
    """``sysvec_reschedule_ipi``, ``sysvec_call_function(_single)``,
    ``sysvec_irq_work``: EOI, the row, then the work."""
    c = cpu.index
    name = IPI_TRACEPOINTS[vector]
    k.trace.emit(k.engine.now, c, VECTOR_ENTRY, -1, vector, name)
    k.ctrl.eoi(c, vector)
    k.irq_stat.inc(VECTOR_ROWS[name], c)
    if vector == RESCHEDULE_VECTOR:
        cost = k.sched.scheduler_ipi(c)
    elif vector == IRQ_WORK_VECTOR:
        cost = k.smp.irq_work_run(c)
    else:
        cost = k.smp.flush_call_function_queue(c)
    if cost:
        yield cost
    k.trace.emit(k.engine.now, c, VECTOR_EXIT, -1, vector, name)


def flush_tlb_func(k: Kernel, cpu: int) -> int:
    """A remote CPU's part of a shootdown: the TLB row (``irq_tlb_count``)."""
    k.irq_stat.inc("TLB", cpu)
    return TLB_FLUSH_NS


class X86Board(Board):
    def __init__(self, apic: Apic, ioapic: IoApic, irq_nesting: bool | None) -> None:
        super().__init__(apic, irq_nesting=irq_nesting)
        self.apic = apic
        self.ioapic = ioapic
        self.next_irte = 0  # interrupt-remapping table entries are handed out in order
        self.vectors: VectorDomain  # made at boot, with the kernel

    def vector_matrix(self) -> str | None:
        return self.vectors.matrix.debug_show()


class X86:
    """The x86 platform (see the module docstring)."""

    arch = "x86"

    # -- building ---------------------------------------------------------------------
    def board(self, m: Machine) -> Board:
        ms = m.spec.machine
        apic = Apic(ms.cpus, entry_ns=X86_ENTRY_NS if ms.entry_cost is None else ms.entry_cost,
                    exit_ns=X86_EXIT_NS if ms.exit_cost is None else ms.exit_cost)
        board = X86Board(apic, IoApic(apic), ms.irq_nesting)
        iommu = machine_spec(m, X86_MACHINE).iommu
        if iommu:
            board.iommu = VtdUnit(apic, "dmar0") if iommu == "intel" else AmdIommu(apic, "AMD-Vi0")
        m.timers = [Device(m.engine, f"lapic-timer{cpu}", VectorSignal(apic, cpu, LOCAL_TIMER_VECTOR),
                           None) for cpu in range(ms.cpus)]
        return board

    def boot(self, m: Machine) -> None:
        board: X86Board = m.board  # type: ignore[assignment]
        if m.spec.machine.os == "windows":
            board.vectors = VectorDomain(m.kernel, board.apic, WINDOWS_FIRST_DEVICE_VECTOR,
                                         FIRST_SYSTEM_VECTOR, [])
        else:
            board.vectors = VectorDomain(m.kernel, board.apic, FIRST_DEVICE_VECTOR,
                                         FIRST_SYSTEM_VECTOR, [IA32_SYSCALL_VECTOR])
        m.kernel.hotplug.set_arch(board.vectors.cpu_disable, board.vectors.cpu_up)
        for cpu in range(m.spec.machine.cpus):
            m.kernel.bind_vector(cpu, LOCAL_TIMER_VECTOR, local_timer)
            for vector in IPI_VECTORS.values():
                m.kernel.bind_vector(cpu, vector, sysvec_ipi)


    def _fixed_vector(self, m: Machine, spec: DeviceSpec, i: int) -> int | None:
        """The vector the scenario fixed for vector ``i`` of ``spec``, if any."""
        if spec.vector is None:
            return None
        linux = m.spec.machine.os == "linux"
        vectors = spec.vector if isinstance(spec.vector, list) else [spec.vector]
        if i >= len(vectors):
            raise BuildError(f"device '{spec.name}': vector list has {len(vectors)} entries "
                             f"for {spec.vectors} vectors")
        v = vectors[i]
        if not FIRST_DEVICE_VECTOR - 1 <= v < FIRST_SYSTEM_VECTOR or (linux and v == IA32_SYSCALL_VECTOR):
            raise BuildError(f"device '{spec.name}': vector {v:#x} is not a device vector "
                             f"(0x20-{FIRST_SYSTEM_VECTOR - 1:#x}" + (", not 0x80)" if linux else ")"))
        return v

    def _alloc_vector(self, m: Machine, name: str, fixed: int | None, d: IrqDesc, mask: int,
                      managed: bool) -> None:
        """Reserve device ``name``'s vector (``x86_vector_alloc_irqs``), or take
        the one the scenario ``fixed`` on the first CPU of ``mask``."""
        board: X86Board = m.board  # type: ignore[assignment]
        cpu = cpumask_first(mask)
        try:
            board.vectors.alloc(d, mask, managed)
            if fixed is not None:
                board.vectors.assign(d, cpu, fixed)
        except MatrixError as exc:
            if exc.errno == "EBUSY":
                raise BuildError(f"device '{name}': vector {fixed:#x} on CPU {cpu} is "
                                 "already in use") from None
            raise BuildError(f"device '{name}': {exc} (-{exc.errno})") from None

    def add_line(self, m: Machine, spec: DeviceSpec, line: int, cpu: int,
                 level: bool) -> tuple[int, LineSink]:
        board: X86Board = m.board  # type: ignore[assignment]
        ioapic = board.ioapic
        if line >= ioapic.pins:
            raise BuildError(f"device '{spec.name}': IO-APIC pin {line} out of range 0-{ioapic.pins - 1}")
        chip = IoApicChip(board.apic, board.vectors, ioapic)
        flow = "fasteoi" if level else "edge"
        ioapic.program(line, 0, cpu, level, masked=True)  # the RTE gets its vector when activated
        desc = m.kernel.alloc_irq(line, chip, line, FLOWS[flow], flow, level)
        fixed = self._fixed_vector(m, spec, 0)
        self._alloc_vector(m, spec.name, fixed, desc, 1 << cpu, False)
        if desc.vector >= 0:
            chip.write_msg(desc)
        return line, ioapic

    def add_msi(self, m: Machine, spec: DeviceSpec,
                index: int) -> Callable[[int, int, bool], tuple[int, Signal]]:
        board: X86Board = m.board  # type: ignore[assignment]
        k = m.kernel
        bus, slot, fn = pci_address(index)  # as its IOMMU source id
        table = MsixTable(board.apic, spec.vectors)
        # Linux 6.x per-device MSI domains: chip "PCI-MSIX-<domain:bus:dev.fn>",
        # hwirq = the MSI-X table entry (as /proc/interrupts shows them); behind
        # interrupt remapping the domain's name starts "IR-".
        name = f"PCI-MSIX-0000:{bus:02x}:{slot:02x}.{fn}"
        unit = board.iommu
        irtes: dict[int, int] = {}
        chip = (MsiChip(board.apic, board.vectors, table, name=name) if unit is None
                else IrMsiChip(board.apic, board.vectors, table, unit, irtes, f"IR-{name}"))
        sid = source_id(bus, slot, fn)

        def alloc(i: int, mask: int, managed: bool) -> tuple[int, Signal]:
            irq = next_irq(m, FIRST_MSI_IRQ)
            desc = k.alloc_irq(irq, chip, i, FLOWS["edge"], "edge", False)
            if unit is not None:
                handle = board.next_irte  # below IRT_ENTRIES: 256 CPUs x 202 vectors fit
                board.next_irte += 1
                irtes[i] = handle
                # the vector is written when the line takes one (write_msg)
                unit.set_irte(handle, Irte(sid, board.apic.lapics[cpumask_first(mask)].apic_id, 0))
            fixed = self._fixed_vector(m, spec, i)
            self._alloc_vector(m, spec.name, fixed, desc, mask, managed)
            if desc.vector >= 0:
                chip.write_msg(desc)
            if unit is None:
                return irq, MsiSignal(table, i)
            return irq, RemappedMsiSignal(table, i, unit, sid, irtes[i])

        return alloc

    def isr_name(self, device: str) -> str:
        return device

    def finish(self, m: Machine) -> None:
        if m.board.iommu is not None:
            self._add_iommu(m)

    def _add_iommu(self, m: Machine) -> None:
        """The IOMMU's own interrupt, an MSI to CPU 0: VT-d's fault event
        (dmar0) or AMD-Vi's event log interrupt; its handler is the OS's
        (Linux ``dmar_fault`` / ``amd_iommu_int_thread``, Windows
        ``nt!IvtHandleInterrupt``)."""
        board: X86Board = m.board  # type: ignore[assignment]
        k = m.kernel
        unit = board.iommu
        assert isinstance(unit, VtdUnit | AmdIommu)
        name = IOMMU_IRQ[unit.vendor]
        irq = next_irq(m, FIRST_MSI_IRQ)
        chip = DmarMsiChip(board.apic, board.vectors, unit,
                           "DMAR-MSI" if unit.vendor == "intel" else "PCI-MSI")
        desc = k.alloc_irq(irq, chip, 0, FLOWS["edge"], "edge", False)
        self._alloc_vector(m, name, None, desc, 1, False)
        pci_sids(m)
        handler, thread_fn = m.os.iommu_fault_isr(m, unit)
        if thread_fn is None:
            assert handler is not None
            request_irq(k, irq, handler, IRQF_NO_THREAD, name, unit)
        else:  # AMD-Vi: request_threaded_irq(irq, amd_iommu_int_handler, amd_iommu_int_thread, 0, ...)
            request_threaded_irq(k, irq, handler, thread_fn, 0, name, unit)
        m.irqs[name] = [irq]

    def missed_eoi(self, m: Machine) -> list[KernelWarning]:
        """Vectors left in the ISR with no handler running: their class and
        every lower one stay blocked on that CPU (PPR), while higher classes
        still arrive (Intel SDM 10.8.3.1)."""
        out: list[KernelWarning] = []
        apic: Apic = m.ctrl
        k = m.kernel
        for cpu, lapic in enumerate(apic.lapics):
            c = k.cpus[cpu]
            if c.in_irq or not c.irqs_on or lapic.isr.highest() < 0:
                continue  # an interrupt is being taken or handled: its ISR bit is not stale
            top = apic.in_service(cpu)[0]
            cls = top >> 4
            irq_no = getattr(k.vector_irq[cpu].get(top), "irq", None)
            pending = [v for v in apic.pending(cpu) if v >> 4 <= cls]
            desc = ", ".join(f"{v:#04x}" for v in pending) or "none yet"
            out.append(KernelWarning(
                "missed-eoi", irq_no, m.engine.now,
                (f"CPU{cpu}: vector {top:#04x}"
                 + (f" (irq {irq_no})" if irq_no is not None else "")
                 + f" is still in service: its EOI never came, so priority classes "
                   f"{cls:#x} and lower are blocked on CPU{cpu} (PPR={lapic.ppr():#04x}); "
                   f"blocked in IRR: {desc}; higher classes are still delivered"),
            ))
        return out

    # -- kernel.arch.Arch ------------------------------------------------------------------
    def spurious_vector(self, k: Kernel, cpu: int, vector: int) -> None:
        """0xFF: ``Spurious APIC interrupt (vector 0xFF) on CPU#%d, should never
        happen.``, SPU row, no EOI."""
        k.irq_stat.inc("SPU", cpu)
        k.printk(f"Spurious APIC interrupt (vector 0xFF) on CPU#{cpu}, should never happen.")

    def no_irq_handler(self, k: Kernel, cpu: int, vector: int) -> None:
        k.ctrl.eoi(cpu, vector)  # apic_eoi(): an un-acked vector would block its class
        no_handler(k, f"No irq handler for {cpu}.{vector}")

    def trigger_name(self, d: IrqDesc) -> str:
        return d.name  # x86 prints the flow ("edge", "fasteoi")

    def send_ipi(self, k: Kernel, cpu: int, ipi: int) -> None:
        """An ICR write: fixed delivery of the IPI's vector to ``cpu``'s APIC."""
        apic = cast("Apic", k.ctrl)
        apic.accept(cpu, IPI_VECTORS[ipi], False)

    def flush_tlb_multi(self, k: Kernel, this_cpu: int, cpus: list[int]) -> int:
        """``native_flush_tlb_multi``: a call-function IPI to the others, the
        local flush here (the initiator's wait for their completion is not
        modelled)."""
        k.smp.smp_call_function_many(this_cpu, cpus, flush_tlb_func)
        return TLB_FLUSH_NS

    def arch_show_interrupts(self, k: Kernel, snap: CounterSnapshot) -> None:
        counts = k.irq_stat.counts
        shown = ("LOC", "SPU", *SMP_ROWS)
        rows = [r for r in X86_ROWS if r in counts or r in shown]
        add_rows(k, snap, rows + [r for r in counts if r not in X86_ROWS], {})
        snap.rows["ERR"] = CounterRow(label="ERR", per_cpu=[k.irq_stat.err_count])
        snap.rows["MIS"] = CounterRow(label="MIS", per_cpu=[sum(counts.get("MIS", [0]))])
