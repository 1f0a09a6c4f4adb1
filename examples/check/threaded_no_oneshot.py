"""Bug: a threaded handler with no primary handler on a level-triggered line,
requested without IRQF_ONESHOT.

The kernel refuses it (``request_threaded_irq`` returns -EINVAL: "Threaded irq
requested with handler=NULL and !ONESHOT"): the level line would fire again
the moment it is unmasked, before the thread could clear the device.
``FLAGS = IRQF_ONESHOT`` fixes it.
"""

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE

DEVICE = {"kind": "line", "trigger": "level", "arrival": {"kind": "poisson", "rate": "5k/s"}}


def thread_fn(ctx: HandlerContext) -> int:
    dev = ctx.device
    if not dev.status:
        return IRQ_NONE
    ctx.spend(20_000)
    dev.service(dev.status)
    return IRQ_HANDLED
