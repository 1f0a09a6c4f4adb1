"""An example driver top half for `irqlab run examples/my-driver.toml --allow-code`.

A handler is a plain function of the handler context: it spends CPU time,
looks at its device, clears what it served, and defers the rest.  This one
also makes the classic mistake of taking a mutex in hard-interrupt context,
which irqlab records as "BUG: scheduling while atomic" with this file and line.
"""

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
from irqlab.kernel.softirq import NET_RX


def rx_interrupt(ctx: HandlerContext) -> int:
    dev = ctx.device
    if not dev.status:  # not ours (a shared line) or already served
        return IRQ_NONE
    ctx.spend(800)  # read the descriptor ring: 800 ns
    packets = dev.service(dev.status)  # clear every pending request
    ctx.k.raise_softirq(ctx.cpu, NET_RX, 1_500 * packets)  # protocol work later, in NET_RX
    if packets >= 2:
        ctx.mutex_lock()  # BUG: may sleep, in hard-IRQ context
    return IRQ_HANDLED
