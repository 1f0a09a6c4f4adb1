"""The EOI of the x86 chips (``arch/x86/kernel/apic/vector.c`` ``apic_ack_irq``,
``io_apic.c`` ``ioapic_ack_level``), compiled with the hot modules: the chip
operation of every interrupt.  The chips of ``irqlab.platform.x86`` derive
from ``ApicEoi`` and handle the rare cases in ``eoi_slow``: a vector move in
progress or pending, a level interrupt that arrived as an edge, the drop-EOI
fault."""

from __future__ import annotations

from mypy_extensions import mypyc_attr

from irqlab.hw.apic import Apic
from irqlab.kernel.desc import IrqDesc
from irqlab.kernel.flags import IRQD_SETAFFINITY_PENDING


@mypyc_attr(allow_interpreted_subclasses=True)
class ApicEoi:
    """A chip whose ack and EOI are the local APIC's EOI; with ``level_pins``
    (IO-APIC pins) the EOI must also reach the pin, through the broadcast of
    the vector's TMR bit."""

    def __init__(self, apic: Apic, level_pins: bool) -> None:
        self.apic = apic
        self.level_pins = level_pins

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        if (d.drop_eoi or d.chip_data.move_in_progress
                or (self.level_pins and (d.state & IRQD_SETAFFINITY_PENDING
                                        or (d.level and not self.apic.level_triggered(cpu, d.vector))))):
            self.eoi_slow(d, cpu)
        else:
            self.apic.eoi(cpu)

    def irq_ack(self, d: IrqDesc, cpu: int) -> None:
        """``apic_ack_edge``: the EOI before the handler runs (edge flow)."""
        self.irq_eoi(d, cpu)

    def eoi_slow(self, d: IrqDesc, cpu: int) -> None:
        """The EOI when a move, an edge-arrived level interrupt or the fault is involved."""
        raise NotImplementedError
