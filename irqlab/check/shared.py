"""Driver state shared between the top half and its bottom halves, and the
lockset rule over its accesses (Savage et al., "Eraser", ACM TOCS 1997; the
kernel's rule in Documentation/kernel-hacking/locking.rst).

A driver declares ``ring = Shared("rx_ring")`` at module level and calls
``ring.touch(ctx)`` where its code reads or writes that state.  Each access is
recorded with its context (hard IRQ, softirq/tasklet, process), CPU, the
locks ``ctx`` holds and the call site.  A race is state touched from two
contexts with no lock common to every access; a bottom half that takes the
lock without ``spin_lock_irqsave`` while the top half also takes it deadlocks
when the interrupt arrives on its CPU.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext

HARDIRQ, SOFTIRQ, PROCESS = "hard-IRQ", "softirq", "process"


@dataclass(frozen=True)
class Access:
    """One kind of access: the same context, CPU, locks and site."""

    context: str
    cpu: int
    locks: frozenset[str]
    irqsave: bool  # every lock held was taken with interrupts off
    site: str


def context_of(ctx: HandlerContext) -> str:
    if ctx.k.cpus[ctx.cpu].in_irq:
        return HARDIRQ
    return SOFTIRQ if ctx.atomic else PROCESS


class Shared:
    """A piece of driver state; ``touch(ctx)`` records an access."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.accesses: dict[Access, int] = {}

    def touch(self, ctx: HandlerContext) -> None:
        frame = sys._getframe(1)
        site = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        locks = frozenset(lock.name for lock, _ in ctx.locks)
        irqsave = bool(ctx.locks) and all(save for _, save in ctx.locks)
        key = Access(context_of(ctx), ctx.cpu, locks, irqsave, site)
        self.accesses[key] = self.accesses.get(key, 0) + 1

    def reset(self) -> None:
        self.accesses.clear()

    def problems(self) -> list[str]:
        """What the lockset rule finds, one line each (empty: none)."""
        seen = sorted(self.accesses, key=lambda a: (a.context, a.site, a.cpu))
        contexts = {a.context for a in seen}
        if len(contexts) < 2 and len({a.cpu for a in seen}) < 2:
            return []
        out: list[str] = []
        common = frozenset.intersection(*(a.locks for a in seen))
        if not common:
            bare = next((a for a in seen if not a.locks), seen[0])
            other = next((a for a in seen if a.context != bare.context or a.cpu != bare.cpu), seen[-1])
            out.append(f"race on {self.name}: {bare.context} access on CPU{bare.cpu} at "
                       f"{bare.site} holds {_locks(bare)}, {other.context} access on "
                       f"CPU{other.cpu} at {other.site} holds {_locks(other)}: no lock in common")
        if HARDIRQ in contexts:
            for a in seen:
                if a.context != HARDIRQ and a.locks & common and not a.irqsave:
                    out.append(f"deadlock on {self.name}: {a.context} code at {a.site} takes "
                               f"{', '.join(sorted(a.locks & common))} without spin_lock_irqsave; "
                               "the top half spins on it if its interrupt arrives on that CPU")
                    break
        return out


def _locks(a: Access) -> str:
    return "no lock" if not a.locks else "+".join(sorted(a.locks))
