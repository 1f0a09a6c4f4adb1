"""irq_chip: hardware operations only, one class per controller personality
(``include/linux/irq.h`` ``struct irq_chip``; ``kernel/irq/chip.c`` helpers).

The chip operations receive the descriptor and the CPU doing the operation
(the kernel's "this CPU").  ``mask_irq``/``unmask_irq`` are idempotent through
IRQD_IRQ_MASKED as in chip.c.  ``irq_eoi``/``irq_ack`` honour the drop-EOI
fault injection so that every personality misses its EOI the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.hw.gic import LPI_BASE
from irqlab.hw.msi import compose
from irqlab.kernel.flags import IRQD_IRQ_MASKED, IRQD_SETAFFINITY_PENDING
from irqlab.kernel.migration import irq_move_irq, irq_move_masked_irq

if TYPE_CHECKING:
    from irqlab.hw.apic import Apic
    from irqlab.hw.gic import GicV3
    from irqlab.hw.ioapic import IoApic
    from irqlab.hw.iommu import VtdUnit
    from irqlab.hw.msi import MsixTable
    from irqlab.hw.nvic import Nvic
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel

# Named as in include/linux/irq.h (enum of irq_chip flags); the bit values are irqlab's own.
IRQCHIP_EOI_IF_HANDLED = 0x1
IRQCHIP_ONESHOT_SAFE = 0x2
IRQCHIP_EOI_THREADED = 0x4


class IrqChip:
    """Base chip: every operation is a no-op (``dummy_irq_chip``)."""

    name = "none"
    flags = 0
    #: moves only from the interrupt path (GENERIC_PENDING_IRQ; see irqlab.kernel.migration)
    move_pending = False
    #: the kernel this chip is bound to (set by Kernel.alloc_irq; for reports)
    k: Kernel | None = None

    def irq_mask(self, d: IrqDesc) -> None:
        return None

    def irq_unmask(self, d: IrqDesc) -> None:
        return None

    def irq_ack(self, d: IrqDesc, cpu: int) -> None:
        return None

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        return None

    def irq_retrigger(self, d: IrqDesc) -> bool:
        """Hardware resend; False when the chip cannot (software resend then)."""
        return False

    def irq_set_affinity(self, d: IrqDesc, cpu: int) -> None:
        d.affinity = cpu


def mask_irq(d: IrqDesc) -> None:
    if not d.state & IRQD_IRQ_MASKED:
        d.chip.irq_mask(d)
        d.state |= IRQD_IRQ_MASKED


def unmask_irq(d: IrqDesc) -> None:
    if d.state & IRQD_IRQ_MASKED:
        d.chip.irq_unmask(d)
        d.state &= ~IRQD_IRQ_MASKED


def _eoi_dropped(d: IrqDesc) -> bool:
    """Fault injection: this EOI is lost (once, or every time)."""
    if not d.drop_eoi:
        return False
    if d.drop_eoi == 1:
        d.drop_eoi = 0
    k = d.chip.k
    if k is not None:
        k.warn("missed-eoi", d.irq, f"irq {d.irq}: EOI not sent (injected fault)", once=True)
    return True


class ApicAckChip(IrqChip):
    """Chips whose ack/EOI is the local APIC EOI (x86 vector domain parent)."""

    def __init__(self, apic: Apic) -> None:
        self.apic = apic

    def irq_ack(self, d: IrqDesc, cpu: int) -> None:
        # apic_ack_irq / apic_ack_edge: EOI before the handler runs.
        if not _eoi_dropped(d):
            self.apic.eoi(cpu)

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        if not _eoi_dropped(d):
            self.apic.eoi(cpu)

    def msi_msg(self, cpu: int, vector: int) -> tuple[int, int]:
        """The (address, data) of a message to ``vector`` on ``cpu``
        (``x86_vector_msi_compose_msg``)."""
        return compose(self.apic.lapics[cpu].apic_id, vector)

    def irq_retrigger(self, d: IrqDesc) -> bool:
        # apic_retrigger_irq: send the vector to the target CPU as an IPI.
        self.apic.accept(d.affinity, d.vector, False)
        return True


class IoApicChip(ApicAckChip):
    """IO-APIC pins (arch/x86/kernel/apic/io_apic.c ``ioapic_chip``).  Level
    pins use fasteoi: the LAPIC EOI is broadcast back and clears Remote IRR.
    Without interrupt remapping an RTE is rewritten only from the interrupt
    path: an affinity change waits for the next interrupt (``apic_ack_edge``,
    ``ioapic_ack_level``)."""

    name = "IO-APIC"
    move_pending = True

    def __init__(self, apic: Apic, ioapic: IoApic, name: str = "IO-APIC") -> None:
        super().__init__(apic)
        self.ioapic = ioapic
        self.name = name

    def irq_mask(self, d: IrqDesc) -> None:
        self.ioapic.mask(d.hwirq)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.ioapic.unmask(d.hwirq)

    def _mover(self, d: IrqDesc) -> Kernel | None:
        """The kernel to carry out ``d``'s pending move, if it has one."""
        return self.k if d.state & IRQD_SETAFFINITY_PENDING else None

    def irq_ack(self, d: IrqDesc, cpu: int) -> None:
        k = self._mover(d)
        if k is not None:
            irq_move_irq(k, d)
        super().irq_ack(d, cpu)

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        k = self._mover(d)
        if k is not None and not d.state & IRQD_IRQ_MASKED:
            self.ioapic.mask(d.hwirq)  # ioapic_prepare_move
        super().irq_eoi(d, cpu)
        if k is not None:  # ioapic_finish_move
            if not self.ioapic.rte[d.hwirq].remote_irr:  # only once the EOI has reached the pin
                irq_move_masked_irq(k, d)
            if not d.state & IRQD_IRQ_MASKED:
                self.ioapic.unmask(d.hwirq)

    def irq_set_affinity(self, d: IrqDesc, cpu: int) -> None:
        d.affinity = cpu
        self.ioapic.set_affinity(d.hwirq, cpu)


class MsiChip(ApicAckChip):
    """PCI MSI-X vectors; hwirq is the table entry (per-device MSI domain).
    ``pci_msi_mask_irq`` writes the per-vector mask bit.
    MSI cannot storm, so ONESHOT is not needed (IRQCHIP_ONESHOT_SAFE)."""

    name = "PCI-MSI"
    flags = IRQCHIP_ONESHOT_SAFE

    def __init__(self, apic: Apic, table: MsixTable, name: str = "PCI-MSI") -> None:
        super().__init__(apic)
        self.table = table
        self.name = name

    def irq_set_affinity(self, d: IrqDesc, cpu: int) -> None:
        """Rewrite the MSI-X entry's message for the new destination APIC
        (``msi_domain_set_affinity`` -> ``irq_chip_write_msi_msg``)."""
        d.affinity = cpu
        self.table.program(d.hwirq, *self.msi_msg(cpu, d.vector))

    def irq_mask(self, d: IrqDesc) -> None:
        self.table.mask(d.hwirq)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.table.unmask(d.hwirq)


class DmarMsiChip(ApicAckChip):
    """The VT-d fault event interrupt (``dmar_msi_irq_chip``, "DMAR-MSI"):
    masking writes FECTL.IM; a held event is sent on unmask."""

    name = "DMAR-MSI"
    flags = IRQCHIP_ONESHOT_SAFE

    def __init__(self, apic: Apic, unit: VtdUnit) -> None:
        super().__init__(apic)
        self.unit = unit

    def irq_set_affinity(self, d: IrqDesc, cpu: int) -> None:
        """``dmar_msi_write``: FEADDR/FEDATA name the new CPU."""
        d.affinity = cpu
        self.unit.program_fault_event(*self.msi_msg(cpu, d.vector))

    def irq_mask(self, d: IrqDesc) -> None:
        self.unit.set_masked(True)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.unit.set_masked(False)


class GicChip(IrqChip):
    """GICv3 (drivers/irqchip/irq-gic-v3.c): mask/unmask are ICENABLER/ISENABLER;
    ``irq_eoi`` writes ICC_EOIR1 in EOImode 0 and ICC_DIR in EOImode 1 (the
    priority drop was done at entry)."""

    name = "GICv3"

    def __init__(self, gic: GicV3) -> None:
        self.gic = gic

    def irq_mask(self, d: IrqDesc) -> None:
        self.gic.disable(d.hwirq, d.affinity if d.hwirq >= 32 else None)

    def irq_unmask(self, d: IrqDesc) -> None:
        self.gic.enable(d.hwirq, d.affinity if d.hwirq >= 32 else None)

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        if _eoi_dropped(d):
            return
        if self.gic.eoi_mode:
            self.gic.deactivate(cpu, d.hwirq)
        else:
            self.gic.eoi(cpu, d.hwirq)

    def irq_retrigger(self, d: IrqDesc) -> bool:
        self.gic.set_pending(d.hwirq, d.affinity)
        return True

    def irq_set_affinity(self, d: IrqDesc, cpu: int) -> None:
        if d.hwirq >= LPI_BASE:
            self.gic.move_lpi(d.hwirq, cpu)  # its_set_affinity: the ITS MOVI command
        elif d.hwirq >= 32:
            self.gic.route(d.hwirq, cpu)
        d.affinity = cpu


class NvicChip(IrqChip):
    """Cortex-M NVIC: mask/unmask are ICER/ISER; there is no EOI, the exception
    return ends the interrupt (done by the dispatcher)."""

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
