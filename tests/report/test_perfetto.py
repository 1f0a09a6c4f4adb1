"""``--perfetto``: the trace parsed back with the protobuf classes it was
written with: the kernel's ftrace events per CPU, tracks, slices, flows and
counters."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

from irqlab.cli import cli
from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_NAMES,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    Event,
)
from irqlab.report.perfetto import PerfettoWriter
from irqlab.report.timeline import RATE_BIN_NS

TE = pb.TrackEvent


def write(events: list[Event], cpus: int) -> bytes:
    out = io.BytesIO()
    writer = PerfettoWriter(out, cpus)
    for ev in events:
        writer.feed(*ev)
    writer.close()
    assert writer.unmatched == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def trace(default_run) -> pb.Trace:
    return pb.Trace.FromString(write(default_run.events, 2))


def ftrace_events(trace: pb.Trace) -> list[tuple[int, int, str, int]]:
    """(ts, cpu, event name, irq or vec) of every ftrace event."""
    out = []
    for packet in trace.packet:
        if packet.HasField("ftrace_events"):
            bundle = packet.ftrace_events
            for ev in bundle.event:
                kind = ev.WhichOneof("event")
                payload = getattr(ev, kind)
                number = getattr(payload, "irq", None) if "irq_handler" in kind else \
                    getattr(payload, "vec", getattr(payload, "vector", -1))
                out.append((ev.timestamp, bundle.cpu, kind, number))
    return out


def test_ftrace_bundles_carry_every_irq_and_softirq_event(default_run, trace) -> None:
    names = {IRQ_ENTRY: "irq_handler_entry", IRQ_EXIT: "irq_handler_exit",
             SOFTIRQ_RAISE: "softirq_raise", SOFTIRQ_ENTRY: "softirq_entry",
             SOFTIRQ_EXIT: "softirq_exit"}
    expected = sorted(
        (e.ts_ns, e.cpu, names[e.kind], e.irq if e.kind in (IRQ_ENTRY, IRQ_EXIT) else e.value)
        for e in default_run.events if e.kind in names)
    got = ftrace_events(trace)
    assert sorted(x for x in got if "local_timer" not in x[2]) == expected
    timers = [e for e in default_run.events if e.kind == VECTOR_ENTRY and e.name == "local_timer"]
    assert sum(1 for x in got if x[2] == "local_timer_entry") == len(timers) > 0
    # the handler name (the action) as Perfetto's importer labels the slice "IRQ (<name>)"
    entries = [ev for p in trace.packet if p.HasField("ftrace_events")
               for ev in p.ftrace_events.event if ev.HasField("irq_handler_entry")]
    assert {e.irq_handler_entry.name for e in entries} >= {"eth0-0", "eth0-1", "i801_smbus"}


def tracks(trace: pb.Trace) -> dict[int, pb.TrackDescriptor]:
    return {p.track_descriptor.uuid: p.track_descriptor for p in trace.packet
            if p.HasField("track_descriptor")}


def test_tracks_per_line_per_cpu_and_counters(trace) -> None:
    by_name = {t.name: t for t in tracks(trace).values()}
    for name in ("irq 24 eth0-0", "irq 25 eth0-1", "irq 16 uhci_hcd:usb1", "softirq CPU0",
                 "softirq CPU1", "LOC CPU0"):
        assert name in by_name, sorted(by_name)
        assert not by_name[name].HasField("counter")
    for name in ("CPU0 pending softirqs", "CPU1 pending softirqs", "irq 24 eth0-0 rate"):
        assert by_name[name].HasField("counter"), name


def test_slices_nest_on_every_track(trace) -> None:
    depth: dict[int, int] = defaultdict(int)
    begun = 0
    last_ts = 0
    for p in trace.packet:
        if not p.HasField("track_event") or p.track_event.type == TE.TYPE_COUNTER:
            continue
        ev = p.track_event
        if ev.type == TE.TYPE_SLICE_BEGIN:
            depth[ev.track_uuid] += 1
            begun += 1
        elif ev.type == TE.TYPE_SLICE_END:
            depth[ev.track_uuid] -= 1
            assert depth[ev.track_uuid] >= 0
        assert p.timestamp >= last_ts  # written in time order
        last_ts = p.timestamp
    assert begun > 100 and all(d == 0 for d in depth.values())


def test_flows_lead_from_the_raise_to_the_handler_to_the_bottom_half(default_run, trace) -> None:
    names = {uuid: t.name for uuid, t in tracks(trace).items()}
    started: dict[int, tuple[str, str]] = {}
    ended: dict[int, tuple[str, str]] = {}
    for p in trace.packet:
        ev = p.track_event
        if not p.HasField("track_event"):
            continue
        for f in ev.flow_ids:
            assert f not in started
            started[f] = (names[ev.track_uuid], ev.name)
        for f in ev.terminating_flow_ids:
            assert f in started and f not in ended  # ends after it started, once
            ended[f] = (names[ev.track_uuid], ev.name)
    raises = sum(1 for e in default_run.events if e.kind == IRQ_RAISE)
    assert Counter(name for name in started.values())[("irq 24 eth0-0", "raise")] > 0
    assert sum(1 for _, n in started.values() if n == "raise") == raises
    # raise -> handler on the same line's track
    assert ended[next(f for f, s in started.items() if s == ("irq 24 eth0-0", "raise"))] == \
        ("irq 24 eth0-0", "eth0-0")
    # handler -> the NET_RX softirq it raised
    net_rx = [f for f, s in started.items() if s == ("irq 24 eth0-0", "raise NET_RX")]
    assert net_rx and all(ended[f] == ("softirq CPU0", "NET_RX") for f in net_rx if f in ended)


def test_counters_pending_softirqs_and_rates(default_run, trace) -> None:
    by_name = {t.name: uuid for uuid, t in tracks(trace).items()}
    values: dict[int, list[float]] = defaultdict(list)
    for p in trace.packet:
        if p.HasField("track_event") and p.track_event.type == TE.TYPE_COUNTER:
            values[p.track_event.track_uuid].append(p.track_event.double_counter_value)
    pending = values[by_name["CPU0 pending softirqs"]]
    assert min(pending) == 0 and max(pending) >= 1 and pending[-1] == 0
    assert all(v <= len(SOFTIRQ_NAMES) for v in pending)
    counters = default_run.report.counter_snapshot().rows
    for irq in ("24", "25", "26"):
        rates = values[by_name[f"irq {irq} {counters[irq].name} rate"]]
        assert round(sum(rates) * RATE_BIN_NS / 1e9) == counters[irq].total


def test_same_events_same_bytes(default_run) -> None:
    assert write(default_run.events, 2) == write(default_run.events, 2)


def test_lost_entries_and_exits_are_counted_not_fatal() -> None:
    out = io.BytesIO()
    writer = PerfettoWriter(out, 1)
    writer.feed(10, 0, IRQ_EXIT, 5, 1, "")  # exit without entry
    writer.feed(20, 0, SOFTIRQ_EXIT, -1, 3, "NET_RX")
    writer.feed(30, 0, IRQ_ENTRY, 5, 0, "dev")  # never exits: ended at close
    writer.feed(40, -1, IRQ_ENTRY, 6, 0, "dev")  # no CPU
    writer.close()
    assert writer.unmatched == 3
    trace = pb.Trace.FromString(out.getvalue())
    kinds = [p.track_event.type for p in trace.packet if p.HasField("track_event")]
    assert kinds.count(TE.TYPE_SLICE_BEGIN) == kinds.count(TE.TYPE_SLICE_END) == 1


def test_report_writes_perfetto_from_a_trace_file(tmp_path: Path) -> None:
    text, out = tmp_path / "t.trace", tmp_path / "t.pftrace"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", "--duration", "3ms", "--trace", str(text)]).exit_code == 0
    res = runner.invoke(cli, ["report", str(text), "--perfetto", str(out), "--json"])
    assert res.exit_code == 0, res.output
    got = ftrace_events(pb.Trace.FromString(out.read_bytes()))
    entries = Counter(str(n) for _, _, kind, n in got if kind == "irq_handler_entry")
    import json
    handler = json.loads(res.stdout)["handler_ns"]
    assert {k: v["count"] for k, v in handler.items() if k.isdigit()} == dict(entries)


def test_a_line_never_served_keeps_a_bounded_number_of_arrows() -> None:
    from irqlab.report.timeline import MAX_PENDING

    trace = pb.Trace.FromString(write([Event(1000 * i, 0, IRQ_RAISE, 17) for i in range(1, 1001)], 1))
    instants = [p.track_event for p in trace.packet
                if p.HasField("track_event") and p.track_event.type == TE.TYPE_INSTANT]
    assert len(instants) == 1000
    assert sum(len(ev.flow_ids) for ev in instants) == MAX_PENDING


def test_tracks_are_grouped_under_the_run(trace) -> None:
    by_uuid = tracks(trace)
    by_name = {t.name: t for t in by_uuid.values()}
    root = by_name["irqlab"]
    assert not root.HasField("parent_uuid")
    groups = {name: by_name[name] for name in ("Interrupt lines", "Bottom halves", "Counters")}
    assert all(g.parent_uuid == root.uuid for g in groups.values())

    def group_of(name: str) -> str:
        return by_uuid[by_name[name].parent_uuid].name

    assert group_of("irq 24 eth0-0") == group_of("LOC CPU0") == "Interrupt lines"
    assert group_of("softirq CPU1") == "Bottom halves"
    assert group_of("CPU0 pending softirqs") == group_of("irq 24 eth0-0 rate") == "Counters"
