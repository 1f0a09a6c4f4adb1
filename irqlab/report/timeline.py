"""What the timeline exports (Chrome JSON, Perfetto) share: softirq labels,
the interrupt-rate counters' bins, the thread tracks' slices
(:class:`ThreadSlices`), and the flow arrows a device's raise -> the handler
that served it -> the bottom half it raised.

A raise opens a flow that ends at the next entry of that IRQ's handler
(raises coalesced while the line was pending end there too).  A softirq raised
on a CPU opens a flow that ends when that vector next runs on that CPU
(``__raise_softirq_irqoff`` sets a pending bit; ``handle_softirqs`` clears the
bits it runs, kernel/softirq.c).  Ids are small consecutive integers, so a
trace is the same bytes for the same events.  At most :data:`MAX_PENDING`
raises wait on one entry; further raises of a line that is never served (a
disabled, storming line) get no arrow (flow 0), so memory stays bounded.
"""

from __future__ import annotations

from irqlab.analysis.rates import RateTimeline
from irqlab.events import (
    DPC_ENTRY,
    DPC_EXIT,
    IDLE_PID,
    NAPI_ENTRY,
    NAPI_EXIT,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_NAMES,
    WORK_END,
    WORK_START,
)


def softirq_label(vec: int) -> str:
    """The vector's name (include/linux/interrupt.h order), or ``vecN`` when unknown."""
    return SOFTIRQ_NAMES[vec] if 0 <= vec < len(SOFTIRQ_NAMES) else f"vec{vec}"


MAX_PENDING = 64

RATE_BIN_NS = 1_000_000
"""Bins of the interrupt-rate counters: 1 ms, doubled past :data:`RATE_MAX_BINS`."""
RATE_MAX_BINS = 4096


def rate_timeline() -> RateTimeline:
    """The interrupt-rate counters' timeline (1 ms bins up to a 4 s run)."""
    return RateTimeline(bin_ns=RATE_BIN_NS, max_bins=RATE_MAX_BINS)


class FlowTracker:
    """Pending flows, by IRQ and by (CPU, softirq vector)."""

    def __init__(self) -> None:
        self._next = 1
        self._irq: dict[int, list[int]] = {}
        self._soft: dict[tuple[int, int], list[int]] = {}
        #: per CPU: softirq vectors raised and not yet run
        self.pending_softirqs: dict[int, int] = {}
        #: whether the last raise or run of a softirq changed its CPU's pending count
        self.pending_changed = False

    def _new(self) -> int:
        flow = self._next
        self._next += 1
        return flow

    def raise_irq(self, irq: int) -> int:
        """A device raised ``irq``: the new flow's id (0: none)."""
        flows = self._irq.setdefault(irq, [])
        if len(flows) >= MAX_PENDING:
            return 0
        flows.append(self._new())
        return flows[-1]

    def enter_irq(self, irq: int) -> list[int]:
        """The flows ending at this entry of ``irq``'s handler (none after the
        first action of a shared line)."""
        return self._irq.pop(irq, [])

    def raise_softirq(self, cpu: int, vec: int) -> int:
        """Softirq ``vec`` raised on ``cpu``: the new flow's id (0: none)."""
        flows = self._soft.setdefault((cpu, vec), [])
        self.pending_changed = not flows
        if not flows:
            self.pending_softirqs[cpu] = self.pending_softirqs.get(cpu, 0) + 1
        elif len(flows) >= MAX_PENDING:
            return 0
        flows.append(self._new())
        return flows[-1]

    def enter_softirq(self, cpu: int, vec: int) -> list[int]:
        """The flows ending where ``vec`` starts running on ``cpu``."""
        flows = self._soft.pop((cpu, vec), [])
        self.pending_changed = bool(flows)
        if flows:
            self.pending_softirqs[cpu] -= 1
        return flows


#: a thread track's key: ``(TASK, pid)``, or ``(DPCS, cpu)`` / ``(NAPI, cpu)``
TASK, DPCS, NAPI = "task", "dpc", "napi"
#: the per-CPU tracks: their slices' start and end events
PER_CPU = {DPCS: (DPC_ENTRY, DPC_EXIT), NAPI: (NAPI_ENTRY, NAPI_EXIT)}
Track = tuple[str, int]
#: what :class:`ThreadSlices` asks to draw: ``("B", ts, track, name)`` or ``("E", ts, track, "")``
Draw = tuple[str, int, Track, str]


class ThreadSlices:
    """The slices of the thread tracks, from the scheduler, workqueue, softirq
    and DPC events:

    * per task (by pid, named after its comm), each stretch on a CPU between
      the ``sched_switch`` to it and the one away from it, named after it;
    * inside them, the work items a kworker runs (``workqueue_execute_start``
      -> ``_end``; a work function that sleeps is cut where its worker is
      switched out and resumed when it is back) and the softirqs ksoftirqd runs;
    * per CPU, the Windows DPCs it runs (``dpc_entry`` -> ``dpc_exit``) and
      its NAPI polls (``napi_entry`` -> ``napi_exit``, named by instance).

    Slices on one track nest, so both timeline formats draw them as begin/end
    pairs.  ``names`` maps each pid seen to its comm."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self._running: dict[int, int] = {}  # cpu -> pid (0: idle)
        self._inner: dict[int, list[str]] = {}  # cpu -> slices open inside the task's stretch
        self._work: dict[int, str] = {}  # kworker pid -> the work function it is in
        self._open: dict[Track, int] = {}  # per-CPU track -> slices open on it

    def feed(self, ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> list[Draw]:
        """What to draw for one event (nothing for most kinds)."""
        if kind == SCHED_SWITCH:
            return self._switch(ts, cpu, irq, name)
        if kind == SCHED_WAKEUP:
            self.names.setdefault(irq, name)
            return []
        pid = self._running.get(cpu, IDLE_PID)
        inner = self._inner.setdefault(cpu, [])
        if kind == WORK_START and pid:
            self._work[pid] = name
            inner.append("work")
            return [("B", ts, (TASK, pid), name)]
        if kind == SOFTIRQ_ENTRY and pid and self.names[pid].startswith("ksoftirqd/"):
            inner.append("softirq")
            return [("B", ts, (TASK, pid), softirq_label(value))]
        if (kind == WORK_END and self._work.pop(pid, None) is not None and inner) or (
                kind == SOFTIRQ_EXIT and inner and inner[-1] == "softirq"):
            inner.pop()
            return [("E", ts, (TASK, pid), "")]
        for what, (begin, end) in PER_CPU.items():
            track = (what, cpu)
            if kind == begin:
                self._open[track] = self._open.get(track, 0) + 1
                return [("B", ts, track, name)]
            if kind == end and self._open.get(track):
                self._open[track] -= 1
                return [("E", ts, track, "")]
        return []

    def _switch(self, ts: int, cpu: int, pid: int, comm: str) -> list[Draw]:
        draw = self._leave(ts, cpu)
        self._running[cpu] = pid
        if pid != IDLE_PID:
            self.names[pid] = comm
            draw.append(("B", ts, (TASK, pid), comm))
            work = self._work.get(pid)
            if work is not None:  # back in a work function that slept
                self._inner[cpu] = ["work"]
                draw.append(("B", ts, (TASK, pid), work))
        return draw

    def _leave(self, ts: int, cpu: int) -> list[Draw]:
        """End the CPU's task stretch and what is open inside it."""
        pid = self._running.get(cpu, IDLE_PID)
        if pid == IDLE_PID:
            return []
        inner = self._inner.pop(cpu, [])
        return [("E", ts, (TASK, pid), "") for _ in range(len(inner) + 1)]

    def close(self, ts: int) -> list[Draw]:
        """End every open slice at ``ts`` (the end of the trace)."""
        draw = [d for cpu in list(self._running) for d in self._leave(ts, cpu)]
        self._running.clear()
        for track, n in self._open.items():
            draw += [("E", ts, track, "")] * n
        self._open.clear()
        return draw
