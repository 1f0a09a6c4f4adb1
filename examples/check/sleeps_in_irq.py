"""Bug: the top half takes a mutex, which may sleep, in hard-IRQ context.

Linux reports "BUG: scheduling while atomic"; `irqlab check` fails
``sleep-in-atomic`` with this file and line.  (Use a spinlock here, or move
the work to a threaded handler, where sleeping is allowed.)
"""

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE

DEVICE = {"kind": "msix", "arrival": {"kind": "poisson", "rate": "20k/s"}}


def handler(ctx: HandlerContext) -> int:
    dev = ctx.device
    if not dev.status:
        return IRQ_NONE
    ctx.mutex_lock()  # BUG: may sleep, in hard-IRQ context
    ctx.spend(800)
    dev.service(dev.status)
    return IRQ_HANDLED
