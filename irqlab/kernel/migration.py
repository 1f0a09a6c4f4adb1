"""Affinity moves (``kernel/irq/manage.c`` ``irq_do_set_affinity``) and the
deferred ones (``kernel/irq/migration.c``, GENERIC_PENDING_IRQ).

``irq_do_set_affinity`` hands the online CPUs of the new mask to the chip,
which picks the effective CPU (x86: allocates a vector there) and re-routes
the line; the mask becomes the line's ``smp_affinity`` only when the chip
took it.

A chip that cannot be reprogrammed safely from process context (the x86
IO-APIC without interrupt remapping: rewriting an RTE while an interrupt is in
flight can lose it) gets its move stored by ``irq_set_affinity`` as pending
(``IRQD_SETAFFINITY_PENDING``, ``desc->pending_mask``) and carried out from the
interrupt path of the next interrupt, with the line masked: ``irq_move_irq``
in the edge ack (``apic_ack_edge``), ``irq_move_masked_irq`` in the level EOI
(``ioapic_ack_level``).  That next interrupt is still handled where it
arrived; the ones after it go to the new CPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.kernel.chip import ChipError
from irqlab.kernel.flags import IRQD_IRQ_DISABLED, IRQD_IRQ_MASKED, IRQD_SETAFFINITY_PENDING

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel


def irq_do_set_affinity(k: Kernel, desc: IrqDesc, mask: int) -> None:
    """Have the chip route ``desc`` to an online CPU of ``mask``.  The chip's
    ChipError (-ENOSPC, -EBUSY) or ValueError propagates, nothing changed;
    ValueError too when no CPU of ``mask`` is online.  The line's threads
    follow at their next wake-up (``irq_set_thread_affinity``)."""
    online = mask & k.cpu_online_mask
    if not online:
        raise ValueError(f"irq {desc.irq}: no online CPU in the affinity mask")
    desc.chip.irq_set_affinity(desc, online)
    desc.affinity_mask = mask


def irq_set_affinity_pending(desc: IrqDesc, mask: int) -> None:
    """Store the move for the next interrupt (``irq_copy_pending``)."""
    desc.pending_mask = mask
    desc.state |= IRQD_SETAFFINITY_PENDING


def irq_move_masked_irq(k: Kernel, desc: IrqDesc) -> None:
    """Carry out a pending move of a masked line; one the chip refuses now
    (-ENOSPC since the request, its CPUs gone offline) is dropped, as
    ``irq_move_masked_irq`` drops it."""
    if not desc.state & IRQD_SETAFFINITY_PENDING:
        return
    desc.state &= ~IRQD_SETAFFINITY_PENDING
    mask, desc.pending_mask = desc.pending_mask, 0
    try:
        irq_do_set_affinity(k, desc, mask)
    except (ValueError, ChipError):
        return


def irq_move_irq(k: Kernel, desc: IrqDesc) -> None:
    """``__irq_move_irq``: mask the line around the move unless it is masked
    already; a disabled line keeps its move for an interrupt after the enable."""
    if not desc.state & IRQD_SETAFFINITY_PENDING or desc.state & IRQD_IRQ_DISABLED:
        return
    masked = desc.state & IRQD_IRQ_MASKED
    if not masked:
        desc.chip.irq_mask(desc)
    irq_move_masked_irq(k, desc)
    if not masked:
        desc.chip.irq_unmask(desc)
