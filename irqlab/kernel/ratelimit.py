"""Message rate limiting (``lib/ratelimit.c`` ``___ratelimit``).

A state allows ``burst`` messages per ``interval``; later ones are counted as
missed, and when a new interval starts after misses the kernel prints
``<func>: N callbacks suppressed``.  The interval is measured in jiffies and a
new one starts only when strictly past the old (``time_is_before_jiffies``).
A ``static DEFINE_RATELIMIT_STATE`` lives as long as the kernel: here, one
state per function name per :class:`~irqlab.kernel.kernel.Kernel`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel

DEFAULT_RATELIMIT_INTERVAL_S = 5  # DEFAULT_RATELIMIT_INTERVAL = 5 * HZ
DEFAULT_RATELIMIT_BURST = 10


class Ratelimit:
    """``struct ratelimit_state`` (lib/ratelimit.c ``___ratelimit``)."""

    __slots__ = ("begin", "burst", "func", "interval_s", "missed", "printed")

    def __init__(self, func: str, interval_s: int = DEFAULT_RATELIMIT_INTERVAL_S,
                 burst: int = DEFAULT_RATELIMIT_BURST) -> None:
        self.func = func
        self.interval_s = interval_s
        self.burst = burst
        self.begin = -1  # jiffies; -1: never started
        self.printed = 0
        self.missed = 0

    def ok(self, k: Kernel) -> bool:
        now = k.jiffies()
        if self.begin < 0 or now > self.begin + self.interval_s * k.hz:  # time_is_before_jiffies
            if self.missed:
                k.printk(f"{self.func}: {self.missed} callbacks suppressed")
            self.begin, self.printed, self.missed = now, 0, 0
        if self.printed < self.burst:
            self.printed += 1
            return True
        self.missed += 1
        return False


def ratelimit_state(k: Kernel, func: str) -> Ratelimit:
    """The static ratelimit state of ``func`` in kernel ``k``."""
    rs = k.ratelimits.get(func)
    if rs is None:
        rs = k.ratelimits[func] = Ratelimit(func)
    return rs
