"""Bug: a level-triggered handler that never clears its device's status.

The line stays asserted after the handler returns, so it fires again as soon
as the controller allows: an interrupt storm.  `irqlab check` fails
``level-ack`` and points at the handler where the clear was expected.
"""

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE

DEVICE = {"kind": "line", "trigger": "level", "arrival": {"kind": "poisson", "rate": "20k/s"}}


def handler(ctx: HandlerContext) -> int:
    if not ctx.device.status:
        return IRQ_NONE
    ctx.spend(500)  # reads the status register ... and never writes it back
    return IRQ_HANDLED
