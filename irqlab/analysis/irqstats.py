"""Streaming statistics over the shared event stream (:mod:`irqlab.events`).

One :class:`IrqStats` consumes every event of a simulated run or of a parsed
trace, in time order, and keeps only counters and fixed-size histograms.

Rules, following the kernel paths the tracepoints sit on:

* Label of an event: ``str(irq)`` for ``IRQ_*``; ``VECTOR_ROWS.get(name, name)``
  (e.g. ``LOC``) for ``VECTOR_*`` -- the ``/proc/interrupts`` row it counts in.
* Shared lines: ``__handle_irq_event_percpu`` (kernel/irq/handle.c) calls every
  action of the line in turn, each between its own ``irq_handler_entry`` and
  ``irq_handler_exit``.  One interrupt is therefore counted once, at the entry of
  its first action.  An ``IRQ_ENTRY`` continues the current interrupt (and is not
  counted) when the same IRQ has an entry open on that CPU, or when the previous
  hard-IRQ event on that CPU was the exit of an action of the same IRQ and this
  action has not yet run in that interrupt.  A softirq or vector entry, or an
  entry of another IRQ, starts a new interrupt.
* ``handled``/``unhandled`` count interrupts, not actions: an interrupt is handled
  when any of its actions returned non-zero, as ``note_interrupt``
  (kernel/irq/spurious.c) sees the OR of the actions' returns.  A shared line
  whose second device is idle is therefore no storm suspect.
* ``handler_ns``: wall time entry->exit per action invocation (like bcc
  ``hardirqs``), including any interrupt nested in it.
* ``latency_ns``: ``IRQ_RAISE`` -> entry of the interrupt's first action.  The
  earliest pending raise is used; later raises of the same IRQ before that entry
  are coalesced (the line was already pending).  ``softirq_latency_ns`` likewise
  per (CPU, vector), the pending bit being cleared when the vector starts.
* ``end_to_end_ns``: device request -> bottom half done, per IRQ: from the
  ``IRQ_RAISE`` that ``latency_ns`` starts from to the ``softirq_exit`` of the
  run that served the last softirq vector its handlers raised (a vector raised
  while it already runs is served by its next run, as ``__do_softirq`` re-reads
  the pending mask).  Interrupts whose handlers raise no softirq have no bottom
  half and are not counted; traces without device requests (real captures) have
  none.
* ``hardirq_time_ns`` / ``softirq_time_ns``: time in hard-IRQ context (outermost
  entry to last exit) and in softirq context minus the hard IRQs nested in it,
  so no interval is counted twice.
* ``nested``: interrupts whose first entry came while another hard IRQ (or
  vector) was open on that CPU.
* DPCs (Windows' deferred procedure calls), per routine name: ``dpc_counts``
  per CPU, ``dpc_ns`` entry->exit wall time (as ETW's DPC event measures it,
  interrupts nested in it included), ``dpc_latency_ns`` from the queueing
  (``KeInsertQueueDpc``; a DPC already queued is not queued again) to the
  entry, and ``dpc_time_ns`` per CPU minus the hard IRQs nested in it.
* ``handler_classes`` (per IRQ label) and ``dpc_classes`` (per routine): how
  many runs fell in each of LatencyMon's execution-time classes
  (:data:`DURATION_CLASSES_NS`), counted exactly as they are recorded.
* The IRQ-thread, tasklet and work-item distributions come from
  :class:`irqlab.analysis.deferred.DeferredStats`, fed the scheduler,
  tasklet and workqueue events; its histograms are attributes here too.
* Incomplete input never raises: an exit without entry, an entry whose exit was
  lost, a negative CPU, an unknown kind or vector, or a duration that comes out
  negative (events out of order) is counted in ``unmatched``.  CPUs above the
  announced count extend the per-CPU lists.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import Final

from irqlab.analysis.deferred import DeferredStats
from irqlab.analysis.histogram import Histogram
from irqlab.events import (
    DPC_ENTRY,
    DPC_EXIT,
    DPC_QUEUE,
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SCHED_WAKEUP,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_NAMES,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    VECTOR_ROWS,
    Event,
)

_NR_SOFTIRQS: Final = len(SOFTIRQ_NAMES)

DURATION_CLASSES_NS = (250_000, 500_000, 1_000_000, 2_000_000, 4_000_000)
"""Upper bounds (exclusive) of LatencyMon's ISR and DPC execution-time classes:
<250, 250-500, 500-999, 1000-1999, 2000-3999 and >=4000 us, the lines "ISR count
(execution time <250 us)" ... "DPC count (execution time >=4000 us)" of the
REPORTED ISRs / REPORTED DPCs sections of its report (Resplendence LatencyMon;
users paste it in forum threads, e.g. musiker-board.de/posts/8991918)."""
_LONG_NS: Final = DURATION_CLASSES_NS[0]
_NO_TS: Final = 1 << 63
_NO_HIST: Final = Histogram()  # a placeholder, never recorded into


class _Line:
    """An IRQ's running state: its label, its ``/proc/interrupts`` row, handler
    names and histograms (the very objects :class:`IrqStats` publishes, cached
    here so an event costs one lookup), and its earliest pending raise."""

    __slots__ = ("e2e", "handler", "label", "latency", "names", "pending", "raised", "row")

    def __init__(self, label: str) -> None:
        self.label = label
        self.row: list[int] | None = None  # None until its first entry
        self.names: list[str] = []
        self.handler = _NO_HIST
        self.latency: Histogram | None = None
        self.e2e: Histogram | None = None
        self.raised = False  # a raise is pending since ``pending``
        self.pending = 0


class _Interrupt:
    """One interrupt on a line: the actions run so far, the OR of their returns,
    when the device requested it (-1: unknown), the softirq vectors it raised
    (a bit mask) and how many of them are not yet done."""

    __slots__ = ("actions", "bottom", "handled", "line", "raised", "vecs")

    def __init__(self, line: _Line, action: str, raised: int) -> None:
        self.line = line
        self.actions = [action]
        self.handled = -1  # -1: no action has returned yet; else 0 or 1
        self.raised = raised
        self.vecs = 0
        self.bottom = 0


class _Vector:
    """A vector's row label, its per-CPU counts and ``handler_ns`` histogram
    (the objects :class:`IrqStats` publishes), cached by vector name."""

    __slots__ = ("handler", "label", "row")

    def __init__(self, label: str, row: list[int], handler: Histogram) -> None:
        self.label = label
        self.row = row
        self.handler = handler


class _Open:
    """An open hard-IRQ or vector entry on a CPU: since when, its row label, its
    ``handler_ns`` histogram and its IRQ's interrupt (None for vectors).  A CPU's
    records are reused from one interrupt to the next (:meth:`IrqStats._push`)."""

    __slots__ = ("handler", "intr", "label", "ts")

    def __init__(self, ts: int, label: str, handler: Histogram, intr: _Interrupt | None) -> None:
        self.ts = ts
        self.label = label
        self.handler = handler
        self.intr = intr


class _Soft:
    """The softirq running on a CPU: since when, its vector (-1: none) and the
    CPU's hard-IRQ time when it started."""

    __slots__ = ("hard_before", "ts", "vec")

    def __init__(self) -> None:
        self.vec = -1
        self.ts = 0
        self.hard_before = 0


class IrqStats:
    """Per-IRQ, per-vector and per-CPU statistics of an event stream."""

    def __init__(self, cpus: int) -> None:
        if cpus < 1:
            raise ValueError(f"cpus must be >= 1, got {cpus}")
        self.cpus = cpus
        self.counts: dict[str, list[int]] = {}
        self.names: dict[str, list[str]] = {}
        self.handler_ns: dict[str, Histogram] = {}
        self.latency_ns: dict[str, Histogram] = {}
        self.softirq_counts: dict[str, list[int]] = {}
        self.softirq_ns: dict[str, Histogram] = {}
        self.softirq_latency_ns: dict[str, Histogram] = {}
        self.end_to_end_ns: dict[str, Histogram] = {}
        self.hardirq_time_ns: list[int] = [0] * cpus
        self.softirq_time_ns: list[int] = [0] * cpus
        self.dpc_counts: dict[str, list[int]] = {}
        self.dpc_ns: dict[str, Histogram] = {}
        self.dpc_latency_ns: dict[str, Histogram] = {}
        self.dpc_time_ns: list[int] = [0] * cpus
        self._long_handlers: dict[str, list[int]] = {}
        self._long_dpcs: dict[str, list[int]] = {}
        self.nested: dict[str, int] = {}
        self.handled: dict[str, int] = {}
        self.unhandled: dict[str, int] = {}
        self.unmatched = 0
        self.deferred = d = DeferredStats()
        self.irqthread_latency_ns = d.irqthread_latency_ns
        self.irqthread_ns = d.irqthread_ns
        self.tasklet_ns = d.tasklet_ns
        self.work_ns = d.work_ns
        self._first = _NO_TS
        self._last = -1
        self._lines: dict[int, _Line] = {}
        self._vectors: dict[str, _Vector] = {}
        # Per-CPU state.  _hard: open hard-IRQ/vector entries, innermost last:
        # the first _depth records of the list (the others are kept for reuse).
        self._hard: list[list[_Open]] = [[] for _ in range(cpus)]
        self._depth: list[int] = [0] * cpus
        self._hard_since: list[int] = [0] * cpus
        self._chain: list[_Interrupt | None] = [None] * cpus
        self._soft: list[_Soft] = [_Soft() for _ in range(cpus)]
        self._soft_pending: list[list[int]] = [[-1] * _NR_SOFTIRQS for _ in range(cpus)]
        # interrupts waiting for the next run of a softirq vector, and those the
        # running one serves: per CPU, per vector
        self._bh_waiting: list[list[list[_Interrupt]]] = [
            [[] for _ in range(_NR_SOFTIRQS)] for _ in range(cpus)]
        self._bh_serving: list[list[_Interrupt]] = [[] for _ in range(cpus)]
        # per softirq vector: its row of softirq_counts, its softirq_ns and
        # softirq_latency_ns, once seen
        self._soft_rows: list[list[int] | None] = [None] * _NR_SOFTIRQS
        self._soft_ns: list[Histogram] = [_NO_HIST] * _NR_SOFTIRQS
        self._soft_latency: list[Histogram | None] = [None] * _NR_SOFTIRQS
        # DPCs: when each queued one was queued; the running one per CPU as
        # (ts, name, hardirq_time_ns at entry)
        self._dpc_queued: dict[str, int] = {}
        self._dpc: list[tuple[int, str, int] | None] = [None] * cpus

    # -- intake ---------------------------------------------------------------

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        """Account one event (fields as :class:`irqlab.events.Event`)."""
        if ts_ns > self._last:
            self._last = ts_ns
        if ts_ns < self._first:
            self._first = ts_ns
        if kind == IRQ_RAISE:
            line = self._line(irq)
            if not line.raised:
                line.raised = True
                line.pending = ts_ns
            return
        if not 0 <= cpu < self.cpus:
            if cpu < 0:
                self.unmatched += 1
                return
            self._add_cpus(cpu + 1)
        if kind == IRQ_ENTRY:
            self._irq_entry(ts_ns, cpu, irq, name)
        elif kind == IRQ_EXIT:
            self._irq_exit(ts_ns, cpu, irq, value)
        elif kind == SOFTIRQ_RAISE:
            self._softirq_raise(ts_ns, cpu, value)
        elif kind == SOFTIRQ_ENTRY:
            self._softirq_entry(ts_ns, cpu, value)
        elif kind == SOFTIRQ_EXIT:
            self._softirq_exit(ts_ns, cpu, value)
        elif kind == VECTOR_ENTRY:
            self._vector_entry(ts_ns, cpu, name)
        elif kind == VECTOR_EXIT:
            self._hard_exit(ts_ns, cpu, VECTOR_ROWS.get(name, name))
        elif kind == DPC_QUEUE:
            self._dpc_queued.setdefault(name, ts_ns)
        elif kind == DPC_ENTRY:
            self._dpc_entry(ts_ns, cpu, name)
        elif kind == DPC_EXIT:
            self._dpc_exit(ts_ns, cpu, name)
        elif kind < SCHED_WAKEUP or not self.deferred.feed(ts_ns, cpu, kind, irq, value, name):
            self.unmatched += 1

    def feed_events(self, events: Iterable[Event]) -> None:
        """Feed every event of ``events`` in order."""
        for ts_ns, cpu, kind, irq, value, name in events:
            self.feed(ts_ns, cpu, kind, irq, value, name)

    def feed_columns(self, ts_ns: list[int], cpu: list[int], kind: list[int], irq: list[int],
                     value: list[int], name: list[str]) -> None:
        """Feed events given as columns of one length (as the trace readers give
        them), in order."""
        # indexed: mypyc unboxes each item once, where a zip boxes the ints again;
        # the collector off: a chunk's records form no cycles, and would trigger
        # collections that scan every live object for none
        collecting = gc.isenabled()
        gc.disable()
        try:
            for j, ts in enumerate(ts_ns):
                self.feed(ts, cpu[j], kind[j], irq[j], value[j], name[j])
        finally:
            if collecting:
                gc.enable()

    # -- hard IRQs ------------------------------------------------------------

    def _line(self, irq: int) -> _Line:
        line = self._lines.get(irq)
        if line is None:
            line = self._lines[irq] = _Line(str(irq))
        return line

    def _row(self, label: str, action: str) -> list[int]:
        """Per-CPU counts of ``label``, created on first sight; notes the action name."""
        row = self.counts.get(label)
        if row is None:
            row = self.counts[label] = [0] * self.cpus
            self.names[label] = []
            self.handler_ns[label] = Histogram()
        names = self.names[label]
        if action not in names:
            names.append(action)
        return row

    def _irq_entry(self, ts: int, cpu: int, irq: int, action: str) -> None:
        line = self._line(irq)
        label = line.label
        row = line.row
        if row is None or action not in line.names:
            row = line.row = self._row(label, action)
            line.names = self.names[label]
            line.handler = self.handler_ns[label]
        stack = self._hard[cpu]
        depth = self._depth[cpu]
        intr = self._chain[cpu]
        if depth and (intr is None or intr.line is not line or action in intr.actions):
            for k in range(depth):
                e = stack[k]
                if e.label == label:
                    intr = e.intr
                    break
        if intr is not None and intr.line is line and action not in intr.actions:
            intr.actions.append(action)  # a further action of the same interrupt
        else:
            raised = -1
            if line.raised:
                line.raised = False
                raised = line.pending
            intr = _Interrupt(line, action, raised)
            # not ``+=``: mypyc compiles an item's augmented assignment as a generic add
            row[cpu] = row[cpu] + 1
            if depth:
                self.nested[label] = self.nested.get(label, 0) + 1
            if raised >= 0:
                line.latency = self._latency(line.latency, self.latency_ns, label, ts - raised)
        self._chain[cpu] = intr
        if not depth:
            self._hard_since[cpu] = ts
        self._push(cpu, ts, label, line.handler, intr)

    def _irq_exit(self, ts: int, cpu: int, irq: int, ret: int) -> None:
        intr = self._hard_exit(ts, cpu, self._line(irq).label)
        if intr is None:
            return
        label = intr.line.label
        if intr.handled < 0:  # first return: decides until another action handles it
            intr.handled = 1 if ret else 0
            book = self.handled if ret else self.unhandled
            book[label] = book.get(label, 0) + 1
        elif ret and not intr.handled:
            intr.handled = 1
            self.unhandled[label] -= 1
            self.handled[label] = self.handled.get(label, 0) + 1
        self._chain[cpu] = intr

    def _vector_entry(self, ts: int, cpu: int, name: str) -> None:
        vec = self._vectors.get(name)
        if vec is None:
            label = VECTOR_ROWS.get(name, name)
            row = self._row(label, name)
            vec = self._vectors[name] = _Vector(label, row, self.handler_ns[label])
        label = vec.label
        row = vec.row
        row[cpu] = row[cpu] + 1
        if self._depth[cpu]:
            self.nested[label] = self.nested.get(label, 0) + 1
        else:
            self._hard_since[cpu] = ts
        self._chain[cpu] = None
        self._push(cpu, ts, label, vec.handler, None)

    def _push(self, cpu: int, ts: int, label: str, handler: Histogram,
              intr: _Interrupt | None) -> None:
        """Open a hard-IRQ or vector entry on ``cpu``, in a record freed by an
        earlier exit when there is one."""
        stack = self._hard[cpu]
        depth = self._depth[cpu]
        if depth < len(stack):
            e = stack[depth]
            e.ts = ts
            e.label = label
            e.handler = handler
            e.intr = intr
        else:
            stack.append(_Open(ts, label, handler, intr))
        self._depth[cpu] = depth + 1

    def _hard_exit(self, ts: int, cpu: int, label: str) -> _Interrupt | None:
        """Close the innermost open entry of ``label`` on ``cpu``; returns its
        interrupt (None for vectors, or when there was no matching entry)."""
        stack = self._hard[cpu]
        top = self._depth[cpu] - 1
        depth = top
        while depth >= 0 and stack[depth].label != label:
            depth -= 1
        if depth < 0:
            self.unmatched += 1
            return None
        entry = stack[depth]
        if depth < top:
            self.unmatched += top - depth  # entries above it lost their exit
        self._depth[cpu] = depth
        intr = entry.intr
        if ts < entry.ts:
            self.unmatched += 1
            return intr
        took = ts - entry.ts
        entry.handler.record(took)
        if took >= _LONG_NS:
            _long(self._long_handlers, label, took)
        if not depth:
            hard = self.hardirq_time_ns
            hard[cpu] = hard[cpu] + ts - self._hard_since[cpu]
        return intr

    def _latency(self, hist: Histogram | None, hists: dict[str, Histogram], key: str,
                 ns: int) -> Histogram | None:
        """Record a latency in ``hists[key]`` (created on first use; ``hist``
        when the caller has it) and return that histogram for the caller to
        keep; a negative latency (events out of order) is unmatched."""
        if ns < 0:
            self.unmatched += 1
            return hist
        if hist is None:
            hist = hists.get(key)
            if hist is None:
                hist = hists[key] = Histogram()
        hist.record(ns)
        return hist

    # -- softirqs -------------------------------------------------------------

    def _softirq_raise(self, ts: int, cpu: int, vec: int) -> None:
        if not 0 <= vec < _NR_SOFTIRQS:
            self.unmatched += 1
            return
        pending = self._soft_pending[cpu]
        if pending[vec] < 0:
            pending[vec] = ts
        depth = self._depth[cpu]
        if not depth:
            return
        intr = self._hard[cpu][depth - 1].intr
        if intr is not None and intr.raised >= 0 and not intr.vecs >> vec & 1:
            intr.vecs |= 1 << vec
            intr.bottom += 1
            self._bh_waiting[cpu][vec].append(intr)

    def _softirq_entry(self, ts: int, cpu: int, vec: int) -> None:
        if not 0 <= vec < _NR_SOFTIRQS:
            self.unmatched += 1
            return
        soft = self._soft[cpu]
        if soft.vec >= 0:
            self.unmatched += 1  # the previous one lost its exit
        soft.vec = vec
        soft.ts = ts
        soft.hard_before = self.hardirq_time_ns[cpu]
        self._chain[cpu] = None
        row = self._soft_rows[vec]
        if row is None:
            name = SOFTIRQ_NAMES[vec]
            row = self._soft_rows[vec] = self.softirq_counts[name] = [0] * self.cpus
            self._soft_ns[vec] = self.softirq_ns[name] = Histogram()
        row[cpu] = row[cpu] + 1
        pending = self._soft_pending[cpu]
        raised = pending[vec]
        if raised >= 0:
            pending[vec] = -1
            self._soft_latency[vec] = self._latency(
                self._soft_latency[vec], self.softirq_latency_ns, SOFTIRQ_NAMES[vec], ts - raised)
        # raises from now on wait for the next run; the served list is reused
        waiting = self._bh_waiting[cpu]
        serving = self._bh_serving[cpu]
        serving.clear()
        self._bh_serving[cpu] = waiting[vec]
        waiting[vec] = serving

    def _softirq_exit(self, ts: int, cpu: int, vec: int) -> None:
        soft = self._soft[cpu]
        if soft.vec < 0 or soft.vec != vec:
            self.unmatched += 1
            return
        soft.vec = -1
        if ts < soft.ts:
            self.unmatched += 1
            return
        took = ts - soft.ts
        self._soft_ns[vec].record(took)
        soft_time = self.softirq_time_ns
        soft_time[cpu] = soft_time[cpu] + took - (self.hardirq_time_ns[cpu] - soft.hard_before)
        serving = self._bh_serving[cpu]
        if serving:
            for intr in serving:
                intr.bottom -= 1
                if intr.bottom == 0:
                    line = intr.line
                    line.e2e = self._latency(line.e2e, self.end_to_end_ns, line.label,
                                             ts - intr.raised)
            serving.clear()

    # -- DPCs -----------------------------------------------------------------

    def _dpc_entry(self, ts: int, cpu: int, name: str) -> None:
        if self._dpc[cpu] is not None:
            self.unmatched += 1  # the previous one lost its exit
        self._dpc[cpu] = (ts, name, self.hardirq_time_ns[cpu])
        self._chain[cpu] = None
        row = self.dpc_counts.get(name)
        if row is None:
            row = self.dpc_counts[name] = [0] * self.cpus
            self.dpc_ns[name] = Histogram()
        row[cpu] += 1
        queued = self._dpc_queued.pop(name, -1)
        if queued >= 0:
            self._latency(None, self.dpc_latency_ns, name, ts - queued)

    def _dpc_exit(self, ts: int, cpu: int, name: str) -> None:
        dpc = self._dpc[cpu]
        if dpc is None or dpc[1] != name:
            self.unmatched += 1
            return
        self._dpc[cpu] = None
        entry_ts, _, hard_before = dpc
        if ts < entry_ts:
            self.unmatched += 1
            return
        took = ts - entry_ts
        self.dpc_ns[name].record(took)
        if took >= _LONG_NS:
            _long(self._long_dpcs, name, took)
        self.dpc_time_ns[cpu] += took - (self.hardirq_time_ns[cpu] - hard_before)

    # -- growth and queries ---------------------------------------------------

    def _add_cpus(self, cpus: int) -> None:
        extra = cpus - self.cpus
        for rows in (self.counts, self.softirq_counts, self.dpc_counts):
            for row in rows.values():
                row.extend([0] * extra)
        for per_cpu in (self.hardirq_time_ns, self.softirq_time_ns, self.dpc_time_ns,
                        self._hard_since, self._depth):
            per_cpu.extend([0] * extra)
        self._hard.extend([] for _ in range(extra))
        self._chain.extend([None] * extra)
        self._soft.extend(_Soft() for _ in range(extra))
        self._dpc.extend([None] * extra)
        self._soft_pending.extend([-1] * _NR_SOFTIRQS for _ in range(extra))
        self._bh_waiting.extend([[] for _ in range(_NR_SOFTIRQS)] for _ in range(extra))
        self._bh_serving.extend([] for _ in range(extra))
        self.cpus = cpus

    @property
    def first_ts(self) -> int | None:
        """Earliest timestamp fed (ns), None before any event."""
        return self._first if self._last >= 0 else None

    @property
    def last_ts(self) -> int | None:
        """Latest timestamp fed (ns), None before any event."""
        return self._last if self._last >= 0 else None

    @property
    def span_ns(self) -> int:
        """``last_ts - first_ts`` (0 before any event)."""
        return self._last - self._first if self._last >= 0 else 0

    def handler_classes(self, label: str) -> list[int]:
        """Runs of ``label``'s handlers per class of :data:`DURATION_CLASSES_NS`
        (six counts, the last one >= 4 ms)."""
        return _classes(self.handler_ns.get(label), self._long_handlers.get(label))

    def dpc_classes(self, name: str) -> list[int]:
        """Runs of the DPC routine ``name`` per class of :data:`DURATION_CLASSES_NS`."""
        return _classes(self.dpc_ns.get(name), self._long_dpcs.get(name))

    def storm_suspects(self) -> list[tuple[str, int, int]]:
        """``(label, unhandled, total)`` for every IRQ with unhandled interrupts,
        the highest unhandled share first."""
        suspects = []
        for label, bad in self.unhandled.items():
            if bad > 0:
                suspects.append((label, bad, bad + self.handled.get(label, 0)))
        suspects.sort(key=lambda s: (-s[1] / s[2], -s[1], s[0]))
        return suspects


def _long(book: dict[str, list[int]], key: str, took: int) -> None:
    """Count a run of at least the first class bound in its class."""
    counts = book.get(key)
    if counts is None:
        counts = book[key] = [0] * len(DURATION_CLASSES_NS)
    i = 1
    while i < len(DURATION_CLASSES_NS) and took >= DURATION_CLASSES_NS[i]:
        i += 1
    counts[i - 1] += 1


def _classes(hist: Histogram | None, long: list[int] | None) -> list[int]:
    long = long or [0] * len(DURATION_CLASSES_NS)
    total = hist.count if hist is not None else 0
    return [total - sum(long), *long]
