"""Stuck-interrupt detection, as ``kernel/irq/spurious.c`` ``note_interrupt``.

Counting starts at the first unhandled interrupt.  Every 100,000 interrupts
the window closes: more than 99,900 unhandled in it and the line is declared
stuck: ``irq N: nobody cared (try booting with the "irqpoll" option)``, the
handler list, ``Disabling IRQ #N``; the line is disabled (IRQS_SPURIOUS_DISABLED,
depth++) and a timer polls the shared handlers of disabled lines every HZ/10
(``poll_spurious_irqs``).  The unhandled count restarts at 1 when more than
HZ/10 jiffies have passed since the previous unhandled interrupt, so a slow
trickle never trips the detector.  At most 100 reports are printed
(``__report_bad_irq``: ``static int count = 100``).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from irqlab.kernel.flags import (
    IRQ_HANDLED,
    IRQ_NONE,
    IRQ_WAKE_THREAD,
    IRQD_IRQ_DISABLED,
    IRQF_SHARED,
    IRQF_TIMER_BIT,
    IRQS_SPURIOUS_DISABLED,
)

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel

WINDOW = 100_000  # spurious.c: irq_count < 100000
STUCK_THRESHOLD = 99_900  # spurious.c: irqs_unhandled > 99900
MAX_REPORTS = 100  # __report_bad_irq: static int count = 100


def note_interrupt(k: Kernel, desc: IrqDesc, action_ret: int) -> None:
    if action_ret & ~(IRQ_HANDLED | IRQ_WAKE_THREAD):
        k.printk(f"irq event {desc.irq}: bogus return value {action_ret:x}")
    if action_ret == IRQ_NONE:
        jiffies = k.jiffies()
        if jiffies > desc.last_unhandled + k.hz // 10:  # time_after(jiffies, last + HZ/10)
            desc.irqs_unhandled = 1
        else:
            desc.irqs_unhandled += 1
        desc.last_unhandled = jiffies
    if not desc.irqs_unhandled:
        return
    desc.irq_count += 1
    if desc.irq_count < WINDOW:
        return
    desc.irq_count = 0
    if desc.irqs_unhandled > STUCK_THRESHOLD:
        lines = report_bad_irq(k, desc)
        lines.append(f"Disabling IRQ #{desc.irq}")
        k.printk(lines[-1])
        desc.istate |= IRQS_SPURIOUS_DISABLED
        desc.depth += 1
        desc.state |= IRQD_IRQ_DISABLED  # irq_disable(): lazy, masked when it next fires
        k.warn("nobody-cared", desc.irq, "\n".join(lines))
        k.start_spurious_poll()
    desc.irqs_unhandled = 0


def report_bad_irq(k: Kernel, desc: IrqDesc) -> list[str]:
    """``__report_bad_irq``: the message, then the handler list (printed at
    most MAX_REPORTS times); returns the lines."""
    lines = [f'irq {desc.irq}: nobody cared (try booting with the "irqpoll" option)', "handlers:"]
    for action in desc.action:
        sym = k.handler_symbol(action, thread=False)
        line = f"[<{_pointer(sym)}>] {sym}"
        if action.thread_fn is not None:
            tsym = k.handler_symbol(action, thread=True)
            line += f" threaded [<{_pointer(tsym)}>] {tsym}"
        lines.append(line)
    if k.spurious_reports < MAX_REPORTS:
        k.spurious_reports += 1
        for line in lines:
            k.printk(line)
    return lines


def _pointer(symbol: str) -> str:
    """A stable stand-in for the hashed pointer ``%p`` prints (so reports are
    reproducible from the seed)."""
    return f"{zlib.crc32(symbol.encode()):016x}"


def poll_spurious_irqs(k: Kernel) -> bool:
    """One run of the HZ/10 poll timer; True while some line is still disabled.

    ``try_one_irq`` only polls shared, non-timer lines (the handlers are
    called with the line still disabled)."""
    any_disabled = False
    for desc in list(k.descs.values()):
        if not desc.istate & IRQS_SPURIOUS_DISABLED:
            continue
        any_disabled = True
        first = desc.action[0] if desc.action else None
        if first is None or not first.flags & IRQF_SHARED or first.flags & IRQF_TIMER_BIT:
            continue
        k.poll_actions(desc)
    return any_disabled
