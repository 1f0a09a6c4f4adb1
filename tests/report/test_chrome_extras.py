"""Chrome JSON counters and flow arrows (softirq raised in a hard IRQ -> its run)."""

from __future__ import annotations

import io
import json

from irqlab.report.chrome import ChromeTraceWriter
from irqlab.report.timeline import RATE_BIN_NS


def chrome(events) -> list[dict]:
    out = io.StringIO()
    writer = ChromeTraceWriter(out, 2)
    for ev in events:
        writer.feed(*ev)
    writer.close()
    return json.loads(out.getvalue())["traceEvents"]


def _within(ts: float, slices: list[dict], tid: int, cat: str) -> bool:
    return any(s["tid"] == tid and s["cat"] == cat and s["ts"] <= ts <= s["ts"] + s["dur"]
               for s in slices)


def test_flows_start_in_the_hard_irq_and_end_in_the_softirq(default_run) -> None:
    events = chrome(default_run.events)
    slices = [e for e in events if e["ph"] == "X"]
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts and set(ends) <= set(starts)
    for flow, s in starts.items():
        assert _within(s["ts"], slices, s["tid"], "hardirq")
        if flow in ends:
            f = ends[flow]
            assert f["bp"] == "e" and f["tid"] == s["tid"] and f["ts"] >= s["ts"]
            assert _within(f["ts"], slices, f["tid"], "softirq")
    raised_in_irq = sum(1 for e in events if e["ph"] == "i" and e["cat"] == "softirq_raise"
                        and _within(e["ts"], slices, e["tid"], "hardirq"))
    assert len(starts) == raised_in_irq
    # each arrow ends at the next run of its vector on its CPU; none when it never ran again
    runs = sorted((e["ts"], e["tid"], e["args"]["vec"]) for e in slices if e["cat"] == "softirq")
    for i, e in enumerate(events):
        if e["ph"] != "s":
            continue
        raised = events[i - 1]  # the raise's instant is written just before its arrow
        assert raised["cat"] == "softirq_raise" and raised["ts"] == e["ts"]
        later = [ts for ts, tid, vec in runs
                 if tid == e["tid"] and vec == raised["args"]["vec"] and ts >= e["ts"]]
        if later:
            assert ends[e["id"]]["ts"] == later[0]
        else:
            assert e["id"] not in ends
    assert ends


def test_counters_pending_softirqs_and_irq_rate(default_run) -> None:
    events = chrome(default_run.events)
    pending = [e["args"]["vectors"] for e in events
               if e["ph"] == "C" and e["name"] == "CPU 0 pending softirqs"]
    assert pending and min(pending) == 0 and max(pending) >= 1
    # written when the count changes: one vector more or less each time
    assert all(abs(b - a) == 1 for a, b in zip([0, *pending], pending, strict=False))
    rates = [e for e in events if e["ph"] == "C" and e["name"] == "irq rate (/s)"]
    counters = default_run.report.counter_snapshot().rows
    for irq in ("24", "25", "26"):
        total = sum(e["args"][irq] for e in rates) * RATE_BIN_NS / 1e9
        assert round(total) == counters[irq].total


def test_raise_to_handler_flows(default_run) -> None:
    events = chrome(default_run.events)
    out = {e["bind_id"]: e for e in events if e.get("flow_out")}
    into = {e["bind_id"]: e for e in events if e.get("flow_in")}
    raises = [e for e in events if e["ph"] == "i" and e["cat"] == "irq_raise"]
    assert len(out) == len(raises) and set(into) <= set(out)
    for flow, handler in into.items():
        raised = out[flow]
        assert handler["ph"] == "X" and handler["cat"] == "hardirq"
        assert handler["args"]["irq"] == raised["args"]["irq"] and handler["ts"] >= raised["ts"]
    # every interrupt of a device line with a raise before it gets its arrow
    entries = sum(1 for e in events if e["ph"] == "X" and e["cat"] == "hardirq"
                  and e["args"].get("irq") == 24)
    assert sum(1 for e in into.values() if e["args"]["irq"] == 24) >= 0.9 * entries


def test_a_line_never_served_keeps_a_bounded_number_of_arrows() -> None:
    from irqlab.events import IRQ_RAISE, Event
    from irqlab.report.timeline import MAX_PENDING

    events = [Event(1000 * i, 0, IRQ_RAISE, 17) for i in range(1, 1001)]
    out = chrome(events)
    assert sum(1 for e in out if e["ph"] == "i") == 1000
    assert sum(1 for e in out if e.get("flow_out")) == MAX_PENDING
