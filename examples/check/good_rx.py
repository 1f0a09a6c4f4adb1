"""A correct receive driver for ``irqlab check``: a level-triggered line that
may be shared.  The top half checks that its device interrupted, clears it,
notes the packets under the ring lock and defers the protocol work to a
tasklet, which takes the lock with interrupts off.

    irqlab check examples/check/good_rx.py --allow-code
"""

from irqlab.check import Shared, SpinLock
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
from irqlab.kernel.tasklet import Tasklet

DEVICE = {"kind": "line", "trigger": "level", "arrival": {"kind": "poisson", "rate": "20k/s"}}

RX_PACKET_NS = 2_000  # protocol work per packet, in the tasklet

rx_ring = Shared("rx_ring")
ring_lock = SpinLock("ring_lock")
backlog = [0]


def rx_work(ctx: HandlerContext) -> None:
    with ctx.spin_lock_irqsave(ring_lock):
        rx_ring.touch(ctx)
        packets, backlog[0] = backlog[0], 0
    ctx.spend(RX_PACKET_NS * packets)


rx_tasklet = Tasklet(rx_work, "rx_work")


def handler(ctx: HandlerContext) -> int:
    dev = ctx.device
    if not dev.status:  # not ours: another device on the shared line, or a glitch
        return IRQ_NONE
    ctx.spend(600)  # read and acknowledge the interrupt status register
    packets = dev.service(dev.status)  # clear every pending request: the line drops
    with ctx.spin_lock(ring_lock):
        rx_ring.touch(ctx)
        backlog[0] += packets
    ctx.tasklet_schedule(rx_tasklet)
    return IRQ_HANDLED
