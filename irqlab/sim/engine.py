"""The event core: one heap of ``(time_ns, seq, callback, arg)`` tuples.

As in SimPy's core, a monotonically increasing sequence number breaks ties, so
events due at the same nanosecond run in the order they were scheduled and a
run is deterministic.  Unlike SimPy there are no process objects: callbacks
are plain callables taking one argument, which keeps the hot path at one heap
push and one pop per event.  Cancellation is the caller's business (a
generation number checked by the callback), which costs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

Callback = Callable[[Any], None]


class StopSimulation(Exception):
    """Raised by a callback to end the run at once (e.g. a kernel BUG)."""


class Engine:
    """Integer-nanosecond discrete-event scheduler."""

    __slots__ = ("_seq", "now", "processed", "queue", "stop_reason")

    def __init__(self) -> None:
        self.now = 0
        self.queue: list[tuple[int, int, Callback, Any]] = []
        self._seq = 0
        self.processed = 0
        self.stop_reason: str | None = None

    def at(self, time_ns: int, callback: Callback, arg: Any = None) -> None:
        """Run ``callback(arg)`` at absolute time ``time_ns`` (>= now)."""
        self._seq = seq = self._seq + 1
        heappush(self.queue, (time_ns, seq, callback, arg))

    def after(self, delay_ns: int, callback: Callback, arg: Any = None) -> None:
        """Run ``callback(arg)`` ``delay_ns`` from now."""
        self._seq = seq = self._seq + 1
        heappush(self.queue, (self.now + delay_ns, seq, callback, arg))

    def run(
        self,
        until_ns: int | None = None,
        max_events: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Process events until ``until_ns`` (inclusive), ``max_events`` or an empty
        queue; returns the number of events processed.  ``progress(now, n)`` is
        called every 65,536 events."""
        queue = self.queue
        pop = heappop
        end = until_ns if until_ns is not None else (1 << 63)
        limit = max_events if max_events is not None else (1 << 63)
        n = 0
        try:
            while queue and n < limit:
                if queue[0][0] > end:
                    break
                self.now, _, callback, arg = pop(queue)
                callback(arg)
                n += 1
                if progress is not None and not n & 0xFFFF:
                    progress(self.now, n)
            if until_ns is not None and n < limit and self.now < until_ns:
                self.now = until_ns
        except StopSimulation as stop:
            self.stop_reason = str(stop) or "stopped"
            n += 1
        self.processed += n
        return n
