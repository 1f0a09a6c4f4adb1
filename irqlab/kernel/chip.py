"""irq_chip: the interface of a controller's hardware operations
(``include/linux/irq.h`` ``struct irq_chip``; ``kernel/irq/chip.c`` helpers).
Each platform (``irqlab.platform``) implements it for its controllers, as
``drivers/irqchip`` does.

The chip operations receive the descriptor and the CPU doing the operation
(the kernel's "this CPU").  ``mask_irq``/``unmask_irq`` are idempotent through
IRQD_IRQ_MASKED as in chip.c.  A chip's ``irq_eoi``/``irq_ack`` ask
``eoi_dropped`` first, so that every controller misses its EOI the same way
under the drop-EOI fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from irqlab.kernel.cpumask import cpumask_first
from irqlab.kernel.flags import IRQD_IRQ_MASKED

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel

# Named as in include/linux/irq.h (enum of irq_chip flags); the bit values are irqlab's own.
IRQCHIP_EOI_IF_HANDLED: Final = 0x1
IRQCHIP_ONESHOT_SAFE: Final = 0x2
IRQCHIP_EOI_THREADED: Final = 0x4


class ChipError(Exception):
    """A chip operation the hardware or its allocator refuses; ``errno`` as the
    kernel returns it (ENOSPC: no vector left, EBUSY: a move still in progress)."""

    def __init__(self, errno: str, message: str) -> None:
        super().__init__(message)
        self.errno = errno


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

    def irq_set_affinity(self, d: IrqDesc, mask: int) -> None:
        """Route ``d`` to one CPU of ``mask`` (online CPUs only) and record it as
        the effective affinity (``irq_data_update_effective_affinity``).  A
        chip that cannot raises :class:`ChipError` or ValueError, changing nothing."""
        d.affinity = cpumask_first(mask)

    def irq_activate(self, d: IrqDesc) -> None:
        """``irq_domain_activate_irq`` when the line starts: x86 takes its
        vector here (reservation mode); ChipError when none is left."""
        return None

    def irq_deactivate(self, d: IrqDesc) -> None:
        """``irq_domain_deactivate_irq`` when the line shuts down."""
        return None


def mask_irq(d: IrqDesc) -> None:
    if not d.state & IRQD_IRQ_MASKED:
        d.chip.irq_mask(d)
        d.state |= IRQD_IRQ_MASKED


def unmask_irq(d: IrqDesc) -> None:
    if d.state & IRQD_IRQ_MASKED:
        d.chip.irq_unmask(d)
        d.state &= ~IRQD_IRQ_MASKED


def eoi_dropped(d: IrqDesc) -> bool:
    """Fault injection: this EOI is lost (once, or every time)."""
    if not d.drop_eoi:
        return False
    if d.drop_eoi == 1:
        d.drop_eoi = 0
    k = d.chip.k
    if k is not None:
        k.warn("missed-eoi", d.irq, f"irq {d.irq}: EOI not sent (injected fault)", once=True)
    return True
