"""Deferred affinity moves (``kernel/irq/migration.c``, GENERIC_PENDING_IRQ).

A chip that cannot be reprogrammed safely from process context (the x86
IO-APIC without interrupt remapping: rewriting an RTE while an interrupt is in
flight can lose it) gets its move stored by ``irq_set_affinity`` as pending
(``IRQD_SETAFFINITY_PENDING``, ``desc->pending_mask``) and carried out from the
interrupt path of the next interrupt, with the line masked: ``irq_move_irq``
in the edge ack (``apic_ack_edge``), ``irq_move_masked_irq`` in the level EOI
(``ioapic_ack_level``).  That next interrupt is still handled where it
arrived; the ones after it go to the new CPU.  The move itself
(``irq_do_set_affinity``) is here too: both paths share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.kernel.flags import IRQD_IRQ_DISABLED, IRQD_IRQ_MASKED, IRQD_SETAFFINITY_PENDING

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel


def irq_do_set_affinity(k: Kernel, desc: IrqDesc, cpu: int) -> bool:
    """Have the chip re-route the line to ``cpu`` and bind its vector there
    (x86); False, and nothing changed, when that vector is taken there
    (-ENOSPC).  A chip that refuses raises ValueError, also changing nothing.
    The line's threads follow at their next wake-up (``irq_set_thread_affinity``)."""
    owner = k.vector_irq[cpu].get(desc.vector) if desc.vector >= 0 else None
    if owner is not None and owner is not desc:
        return False
    desc.chip.irq_set_affinity(desc, cpu)
    if desc.vector >= 0 and owner is None:
        k.bind_vector(cpu, desc.vector, desc)
    return True


def irq_set_affinity_pending(desc: IrqDesc, cpu: int) -> None:
    """Store the move for the next interrupt (``irq_copy_pending``)."""
    desc.pending_affinity = cpu
    desc.state |= IRQD_SETAFFINITY_PENDING


def irq_move_masked_irq(k: Kernel, desc: IrqDesc) -> None:
    """Carry out a pending move of a masked line (its vector is bound on the
    new CPU as ``irq_do_set_affinity`` would, then the chip re-routes it)."""
    if not desc.state & IRQD_SETAFFINITY_PENDING:
        return
    desc.state &= ~IRQD_SETAFFINITY_PENDING
    cpu, desc.pending_affinity = desc.pending_affinity, -1
    if cpu != desc.affinity:
        irq_do_set_affinity(k, desc, cpu)  # -ENOSPC since the request: the move is dropped


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
