"""Spinlocks as a driver takes them (``include/linux/spinlock.h``).

Handler code runs without preemption between its ``ctx.spend`` calls, so a
lock here excludes nothing by itself: it records which locks the code holds,
and whether local interrupts were off (``spin_lock_irqsave``), for the race
checks over driver state shared between the top and the bottom half
(``irqlab.check.shared``).  The rule they check is the kernel's
(Documentation/kernel-hacking/locking.rst, "Locking Between Hard IRQ and
Softirqs/Tasklets"): state shared with a hard-IRQ handler is taken with
``spin_lock_irqsave`` outside it; a plain ``spin_lock`` there deadlocks when
the interrupt arrives on the same CPU while the lock is held.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext


class SpinLock:
    """``spinlock_t``: a name, and nothing else to simulate."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"SpinLock({self.name!r})"


class Held:
    """A ``with`` block holding ``lock`` in ``ctx`` (irqsave: interrupts off)."""

    __slots__ = ("ctx", "entry")

    def __init__(self, ctx: HandlerContext, lock: SpinLock, irqsave: bool) -> None:
        if not isinstance(lock, SpinLock):
            raise TypeError(f"expected a SpinLock, got {lock!r}")
        self.ctx = ctx
        self.entry = (lock, irqsave)

    def __enter__(self) -> SpinLock:
        self.ctx.locks.append(self.entry)
        return self.entry[0]

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.ctx.locks.remove(self.entry)
