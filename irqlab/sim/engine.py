"""The event core: one heap of events ordered by ``(time_ns, seq)``.

As in SimPy's core, a monotonically increasing sequence number breaks ties, so
events due at the same nanosecond run in the order they were scheduled and a
run is deterministic.  Unlike SimPy there are no process objects: a callback
is a plain callable taking one argument, or, for the hottest callers (a
device's arrivals, a bare-metal core's completions, a kernel CPU's segments),
a ``Timer`` whose ``fire`` compiled code calls natively where a callable is
one generic call per event.  Cancellation is the caller's business (a
generation number checked by the callback), which costs nothing here.

The heap is a binary heap (as ``heapq``'s) of slotted ``Scheduled`` records, kept
here rather than as tuples in ``heapq`` so that, compiled, a comparison is two
integer compares instead of a tuple comparison; the records of run events are
reused (a linked free list: no list to grow and shrink), so an event
allocates nothing.  The event being run stays at the root until its callback
returns: the first event that callback schedules takes its record and place
and sifts down from there (``heapq.heapreplace``), one sift instead of a pop
and a push; the order of events is the same, as the heap's order is total.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

from mypy_extensions import trait

Callback = Callable[[Any], None]


@trait
class Timer:
    """What ``Engine.at_timer`` calls back: ``fire(arg)``."""

    __slots__ = ()

    def fire(self, arg: Any) -> None:
        raise NotImplementedError


@final
class Scheduled:
    """One scheduled call, ``callback(arg)`` or ``timer.fire(arg)`` (the other
    is None), at ``time`` ns, ``seq`` its order among events scheduled for the
    same time.  Out of the heap, ``next`` links it into the engine's list of
    records free for reuse."""

    __slots__ = ("arg", "callback", "next", "seq", "time", "timer")

    def __init__(self, time: int, seq: int, callback: Callback | None, timer: Timer | None,
                 arg: Any) -> None:
        self.time = time
        self.seq = seq
        self.callback = callback
        self.timer = timer
        self.arg = arg
        self.next: Scheduled | None = None


class StopSimulation(Exception):
    """Raised by a callback to end the run at once (e.g. a kernel BUG)."""


@final
class Engine:
    """Integer-nanosecond discrete-event scheduler."""

    __slots__ = ("_free", "_ran", "_seq", "now", "processed", "queue", "stop_reason")

    def __init__(self) -> None:
        self.now = 0
        self.queue: list[Scheduled] = []  # a binary heap: queue[0] is the next event
        self._free: Scheduled | None = None  # records of run events, for reuse (linked by ``next``)
        #: the event whose callback is running, still at the root, until one replaces it
        self._ran: Scheduled | None = None
        self._seq = 0
        self.processed = 0
        self.stop_reason: str | None = None

    def at(self, time_ns: int, callback: Callback, arg: Any = None) -> None:
        """Run ``callback(arg)`` at absolute time ``time_ns`` (>= now)."""
        self._schedule(time_ns, callback, None, arg)

    def at_timer(self, time_ns: int, timer: Timer, arg: Any = None) -> None:
        """Run ``timer.fire(arg)`` at absolute time ``time_ns`` (>= now)."""
        self._schedule(time_ns, None, timer, arg)

    def _schedule(self, time_ns: int, callback: Callback | None, timer: Timer | None,
                  arg: Any) -> None:
        self._seq = seq = self._seq + 1
        ev = self._ran
        if ev is not None:
            # The running event's record, at the root: reuse it in place.
            self._ran = None
            ev.time = time_ns
            ev.seq = seq
            ev.callback = callback
            ev.timer = timer
            ev.arg = arg
            self._sift_down(ev, len(self.queue))
            return
        ev = self._free
        if ev is not None:
            self._free = ev.next
            ev.time = time_ns
            ev.seq = seq
            ev.callback = callback
            ev.timer = timer
            ev.arg = arg
        else:
            ev = Scheduled(time_ns, seq, callback, timer, arg)
        queue = self.queue
        queue.append(ev)
        # Sift up; the newest event has the highest seq, so only time can put it first.
        pos = len(queue) - 1
        while pos:
            up = (pos - 1) >> 1
            parent = queue[up]
            if time_ns >= parent.time:
                break
            queue[pos] = parent
            pos = up
        queue[pos] = ev

    def after(self, delay_ns: int, callback: Callback, arg: Any = None) -> None:
        """Run ``callback(arg)`` ``delay_ns`` from now."""
        self.at(self.now + delay_ns, callback, arg)

    def _sift_down(self, ev: Scheduled, n: int) -> None:
        """Place ``ev`` from the root down into the heap's first ``n`` slots."""
        queue = self.queue
        t, seq = ev.time, ev.seq
        pos = 0
        child = 1
        while child < n:
            c = queue[child]
            if child + 1 < n:
                r = queue[child + 1]
                if r.time < c.time or (r.time == c.time and r.seq < c.seq):
                    child += 1
                    c = r
            if t < c.time or (t == c.time and seq < c.seq):
                break
            queue[pos] = c
            pos = child
            child = 2 * pos + 1
        queue[pos] = ev

    def _drop_ran(self) -> None:
        """The running event scheduled nothing: take it off the root, free its record."""
        ev = self._ran
        if ev is None:
            return
        self._ran = None
        queue = self.queue
        last = queue.pop()
        if queue:
            self._sift_down(last, len(queue))
        ev.next = self._free
        self._free = ev

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
        # Flags and small ints, not an unbounded default: compiled, a bound of
        # 1 << 63 is a boxed int, compared generically at every event.
        timed = until_ns is not None
        end = until_ns if until_ns is not None else 0
        bounded = max_events is not None
        limit = max_events if max_events is not None else 0
        n = 0
        self._drop_ran()  # a run started from a callback: that event has run
        try:
            while queue and (not bounded or n < limit):
                ev = queue[0]
                if timed and ev.time > end:
                    break
                self.now = ev.time
                callback, timer, arg = ev.callback, ev.timer, ev.arg
                ev.arg = None
                self._ran = ev
                if timer is not None:
                    timer.fire(arg)
                elif callback is not None:
                    callback(arg)
                self._drop_ran()
                n += 1
                if progress is not None and not n & 0xFFFF:
                    progress(self.now, n)
            if until_ns is not None and (not bounded or n < limit) and self.now < until_ns:
                self.now = until_ns
        except StopSimulation as stop:
            self.stop_reason = str(stop) or "stopped"
            n += 1
        finally:
            self._drop_ran()
        self.processed += n
        return n
