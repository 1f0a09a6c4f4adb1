"""Bug: a level-triggered handler that never recognises its own device: it
reads the wrong status bit, so it answers IRQ_NONE and clears nothing.

The line stays asserted and fires without end; after 99,900 unhandled
interrupts out of 100,000 Linux prints "irq N: nobody cared" and disables the
line (kernel/irq/spurious.c).  `irqlab check` fails ``level-ack`` and shows it.
"""

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE

DEVICE = {"kind": "line", "trigger": "level", "arrival": {"kind": "poisson", "rate": "20k/s"}}

RX_DONE = 1 << 4  # BUG: the device reports its requests in bit 0


def handler(ctx: HandlerContext) -> int:
    dev = ctx.device
    if not dev.status & RX_DONE:
        return IRQ_NONE
    ctx.spend(600)
    dev.service(dev.status)
    return IRQ_HANDLED
