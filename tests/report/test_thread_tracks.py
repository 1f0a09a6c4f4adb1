"""Issue 13 section 3: thread tracks in --perfetto and --chrome for IRQ threads,
ksoftirqd, kworkers, NAPI polls and Windows DPCs, built from the scheduler, workqueue and
DPC events and checked by parsing the files back."""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict

import pytest
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

from irqlab.events import (
    DPC_ENTRY,
    NAPI_ENTRY,
    SCHED_SWITCH,
    SOFTIRQ_ENTRY,
    WORK_START,
    idle_comm,
)
from irqlab.report.chrome import DPCS_PID, NAPI_PID, THREADS_PID, ChromeTraceWriter
from irqlab.report.perfetto import PerfettoWriter
from tests.report.runs import Run, simulated

TE = pb.TrackEvent


@pytest.fixture(scope="module")
def overload_run() -> Run:
    """softirq-overload: the restart loop hands NET_RX to ksoftirqd."""
    return simulated("softirq-overload", 7_000_000, seed=3)


def perfetto(run: Run) -> pb.Trace:
    out = io.BytesIO()
    writer = PerfettoWriter(out, run.machine.spec.machine.cpus)
    for ev in run.events:
        writer.feed(*ev)
    writer.close()
    assert writer.unmatched == 0
    return pb.Trace.FromString(out.getvalue())


def chrome(run: Run) -> list[dict]:
    out = io.StringIO()
    writer = ChromeTraceWriter(out, run.machine.spec.machine.cpus)
    for ev in run.events:
        writer.feed(*ev)
    writer.close()
    assert writer.unmatched == 0
    return json.loads(out.getvalue())["traceEvents"]


def perfetto_slices(trace: pb.Trace) -> dict[str, list[tuple[str, int, int]]]:
    """Track name (a thread's comm for thread tracks) -> its (name, begin, end)
    slices, checking that they nest and come in time order."""
    names = {}
    for p in trace.packet:
        if p.HasField("track_descriptor"):
            d = p.track_descriptor
            names[d.uuid] = d.thread.thread_name if d.HasField("thread") else d.name
    open_: dict[int, list[tuple[str, int]]] = defaultdict(list)
    out: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    last = 0
    for p in trace.packet:
        if not p.HasField("track_event") or p.track_event.type == TE.TYPE_COUNTER:
            continue
        ev = p.track_event
        assert p.timestamp >= last
        last = p.timestamp
        if ev.type == TE.TYPE_SLICE_BEGIN:
            open_[ev.track_uuid].append((ev.name, p.timestamp))
        elif ev.type == TE.TYPE_SLICE_END:
            name, begin = open_[ev.track_uuid].pop()
            out[names[ev.track_uuid]].append((name, begin, p.timestamp))
    assert not any(open_.values())
    return out


def test_perfetto_carries_the_kernel_sched_switch_and_wakeup(threaded_run) -> None:
    trace = perfetto(threaded_run)
    switches = [(ev.timestamp, p.ftrace_events.cpu, ev.sched_switch)
                for p in trace.packet if p.HasField("ftrace_events")
                for ev in p.ftrace_events.event if ev.HasField("sched_switch")]
    expected = [e for e in threaded_run.events if e.kind == SCHED_SWITCH]
    assert sorted((ts, cpu, s.next_pid, s.next_comm, s.prev_state) for ts, cpu, s in switches) \
        == sorted((e.ts_ns, e.cpu, e.irq, e.name, e.value) for e in expected)
    prev = {}  # the task each switch leaves is the one the CPU's last switch entered
    for _, cpu, s in sorted(switches, key=lambda x: x[0]):
        assert (s.prev_pid, s.prev_comm) == prev.get(cpu, (0, idle_comm(cpu)))
        prev[cpu] = (s.next_pid, s.next_comm)
        if s.next_comm.startswith("irq/"):
            assert s.next_prio == 49  # SCHED_FIFO 50
    wakeups = [ev.sched_wakeup for p in trace.packet if p.HasField("ftrace_events")
               for ev in p.ftrace_events.event if ev.HasField("sched_wakeup")]
    assert {w.comm for w in wakeups} >= {"irq/17-i2c_hid", "kworker/1:0"}


def test_perfetto_thread_tracks_of_irq_thread_and_kworkers(threaded_run) -> None:
    trace = perfetto(threaded_run)
    threads = {p.track_descriptor.thread.thread_name: p.track_descriptor.thread
               for p in trace.packet
               if p.HasField("track_descriptor") and p.track_descriptor.HasField("thread")}
    assert {"irq/17-i2c_hid", "kworker/1:0", "cpu-bound/0"} <= set(threads)
    assert all(t.pid == t.tid for t in threads.values())
    slices = perfetto_slices(trace)
    # one stretch per switch to the IRQ thread; their time is the thread's CPU time
    runs = [s for s in slices["irq/17-i2c_hid"] if s[0] == "irq/17-i2c_hid"]
    switched_in = sum(1 for e in threaded_run.events if e.kind == SCHED_SWITCH and e.irq == 100)
    assert len(runs) == switched_in > 10
    ran = sum(end - begin for _, begin, end in runs)
    assert ran == sum(h.total for h in threaded_run.report.stats.irqthread_ns.values())
    # each work item is drawn inside its kworker's stretches, at least once per run
    work = [s for name, track in slices.items() if name.startswith("kworker/")
            for s in track if s[0] == "xhci_hcd_interrupt_work"]
    started = sum(1 for e in threaded_run.events if e.kind == WORK_START)
    assert len(work) >= started > 0


def test_ksoftirqd_track_shows_the_softirqs_it_runs(overload_run) -> None:
    slices = perfetto_slices(perfetto(overload_run))
    tracks = [name for name in slices if name.startswith("ksoftirqd/")]
    assert tracks
    net_rx = [s for name in tracks for s in slices[name] if s[0] == "NET_RX"]
    stretches = {name: [s for s in slices[name] if s[0] == name] for name in tracks}
    assert net_rx
    for name in tracks:  # every softirq lies inside a stretch of its thread
        for _, begin, end in (s for s in slices[name] if s[0] == "NET_RX"):
            assert any(b <= begin and end <= e for _, b, e in stretches[name])
    assert len(net_rx) < sum(1 for e in overload_run.events if e.kind == SOFTIRQ_ENTRY)


def test_dpcs_per_cpu(dpc_run) -> None:
    slices = perfetto_slices(perfetto(dpc_run))
    drawn = Counter(name for track, s in slices.items() if track.startswith("DPCs CPU")
                    for name, _, _ in s)
    ran = Counter(e.name for e in dpc_run.events if e.kind == DPC_ENTRY)
    assert drawn == ran and len(ran) >= 2
    # Chrome: the same, in process "DPCs"
    events = chrome(dpc_run)
    begun = Counter(e["name"] for e in events if e.get("pid") == DPCS_PID and e["ph"] == "B")
    assert begun == ran


def test_chrome_thread_tracks_nest_and_are_named(threaded_run) -> None:
    events = chrome(threaded_run)
    names = {e["tid"]: e["args"]["name"] for e in events
             if e.get("pid") == THREADS_PID and e["ph"] == "M" and e["name"] == "thread_name"}
    assert names[100] == "irq/17-i2c_hid" and "kworker/1:0" in names.values()
    stack: dict[int, list[str]] = defaultdict(list)
    begun: Counter[str] = Counter()
    for e in events:
        if e.get("pid") != THREADS_PID or e["ph"] not in "BE":
            continue
        if e["ph"] == "B":
            stack[e["tid"]].append(e["name"])
            begun[names[e["tid"]] + ":" + e["name"]] += 1
        else:
            stack[e["tid"]].pop()
    assert not any(stack.values())
    switched_in = sum(1 for e in threaded_run.events if e.kind == SCHED_SWITCH and e.irq == 100)
    assert begun["irq/17-i2c_hid:irq/17-i2c_hid"] == switched_in
    assert any(k.endswith(":xhci_hcd_interrupt_work") for k in begun)


def test_napi_polls_per_cpu_inside_net_rx() -> None:
    run = simulated("receive-livelock", 5_000_000)  # its base scenario: NAPI receive
    polls = Counter((e.cpu, e.name) for e in run.events if e.kind == NAPI_ENTRY)
    assert polls and {name for _, name in polls} == {"eth0-rx-0"}
    slices = perfetto_slices(perfetto(run))
    drawn = Counter((int(track.removeprefix("NAPI polls CPU")), name)
                    for track, s in slices.items() if track.startswith("NAPI polls CPU")
                    for name, _, _ in s)
    assert drawn == polls
    for cpu, _ in polls:  # each poll runs inside a NET_RX softirq of its CPU
        net_rx = [(b, e) for name, b, e in slices[f"softirq CPU{cpu}"] if name == "NET_RX"]
        for _, begin, end in slices[f"NAPI polls CPU{cpu}"]:
            assert any(b <= begin and end <= e for b, e in net_rx)
    events = chrome(run)
    begun = Counter((e["tid"], e["name"]) for e in events
                    if e.get("pid") == NAPI_PID and e["ph"] == "B")
    assert begun == polls
