"""Bug: on a shared line the handler claims every interrupt (IRQ_HANDLED)
without asking its device whether it raised it.

The kernel then cannot tell a stuck line from a busy one ("nobody cared"
never triggers for a line this handler shares).  `irqlab check` fails
``shared-line`` and ``spurious-call``.
"""

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED

DEVICE = {"kind": "line", "trigger": "level", "arrival": {"kind": "poisson", "rate": "20k/s"}}


def handler(ctx: HandlerContext) -> int:
    dev = ctx.device
    ctx.spend(700)
    dev.service(dev.status)  # clears whatever is there, possibly nothing
    return IRQ_HANDLED  # BUG: even when its device did not interrupt
