"""Stuck-interrupt detection, as ``kernel/irq/spurious.c`` ``note_interrupt``.

Counting starts at the first unhandled interrupt.  Every 100,000 interrupts
the window closes: more than 99,900 unhandled in it and the line is declared
stuck: ``irq N: nobody cared (try booting with the "irqpoll" option)``, the
handler list, ``Disabling IRQ #N``; the line is disabled (IRQS_SPURIOUS_DISABLED,
depth++) and a timer polls the shared handlers of disabled lines every HZ/10
(``poll_spurious_irqs``).  The unhandled count restarts at 1 when more than
HZ/10 jiffies have passed since the previous unhandled interrupt, so a slow
trickle never trips the detector.

A bogus return value (above IRQ_HANDLED | IRQ_WAKE_THREAD) is reported
(``report_bad_irq``: at most 100 times, ``static int count = 100``) and not
counted.  Interrupts handled by the poller (IRQS_POLL_INPROGRESS) are not
counted.  When only IRQ_WAKE_THREAD came back, the verdict is deferred to the
next interrupt: handled if a threaded handler returned IRQ_HANDLED since
(``desc.threads_handled`` changed; bit 31 of ``threads_handled_last`` is
SPURIOUS_DEFERRED).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final

from irqlab.kernel.action import handler_symbol
from irqlab.kernel.flags import (
    IRQ_HANDLED,
    IRQ_NONE,
    IRQ_WAKE_THREAD,
    IRQD_IRQ_DISABLED,
    IRQF_SHARED,
    IRQF_TIMER_BIT,
    IRQS_POLL_INPROGRESS,
    IRQS_SPURIOUS_DISABLED,
)

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel

WINDOW: Final = 100_000  # spurious.c: irq_count < 100000
STUCK_THRESHOLD: Final = 99_900  # spurious.c: irqs_unhandled > 99900
MAX_REPORTS: Final = 100  # report_bad_irq: static int count = 100
SPURIOUS_DEFERRED: Final = 0x80000000  # spurious.c


def note_interrupt(k: Kernel, desc: IrqDesc, action_ret: int) -> None:
    if desc.istate & IRQS_POLL_INPROGRESS:
        return
    if action_ret > IRQ_HANDLED | IRQ_WAKE_THREAD:  # bad_action_ret()
        if k.spurious_reports < MAX_REPORTS:
            k.spurious_reports += 1
            for line in report_lines(k, desc, action_ret):
                k.printk(line)
        return
    if action_ret & IRQ_WAKE_THREAD:
        if action_ret == IRQ_WAKE_THREAD:
            if not desc.threads_handled_last & SPURIOUS_DEFERRED:
                desc.threads_handled_last |= SPURIOUS_DEFERRED
                return
            handled = desc.threads_handled | SPURIOUS_DEFERRED
            if handled != desc.threads_handled_last:
                action_ret = IRQ_HANDLED
                desc.threads_handled_last = handled
            else:
                action_ret = IRQ_NONE
        else:
            desc.threads_handled_last &= ~SPURIOUS_DEFERRED
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
        # __report_bad_irq is called directly here: this report is not rate-limited.
        lines = report_lines(k, desc, action_ret)
        lines.append(f"Disabling IRQ #{desc.irq}")
        for line in lines:
            k.printk(line)
        desc.istate |= IRQS_SPURIOUS_DISABLED
        desc.depth += 1
        desc.state |= IRQD_IRQ_DISABLED  # irq_disable(): lazy, masked when it next fires
        k.warn("nobody-cared", desc.irq, "\n".join(lines))
        k.irqpoll.start()
    desc.irqs_unhandled = 0


def report_lines(k: Kernel, desc: IrqDesc, action_ret: int) -> list[str]:
    """``__report_bad_irq``: the message, then the handler list."""
    if action_ret > IRQ_HANDLED | IRQ_WAKE_THREAD:
        first = f"irq event {desc.irq}: bogus return value {action_ret:x}"
    else:
        first = f'irq {desc.irq}: nobody cared (try booting with the "irqpoll" option)'
    lines = [first, "handlers:"]
    for action in desc.action:
        sym = handler_symbol(action, thread=False)
        line = f"[<{_pointer(sym)}>] {sym}"
        if action.thread_fn is not None:
            tsym = handler_symbol(action, thread=True)
            line += f" threaded [<{_pointer(tsym)}>] {tsym}"
        lines.append(line)
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
        k.poll_irq(desc)
    return any_disabled


class PollTimer:
    """The ``poll_spurious_irq_timer``: armed when a line is disabled as stuck,
    it runs every POLL_SPURIOUS_IRQ_INTERVAL (HZ/10 jiffies) while some line
    is still disabled."""

    __slots__ = ("armed", "k")

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.armed = False

    def start(self) -> None:
        if not self.armed:
            self.armed = True
            self.k.engine.after(self._interval_ns(), self._poll)

    def _interval_ns(self) -> int:
        hz = self.k.hz
        return (hz // 10) * 1_000_000_000 // hz

    def _poll(self, _: object) -> None:
        if poll_spurious_irqs(self.k):
            self.k.engine.after(self._interval_ns(), self._poll)
        else:
            self.armed = False
