"""Chrome trace-event JSON writer (opens in ui.perfetto.dev and chrome://tracing).

Layout (Trace Event Format; see shared/reference/tools-and-ecosystem.md 2.4):
one process, one track per CPU (``tid`` = CPU, named ``CPU n`` by ``M``
metadata).  A hard IRQ action or x86 vector is one ``X`` (complete) event, cat
``hardirq``, args ``{irq, ret}`` (``{vector}`` for vectors); a softirq is an
``X`` event, cat ``softirq``; ``IRQ_RAISE`` and ``SOFTIRQ_RAISE`` are instant
``i`` events.  A hard IRQ that preempts a softirq lies inside the softirq's
slice, so the viewer nests it.  Flow arrows (:mod:`irqlab.report.timeline`) lead
from a device's raise to the handler that served it (flow v2: ``bind_id`` with
``flow_out`` on the raise, ``flow_in`` on the handler's slice) and from a
softirq raised inside a hard IRQ to the run of that vector (``s`` -> ``f`` with
``"bp":"e"``, bound to the enclosing slices).  Counters (``C``): each CPU's
pending softirq vectors, and every IRQ's rate (one series per row, in 1 ms
bins, wider past 4 s).  Thread tracks (:class:`irqlab.report.timeline.ThreadSlices`,
from the scheduler, workqueue and DPC events): process ``threads`` has one
track per task (``tid`` = pid, named after its comm: IRQ threads, ksoftirqd,
kworkers, user threads) with its stretches on a CPU and, inside them, the work
items and softirqs it runs, as ``B``/``E`` pairs; processes ``DPCs`` and
``NAPI polls`` one track per CPU with its Windows DPCs and its NAPI polls.  ``ts``/``dur`` are microseconds printed with
three decimals, i.e. exact ns.

Events are written as they complete (``X`` at the exit), so only the open
entries are held in memory.  Slices still open at :meth:`close` end at the last
timestamp seen, with ``"truncated": true`` in their args; exits without an
entry are counted in ``unmatched`` and skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
)
from irqlab.report.sink import TextSink
from irqlab.report.timeline import (
    DPCS,
    NAPI,
    TASK,
    FlowTracker,
    ThreadSlices,
    Track,
    rate_timeline,
    softirq_label,
)

_PID = 1
#: the processes of the thread tracks: tasks (tid = pid), DPCs and NAPI polls (tid = CPU)
THREADS_PID, DPCS_PID, NAPI_PID = 2, 3, 4
_PROCESSES = {TASK: (THREADS_PID, "threads"), DPCS: (DPCS_PID, "DPCs"), NAPI: (NAPI_PID, "NAPI polls")}


def _us(ns: int) -> str:
    """ns as a JSON number of microseconds with exactly three decimals."""
    sign = "-" if ns < 0 else ""
    q, r = divmod(abs(ns), 1000)
    return f"{sign}{q}.{r:03d}"


class ChromeTraceWriter(TextSink):
    """Event sink: ``feed`` has the signature of :meth:`IrqStats.feed`."""

    def __init__(self, path_or_file: str | Path | IO[str], cpus: int,
                 pid_name: str = "irqlab") -> None:
        super().__init__(path_or_file)
        self.cpus = cpus
        self.unmatched = 0
        self._first = True
        self._last_ts = 0
        # per CPU: open hard entries (ts, irq, name, is_vector, value, flow from the raise
        # or 0); open softirq (ts, vec)
        self._hard: dict[int, list[tuple[int, int, str, bool, int, int]]] = {}
        self._soft: dict[int, tuple[int, int]] = {}
        self._flows = FlowTracker()
        self._started: set[int] = set()  # flows with an ``s`` event
        self._rates = rate_timeline()
        self._threads = ThreadSlices()
        self._named: set[Track] = set()
        self._out.write('{"traceEvents":[\n')
        self._emit({"name": "process_name", "ph": "M", "pid": _PID, "tid": 0,
                    "args": {"name": pid_name}})

        for cpu in range(cpus):
            self._thread_metadata(cpu)

    def _thread_metadata(self, cpu: int) -> None:
        self._emit({"name": "thread_name", "ph": "M", "pid": _PID, "tid": cpu,
                    "args": {"name": f"CPU {cpu}"}})
        self._emit({"name": "thread_sort_index", "ph": "M", "pid": _PID, "tid": cpu,
                    "args": {"sort_index": cpu}})

    def _emit(self, event: dict[str, Any], ts: int | None = None,
              dur: int | None = None) -> None:
        text = json.dumps(event, separators=(",", ":"))
        if ts is not None:  # exact decimal timestamps, spliced in ahead of the rest
            extra = f'"ts":{_us(ts)},' + (f'"dur":{_us(dur)},' if dur is not None else "")
            text = "{" + extra + text[1:]
        self._out.write(text if self._first else ",\n" + text)
        self._first = False

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        """Write (or start) the trace event for one record."""
        self._last_ts = max(self._last_ts, ts_ns)
        self._rates.feed(ts_ns, cpu, kind, irq, value, name)
        if cpu < 0 and kind not in (IRQ_RAISE, SOFTIRQ_RAISE):
            self.unmatched += 1
            return
        if cpu >= self.cpus:
            for new in range(self.cpus, cpu + 1):
                self._thread_metadata(new)
            self.cpus = cpu + 1
        for draw in self._threads.feed(ts_ns, cpu, kind, irq, value, name):
            self._thread_slice(*draw)
        if kind in (IRQ_ENTRY, VECTOR_ENTRY):
            raised = self._flows.enter_irq(irq) if kind == IRQ_ENTRY else []
            self._hard.setdefault(cpu, []).append(
                (ts_ns, irq, name, kind == VECTOR_ENTRY, value, raised[0] if raised else 0))
        elif kind in (IRQ_EXIT, VECTOR_EXIT):
            self._hard_exit(ts_ns, cpu, kind == VECTOR_EXIT, irq, value, name)
        elif kind == SOFTIRQ_ENTRY:
            if cpu in self._soft:
                self.unmatched += 1
                self._soft_slice(cpu, ts_ns, truncated=True)
            self._soft[cpu] = (ts_ns, value)
            for flow in sorted(self._started.intersection(self._flows.enter_softirq(cpu, value))):
                self._started.discard(flow)
                self._emit({"name": "softirq", "cat": "flow", "ph": "f", "bp": "e", "id": flow,
                            "pid": _PID, "tid": cpu}, ts_ns)
            if self._flows.pending_changed:
                self._pending_counter(ts_ns, cpu)
        elif kind == SOFTIRQ_EXIT:
            open_soft = self._soft.get(cpu)
            if open_soft is None or open_soft[1] != value:
                self.unmatched += 1
            else:
                self._soft_slice(cpu, ts_ns, truncated=False)
        elif kind == IRQ_RAISE:
            self._instant(ts_ns, cpu, f"raise irq {irq}", "irq_raise", {"irq": irq},
                          flow=self._flows.raise_irq(irq))
        elif kind == SOFTIRQ_RAISE:
            self._instant(ts_ns, cpu, f"raise {softirq_label(value)}", "softirq_raise",
                          {"vec": value})
            if cpu >= 0:
                flow = self._flows.raise_softirq(cpu, value)
                if flow and self._hard.get(cpu):  # raised by a hard IRQ: an arrow from it
                    self._started.add(flow)
                    self._emit({"name": "softirq", "cat": "flow", "ph": "s", "id": flow,
                                "pid": _PID, "tid": cpu}, ts_ns)
                if self._flows.pending_changed:
                    self._pending_counter(ts_ns, cpu)
        elif kind <= VECTOR_EXIT:  # the others are drawn by the thread tracks, or not at all
            self.unmatched += 1

    def _thread_slice(self, phase: str, ts: int, track: Track, name: str) -> None:
        """A ``B`` or ``E`` event on a thread track, named by metadata on first use."""
        what, tid = track
        pid, process = _PROCESSES[what]
        if track not in self._named:
            if (what, -1) not in self._named:  # the process's name, on its first track
                self._named.add((what, -1))
                self._emit({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                            "args": {"name": process}})
            self._named.add(track)
            label = self._threads.names.get(tid, str(tid)) if what == TASK else \
                f"{process} CPU {tid}"
            self._emit({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                        "args": {"name": label}})
        event: dict[str, Any] = {"ph": phase, "pid": pid, "tid": tid}
        if phase == "B":
            event.update(name=name, cat=what)
        self._emit(event, ts)

    def _pending_counter(self, ts: int, cpu: int) -> None:
        self._emit({"name": f"CPU {cpu} pending softirqs", "ph": "C", "pid": _PID,
                    "args": {"vectors": self._flows.pending_softirqs.get(cpu, 0)}}, ts)

    def _instant(self, ts: int, cpu: int, name: str, cat: str, args: dict[str, int],
                 flow: int = 0) -> None:
        scope = {"s": "t", "tid": cpu} if cpu >= 0 else {"s": "g", "tid": 0}
        event: dict[str, Any] = {"name": name, "cat": cat, "ph": "i", "pid": _PID, **scope,
                                 "args": args}
        if flow:
            event.update(bind_id=flow, flow_out=True)
        self._emit(event, ts)

    def _hard_exit(self, ts: int, cpu: int, vector: bool, irq: int, ret: int,
                   name: str) -> None:
        stack = self._hard.get(cpu, [])
        for depth in range(len(stack) - 1, -1, -1):
            _, e_irq, e_name, e_vector, _, _ = stack[depth]
            if e_vector == vector and (e_name == name if vector else e_irq == irq):
                break
        else:
            self.unmatched += 1
            return
        while len(stack) > depth + 1:  # inner entries whose exit was lost
            self.unmatched += 1
            self._hard_slice(cpu, stack.pop(), ts, None)
        self._hard_slice(cpu, stack.pop(), ts, ret)

    def _hard_slice(self, cpu: int, entry: tuple[int, int, str, bool, int, int], end: int,
                    ret: int | None) -> None:
        """One X slice; ``ret`` None means the exit was never seen."""
        start, irq, name, vector, value, flow = entry
        args: dict[str, Any] = {"vector": value} if vector else {"irq": irq, "ret": ret}
        if ret is None:
            args["truncated"] = True
            args.pop("ret", None)
        label = name if vector else f"irq {irq}: {name}" if name else f"irq {irq}"
        event: dict[str, Any] = {"name": label, "cat": "hardirq", "ph": "X", "pid": _PID,
                                 "tid": cpu, "args": args}
        if flow:  # the arrow from the device's raise (flow v2: bind_id)
            event.update(bind_id=flow, flow_in=True)
        self._emit(event, start, end - start)

    def _soft_slice(self, cpu: int, end: int, truncated: bool) -> None:
        start, vec = self._soft.pop(cpu)
        args: dict[str, Any] = {"vec": vec}
        if truncated:
            args["truncated"] = True
        self._emit({"name": softirq_label(vec), "cat": "softirq", "ph": "X", "pid": _PID,
                    "tid": cpu, "args": args}, start, end - start)

    def close(self) -> None:
        """End open slices at the last timestamp and finish the JSON document."""
        for cpu, stack in self._hard.items():
            while stack:
                self._hard_slice(cpu, stack.pop(), self._last_ts, None)
        for cpu in list(self._soft):
            self._soft_slice(cpu, self._last_ts, truncated=True)
        for draw in self._threads.close(self._last_ts):
            self._thread_slice(*draw)
        _, rows = self._rates.per_second()
        start, width = self._rates.start_ns or 0, self._rates.bin_ns
        for i in range(len(next(iter(rows.values()), []))):
            self._emit({"name": "irq rate (/s)", "ph": "C", "pid": _PID,
                        "args": {label: rates[i] for label, rates in rows.items()}},
                       start + i * width)
        self._out.write('\n],"displayTimeUnit":"ns"}\n')
        super().close()
