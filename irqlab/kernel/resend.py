"""Resending interrupts that were lost while disabled (``kernel/irq/resend.c``).

Level lines are never resent ("resent by hardware when they are still
active").  An edge marked PENDING is retriggered by the chip (x86: the vector
sent to the target CPU again; GIC/NVIC: the pending bit set), and IRQS_REPLAY
stops a second resend until the flow handler runs again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.kernel.flags import IRQS_PENDING, IRQS_REPLAY

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel


def sw_resend(k: Kernel, desc: IrqDesc) -> None:
    """Software resend (CONFIG_HARDIRQS_SW_RESEND: resend.c's tasklet): replay
    the flow handler on the line's CPU."""
    c = k.cpus[desc.affinity]

    def replay(_: object) -> None:
        c.start(desc.handle_irq(k, desc, c.index))

    k.engine.after(0, replay)


def check_irq_resend(k: Kernel, desc: IrqDesc, inject: bool = False) -> bool:
    """``check_irq_resend``: True when a resend was issued."""
    if desc.level:
        desc.istate &= ~IRQS_PENDING
        return False
    if desc.istate & IRQS_REPLAY:
        return False
    if not desc.istate & IRQS_PENDING and not inject:
        return False
    desc.istate &= ~IRQS_PENDING
    if not desc.chip.irq_retrigger(desc):
        sw_resend(k, desc)
    desc.istate |= IRQS_REPLAY
    k.resends += 1
    return True
