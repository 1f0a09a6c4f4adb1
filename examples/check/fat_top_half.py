"""Bug: all the work runs in the top half, with interrupts off on the CPU.

Every packet's protocol work (25 us) is done in hard-IRQ context instead of a
softirq, tasklet or threaded handler.  `irqlab check` fails
``top-half-budget`` and ``deferral``; at 10x the rate the CPU livelocks.
"""

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE

DEVICE = {"kind": "msix", "arrival": {"kind": "poisson", "rate": "20k/s"}}


def handler(ctx: HandlerContext) -> int:
    dev = ctx.device
    if not dev.status:
        return IRQ_NONE
    packets = dev.service(dev.status)
    ctx.spend(600 + 25_000 * packets)  # BUG: the protocol work belongs in a bottom half
    return IRQ_HANDLED
