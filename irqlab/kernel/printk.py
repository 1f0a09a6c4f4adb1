"""The kernel log and the warnings a run reports (``kernel/printk``).

``printk`` appends to a bounded ring (``log_buf``); ``warn`` records a
warning for the report, keeping at most WARN_BURST of one kind for one IRQ
(or the first, with ``once``) and counting the rest, as printk's rate limit
does ("callbacks suppressed"), so memory stays bounded however long a run is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

WARN_BURST = 10  # like printk_ratelimit's burst: later ones are counted, not kept
LOG_LINES = 4096  # the kernel log is a ring buffer too (log_buf)


class KernelWarning:
    """Something the kernel layer warns about (kind, IRQ, time, message)."""

    __slots__ = ("irq", "kind", "message", "time_ns")

    def __init__(self, kind: str, irq: int | None, time_ns: int, message: str) -> None:
        self.kind = kind
        self.irq = irq
        self.time_ns = time_ns
        self.message = message


class KernelLog:
    """The log ring and the kept and suppressed warnings of one kernel."""

    __slots__ = ("_kept", "_now", "lines", "suppressed", "warnings")

    def __init__(self, now: Callable[[], int]) -> None:
        self._now = now
        self.lines: deque[tuple[int, str]] = deque(maxlen=LOG_LINES)
        self.warnings: list[KernelWarning] = []
        self._kept: dict[tuple[str, int | None], int] = {}
        #: (kind, irq) -> warnings past the burst, counted but not kept
        self.suppressed: dict[tuple[str, int | None], int] = {}

    def printk(self, message: str) -> None:
        self.lines.append((self._now(), message))

    def warn(self, kind: str, irq: int | None, message: str, once: bool = False,
             time_ns: int | None = None) -> None:
        key = (kind, irq)
        kept = self._kept.get(key, 0)
        if kept >= (1 if once else WARN_BURST):
            if not once:
                self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return
        self._kept[key] = kept + 1
        self.warnings.append(KernelWarning(kind, irq, self._now() if time_ns is None else time_ns,
                                           message))
