"""Bug: statistics shared between the top half and the tasklet, updated
without a lock in the tasklet.

The top half takes ``stats_lock``; the tasklet, which may run on another CPU
at the same time (or be interrupted by the top half on its own), touches the
counters bare.  `irqlab check` fails ``concurrency`` with both call sites.
"""

from irqlab.check import Shared, SpinLock
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
from irqlab.kernel.tasklet import Tasklet

DEVICE = {"kind": "msix", "arrival": {"kind": "poisson", "rate": "20k/s"}}

stats = Shared("rx_stats")
stats_lock = SpinLock("stats_lock")


def account(ctx: HandlerContext) -> None:
    stats.touch(ctx)  # BUG: needs spin_lock_irqsave(stats_lock)
    ctx.spend(1_000)


rx_tasklet = Tasklet(account, "account")


def handler(ctx: HandlerContext) -> int:
    dev = ctx.device
    if not dev.status:
        return IRQ_NONE
    ctx.spend(500)
    dev.service(dev.status)
    with ctx.spin_lock(stats_lock):
        stats.touch(ctx)
    ctx.tasklet_schedule(rx_tasklet)
    return IRQ_HANDLED
