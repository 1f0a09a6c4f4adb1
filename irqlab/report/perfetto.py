"""Native Perfetto trace writer (``--perfetto FILE``): protobuf ``TracePacket``s
written with the ``perfetto`` package's ``StreamingTraceProtoBuilder`` (writer
only: no trace processor, nothing downloaded; it needs only ``protobuf``).

Two layers over one event stream:

* ftrace bundles, per CPU, with the kernel's own events (``irq_handler_entry``/
  ``exit``, ``softirq_raise``/``entry``/``exit``, ``local_timer_entry``/``exit``,
  ``sched_switch``, ``sched_wakeup``): Perfetto's ftrace importer turns them
  into its ``Irq Cpu N`` and ``SoftIrq Cpu N`` tracks, its ``linux.irqs``
  tables, its CPU scheduling tracks and a thread (with its states) per task,
  exactly as for a kernel capture (google/perfetto src/trace_processor/
  importers/ftrace/ftrace_parser.cc ParseIrqHandlerEntry / ParseSoftIrqEntry /
  ParseSchedSwitch).  Each event's ``pid`` is the task running on its CPU.
* TrackEvent tracks for what ftrace events cannot carry: one track per
  interrupt line (``irq 24 eth0-0``: the raise as an instant, each action as a
  slice, a softirq it raises as an instant inside it), one per CPU for its
  bottom halves (``softirq CPU n``), one per x86 vector and CPU, flow arrows
  raise -> handler -> bottom half (:mod:`irqlab.report.timeline`), and counter
  tracks: pending softirqs per CPU and each line's interrupt rate; grouped as
  :data:`GROUPS` under one track named after the run.
* Thread tracks (:class:`irqlab.report.timeline.ThreadSlices`): one per task
  (a ``ThreadDescriptor`` of its pid and comm, so it joins the thread the
  ftrace importer made: IRQ threads, ksoftirqd, kworkers, user threads) with
  its stretches on a CPU and the work items and softirqs it runs inside them;
  one per CPU (``DPCs CPU n``, ``NAPI polls CPU n``, under :data:`BOTTOM_HALVES`)
  with its Windows DPCs and its NAPI polls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from irqlab.events import (
    DEFAULT_PRIO,
    IDLE_PID,
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    VECTOR_ROWS,
    idle_comm,
)
from irqlab.report.timeline import (
    DPCS,
    TASK,
    FlowTracker,
    ThreadSlices,
    Track,
    rate_timeline,
    softirq_label,
)

SEQUENCE_ID = 1
LINES, BOTTOM_HALVES, COUNTERS = "Interrupt lines", "Bottom halves", "Counters"
GROUPS = (LINES, BOTTOM_HALVES, COUNTERS)
"""The TrackEvent tracks' groups, under one root track named after the run."""
BUNDLE_EVENTS = 512  # ftrace events per bundle (a capture's bundles hold one page's worth)


def _vector_key(label: str, cpu: int) -> str:
    """The track key of an x86 vector's slices on one CPU (``vecLOC/0``)."""
    return f"vec{label}/{cpu}"


class PerfettoWriter:
    """Event sink: ``feed`` has the signature of :meth:`IrqStats.feed`."""

    def __init__(self, out: IO[bytes], cpus: int, title: str = "irqlab") -> None:
        from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
        from perfetto.trace_builder.proto_builder import StreamingTraceProtoBuilder

        self._pb = pb
        self._file = out
        self._builder = StreamingTraceProtoBuilder(out)
        self.unmatched = 0
        self._flows = FlowTracker()
        self._rates = rate_timeline()
        self._bundles: dict[int, Any] = {}
        self._uuids: dict[str, int] = {}
        self._track_names: dict[int, str] = {}
        self._names: dict[int, str] = {}  # irq -> first action name seen
        #: per CPU: open hard-IRQ slices as track keys, innermost last
        self._hard: dict[int, list[str]] = {}
        self._soft_open: dict[int, int] = {}
        self._threads = ThreadSlices()
        self._task: dict[int, tuple[int, str]] = {}  # cpu -> (pid, comm) running
        self._prio: dict[int, int] = {}  # pid -> prio of its last wake-up
        self._last_ts = 0
        first = self._builder.create_packet()
        first.trusted_packet_sequence_id = SEQUENCE_ID
        first.sequence_flags = pb.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED
        first.track_descriptor.uuid = self._uuid("root")
        first.track_descriptor.name = title
        self._builder.write_packet(first)
        for group in GROUPS:
            packet = self._builder.create_packet()
            packet.trusted_packet_sequence_id = SEQUENCE_ID
            packet.track_descriptor.uuid = self._uuid(group)
            packet.track_descriptor.name = group
            packet.track_descriptor.parent_uuid = self._uuid("root")
            self._builder.write_packet(packet)
        for cpu in range(cpus):  # described up front: the CPUs' tracks in CPU order
            self._soft_track(cpu)

    # -- tracks ------------------------------------------------------------

    def _uuid(self, key: str) -> int:
        uuid = self._uuids.get(key)
        if uuid is None:
            uuid = self._uuids[key] = len(self._uuids) + 1
        return uuid

    def _track(self, key: str, name: str, group: str, counter: str | None = None) -> int:
        """The uuid of track ``key`` in ``group`` (one of :data:`GROUPS`),
        described on first use and again when its name changes (a line raised
        before its handler named it)."""
        uuid = self._uuids.get(key)
        if uuid is not None and self._track_names[uuid] == name:
            return uuid
        uuid = self._uuid(key)
        self._track_names[uuid] = name
        packet = self._builder.create_packet()
        packet.trusted_packet_sequence_id = SEQUENCE_ID
        desc = packet.track_descriptor
        desc.uuid = uuid
        desc.name = name
        desc.parent_uuid = self._uuid(group)
        if counter is not None:
            desc.counter.unit_name = counter
        self._builder.write_packet(packet)
        return uuid

    def _irq_track(self, irq: int) -> int:
        name = self._names.get(irq)
        return self._track(f"irq{irq}", f"irq {irq} {name}" if name else f"irq {irq}", LINES)

    def _event(self, ts: int, track: int, kind: int, name: str = "",
               flows: Sequence[int] = (), ending: Sequence[int] = (),
               value: float | None = None) -> None:
        packet = self._builder.create_packet()
        packet.timestamp = ts
        packet.trusted_packet_sequence_id = SEQUENCE_ID
        ev = packet.track_event
        ev.type = kind
        ev.track_uuid = track
        if name:
            ev.name = name
        ev.flow_ids.extend(f for f in flows if f)  # 0: no arrow
        ev.terminating_flow_ids.extend(ending)
        if value is not None:
            ev.double_counter_value = value
        self._builder.write_packet(packet)

    # -- ftrace bundles ------------------------------------------------------

    def _ftrace(self, ts: int, cpu: int) -> Any:
        bundle = self._bundles.get(cpu)
        if bundle is not None and len(bundle.event) >= BUNDLE_EVENTS:
            self._flush(cpu)
            bundle = None
        if bundle is None:
            bundle = self._bundles[cpu] = self._pb.FtraceEventBundle(cpu=cpu)
        event = bundle.event.add()
        event.timestamp = ts
        event.pid = self._task.get(cpu, (IDLE_PID, ""))[0]
        return event

    def _flush(self, cpu: int) -> None:
        bundle = self._bundles.pop(cpu, None)
        if bundle is None or not bundle.event:
            return
        packet = self._builder.create_packet()
        packet.ftrace_events.CopyFrom(bundle)
        self._builder.write_packet(packet)

    # -- intake ------------------------------------------------------------------

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        """Write the packets of one event."""
        te = self._pb.TrackEvent
        self._last_ts = max(self._last_ts, ts_ns)
        self._rates.feed(ts_ns, cpu, kind, irq, value, name)
        if kind == IRQ_RAISE:
            flow = self._flows.raise_irq(irq)
            self._event(ts_ns, self._irq_track(irq), te.TYPE_INSTANT, "raise", flows=[flow])
            return
        if cpu < 0:
            self.unmatched += 1
            return
        for draw in self._threads.feed(ts_ns, cpu, kind, irq, value, name):
            self._thread_slice(*draw)
        hard = self._hard.setdefault(cpu, [])
        if kind == IRQ_ENTRY:
            self._names.setdefault(irq, name)
            ev = self._ftrace(ts_ns, cpu)
            ev.irq_handler_entry.irq = irq
            ev.irq_handler_entry.name = name
            hard.append(f"irq{irq}")
            self._event(ts_ns, self._irq_track(irq), te.TYPE_SLICE_BEGIN, name or f"irq {irq}",
                        ending=self._flows.enter_irq(irq))
        elif kind == IRQ_EXIT:
            if f"irq{irq}" not in hard:
                self.unmatched += 1
                return
            ev = self._ftrace(ts_ns, cpu)
            ev.irq_handler_exit.irq = irq
            ev.irq_handler_exit.ret = value
            self._close_hard(ts_ns, hard, f"irq{irq}")
        elif kind == VECTOR_ENTRY:
            label = VECTOR_ROWS.get(name, name)
            if name == "local_timer":
                self._ftrace(ts_ns, cpu).local_timer_entry.vector = value
            hard.append(_vector_key(label, cpu))
            self._event(ts_ns, self._track(hard[-1], f"{label} CPU{cpu}", LINES),
                        te.TYPE_SLICE_BEGIN, name)
        elif kind == VECTOR_EXIT:
            key = _vector_key(VECTOR_ROWS.get(name, name), cpu)
            if key not in hard:
                self.unmatched += 1
                return
            if name == "local_timer":
                self._ftrace(ts_ns, cpu).local_timer_exit.vector = value
            self._close_hard(ts_ns, hard, key)
        elif kind == SOFTIRQ_RAISE:
            self._ftrace(ts_ns, cpu).softirq_raise.vec = value
            flow = self._flows.raise_softirq(cpu, value)
            track = self._uuids[hard[-1]] if hard else self._soft_track(cpu)
            self._event(ts_ns, track, te.TYPE_INSTANT, f"raise {softirq_label(value)}", flows=[flow])
            if self._flows.pending_changed:
                self._pending_counter(ts_ns, cpu)
        elif kind == SOFTIRQ_ENTRY:
            if cpu in self._soft_open:
                self.unmatched += 1
                return
            self._ftrace(ts_ns, cpu).softirq_entry.vec = value
            self._soft_open[cpu] = value
            self._event(ts_ns, self._soft_track(cpu), te.TYPE_SLICE_BEGIN, softirq_label(value),
                        ending=self._flows.enter_softirq(cpu, value))
            if self._flows.pending_changed:
                self._pending_counter(ts_ns, cpu)
        elif kind == SOFTIRQ_EXIT:
            if self._soft_open.get(cpu) != value:
                self.unmatched += 1
                return
            self._ftrace(ts_ns, cpu).softirq_exit.vec = value
            del self._soft_open[cpu]
            self._event(ts_ns, self._soft_track(cpu), te.TYPE_SLICE_END)
        elif kind == SCHED_SWITCH:
            self._sched_switch(ts_ns, cpu, irq, value, name)
        elif kind == SCHED_WAKEUP:
            self._prio[irq] = value
            ev = self._ftrace(ts_ns, cpu).sched_wakeup
            ev.comm, ev.pid, ev.prio, ev.success, ev.target_cpu = name, irq, value, 1, cpu
        elif kind <= VECTOR_EXIT:  # the others are drawn by the thread tracks, or not at all
            self.unmatched += 1

    def _sched_switch(self, ts: int, cpu: int, pid: int, state: int, comm: str) -> None:
        """ftrace's sched_switch (the one a capture has: prev_state as the
        kernel's TASK_REPORT bits, ``R+`` = 0x100 on 6.x)."""
        ev = self._ftrace(ts, cpu).sched_switch
        prev_pid, prev_comm = self._task.get(cpu, (IDLE_PID, idle_comm(cpu)))
        ev.prev_comm, ev.prev_pid, ev.prev_state = prev_comm, prev_pid, state
        ev.prev_prio = self._prio.get(prev_pid, DEFAULT_PRIO)
        ev.next_comm, ev.next_pid = comm, pid
        ev.next_prio = self._prio.get(pid, DEFAULT_PRIO)
        self._task[cpu] = (pid, comm)

    def _thread_slice(self, phase: str, ts: int, track: Track, name: str) -> None:
        what, key = track
        if what == TASK:
            uuid = self._thread_track(key)
        else:
            label = "DPCs" if what == DPCS else "NAPI polls"
            uuid = self._track(f"{what}{key}", f"{label} CPU{key}", BOTTOM_HALVES)
        te = self._pb.TrackEvent
        self._event(ts, uuid, te.TYPE_SLICE_BEGIN if phase == "B" else te.TYPE_SLICE_END, name)

    def _thread_track(self, pid: int) -> int:
        """The track of task ``pid``: a thread of its own process, as a kernel
        thread is (pid = tid), described on first use."""
        key = f"task{pid}"
        uuid = self._uuids.get(key)
        if uuid is not None:
            return uuid
        uuid = self._uuid(key)
        packet = self._builder.create_packet()
        packet.trusted_packet_sequence_id = SEQUENCE_ID
        desc = packet.track_descriptor
        desc.uuid = uuid
        desc.thread.pid = desc.thread.tid = pid
        desc.thread.thread_name = self._threads.names.get(pid, str(pid))
        self._builder.write_packet(packet)
        return uuid

    def _close_hard(self, ts: int, hard: list[str], key: str) -> None:
        """End the innermost open slice ``key`` (and any opened inside it whose
        exit was lost) on its track."""
        while hard:
            top = hard.pop()
            self._event(ts, self._uuids[top], self._pb.TrackEvent.TYPE_SLICE_END)
            if top == key:
                return

    def _soft_track(self, cpu: int) -> int:
        return self._track(f"soft{cpu}", f"softirq CPU{cpu}", BOTTOM_HALVES)

    def _pending_counter(self, ts: int, cpu: int) -> None:
        track = self._track(f"pending{cpu}", f"CPU{cpu} pending softirqs", COUNTERS,
                            counter="vectors")
        self._event(ts, track, self._pb.TrackEvent.TYPE_COUNTER,
                    value=float(self._flows.pending_softirqs.get(cpu, 0)))

    def close(self) -> None:
        """End open slices at the last timestamp, write the rate counters and
        the last bundles, and flush (the file stays open: its opener closes it)."""
        for hard in self._hard.values():
            while hard:
                self._event(self._last_ts, self._uuids[hard.pop()],
                            self._pb.TrackEvent.TYPE_SLICE_END)
        for cpu in list(self._soft_open):
            self._event(self._last_ts, self._soft_track(cpu), self._pb.TrackEvent.TYPE_SLICE_END)
        self._soft_open.clear()
        for draw in self._threads.close(self._last_ts):
            self._thread_slice(*draw)
        _, rows = self._rates.per_second()
        start, width = self._rates.start_ns or 0, self._rates.bin_ns
        for label, rates in rows.items():
            irq_name = self._names.get(int(label)) if label.isdigit() else None
            name = f"irq {label} {irq_name}" if irq_name else label
            track = self._track(f"rate{label}", f"{name} rate", COUNTERS, counter="irq/s")
            for i, rate in enumerate(rates):
                self._event(start + i * width, track, self._pb.TrackEvent.TYPE_COUNTER,
                            value=rate)
        for cpu in sorted(self._bundles):
            self._flush(cpu)
        self._file.flush()
