"""Native Perfetto trace writer (``--perfetto FILE``): protobuf ``TracePacket``s
written with the ``perfetto`` package's ``StreamingTraceProtoBuilder`` (writer
only: no trace processor, nothing downloaded; it needs only ``protobuf``).

Two layers over one event stream:

* ftrace bundles, per CPU, with the kernel's own events (``irq_handler_entry``/
  ``exit``, ``softirq_raise``/``entry``/``exit``, ``local_timer_entry``/``exit``):
  Perfetto's ftrace importer turns them into its ``Irq Cpu N`` and
  ``SoftIrq Cpu N`` tracks and its ``linux.irqs`` tables, exactly as for a
  kernel capture (google/perfetto src/trace_processor/importers/ftrace/
  ftrace_parser.cc ParseIrqHandlerEntry / ParseSoftIrqEntry).
* TrackEvent tracks for what ftrace events cannot carry: one track per
  interrupt line (``irq 24 eth0-0``: the raise as an instant, each action as a
  slice, a softirq it raises as an instant inside it), one per CPU for its
  bottom halves (``softirq CPU n``), one per x86 vector and CPU, flow arrows
  raise -> handler -> bottom half (:mod:`irqlab.report.timeline`), and counter
  tracks: pending softirqs per CPU and each line's interrupt rate; grouped as
  :data:`GROUPS` under one track named after the run.

Thread tracks for irq threads, ksoftirqd, kworkers, NAPI polls and DPCs need
scheduler events the event stream does not carry yet; they come with them.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    VECTOR_ROWS,
)
from irqlab.report.timeline import FlowTracker, rate_timeline, softirq_label

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
        event.pid = 0
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
        else:
            self.unmatched += 1

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
