from __future__ import annotations

import io
import json
import re
from pathlib import Path

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    Event,
)
from irqlab.report.chrome import ChromeTraceWriter
from irqlab.report.ftrace import FtraceTextWriter

# CPU 1: irq 36 raises NET_RX; the softirq runs and is preempted by the local timer.
STREAM = [
    Event(102_385_088_000, 1, IRQ_RAISE, 36),
    Event(102_385_089_000, 1, IRQ_ENTRY, 36, 0, "virtio1-req.0"),
    Event(102_385_089_400, 1, SOFTIRQ_RAISE, -1, 4),
    Event(102_385_089_700, 1, IRQ_EXIT, 36, 1),
    Event(102_385_090_000, 1, SOFTIRQ_ENTRY, -1, 4),
    Event(102_385_091_000, 1, VECTOR_ENTRY, -1, 236, "local_timer"),
    Event(102_385_091_250, 1, VECTOR_EXIT, -1, 236, "local_timer"),
    Event(102_385_095_000, 1, SOFTIRQ_EXIT, -1, 4),
    Event(102_385_096_000, 0, IRQ_ENTRY, 17, 0, "ehci_hcd:usb1"),
    Event(102_385_096_499, 0, IRQ_EXIT, 17, 0),
]


def chrome_trace(events: list[Event], cpus: int = 2) -> dict:
    out = io.StringIO()
    writer = ChromeTraceWriter(out, cpus, pid_name="test")
    for ev in events:
        writer.feed(*ev)
    writer.close()
    return json.loads(out.getvalue())


def test_chrome_trace_is_json_with_a_named_track_per_cpu() -> None:
    events = chrome_trace(STREAM)["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {0: "CPU 0", 1: "CPU 1"}
    assert all(e["pid"] == 1 for e in events)


def test_chrome_slices_nest_properly_on_each_track() -> None:
    slices = [e for e in chrome_trace(STREAM)["traceEvents"] if e["ph"] == "X"]
    for tid in (0, 1):
        spans = sorted((e["ts"], -e["dur"], e["ts"] + e["dur"]) for e in slices
                       if e["tid"] == tid)
        open_ends: list[float] = []
        for start, _, end in spans:
            while open_ends and open_ends[-1] <= start:
                open_ends.pop()
            assert not open_ends or end <= open_ends[-1], "slices overlap without nesting"
            open_ends.append(end)
    timer = next(e for e in slices if e["name"] == "local_timer")
    block = next(e for e in slices if e["cat"] == "softirq")
    assert block["ts"] < timer["ts"] and timer["ts"] + timer["dur"] < block["ts"] + block["dur"]


def test_chrome_events_carry_contract_fields_in_microseconds() -> None:
    events = chrome_trace(STREAM)["traceEvents"]
    hard = next(e for e in events if e.get("cat") == "hardirq" and e["args"].get("irq") == 36)
    assert hard["args"] == {"irq": 36, "ret": 1}
    assert (hard["ts"], hard["dur"]) == (102385089.0, 0.7)
    assert next(e for e in events if e.get("cat") == "softirq")["name"] == "BLOCK"
    assert {e["cat"] for e in events if e["ph"] == "i"} == {"irq_raise", "softirq_raise"}


def test_chrome_open_slices_are_closed_as_truncated_and_path_output_works(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    with ChromeTraceWriter(path, 1) as writer:
        writer.feed(1_000, 0, IRQ_EXIT, 5, 1, "")  # exit with no entry: skipped
        writer.feed(2_000, 0, IRQ_ENTRY, 5, 0, "dev")
        writer.feed(9_000, 0, SOFTIRQ_RAISE, -1, 1, "")
    assert writer.unmatched == 1
    slices = [e for e in json.loads(path.read_text())["traceEvents"] if e["ph"] == "X"]
    assert slices == [{"ts": 2.0, "dur": 7.0, "name": "irq 5: dev", "cat": "hardirq", "ph": "X",
                       "pid": 1, "tid": 0, "args": {"irq": 5, "truncated": True}}]


def ftrace_lines(events: list[Event]) -> list[str]:
    out = io.StringIO()
    writer = FtraceTextWriter(out, 2)
    for ev in events:
        writer.feed(*ev)
    writer.close()
    return out.getvalue().splitlines()


def test_ftrace_lines_match_the_kernel_format() -> None:
    lines = ftrace_lines(STREAM)
    assert lines[0] == "# tracer: nop"
    body = [line for line in lines if not line.startswith("#")]
    # first line as printed by a real tracefs (tools-and-ecosystem.md 3.0)
    assert body[0] == ("          <idle>-0       [001] d.h1.   102.385089: "
                       "irq_handler_entry: irq=36 name=virtio1-req.0")
    assert body[1:] == [
        "          <idle>-0       [001] d.h1.   102.385089: softirq_raise: vec=4 [action=BLOCK]",
        "          <idle>-0       [001] d.h1.   102.385090: irq_handler_exit: irq=36 ret=handled",
        "          <idle>-0       [001] ..s1.   102.385090: softirq_entry: vec=4 [action=BLOCK]",
        "          <idle>-0       [001] d.H1.   102.385091: local_timer_entry: vector=236",
        "          <idle>-0       [001] d.H1.   102.385091: local_timer_exit: vector=236",
        "          <idle>-0       [001] ..s1.   102.385095: softirq_exit: vec=4 [action=BLOCK]",
        "          <idle>-0       [000] d.h1.   102.385096: irq_handler_entry: irq=17 "
        "name=ehci_hcd:usb1",
        "          <idle>-0       [000] d.h1.   102.385096: irq_handler_exit: irq=17 ret=unhandled",
    ]


def test_ftrace_lines_parse_with_a_tolerant_trace_regex() -> None:
    # the shape trace readers match: task-pid, [cpu], flags, secs.usecs, event, fields
    line_re = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d{3})\]\s+(\S{4,5})\s+(\d+\.\d{6}): (\w+): (.*)$")
    body = [line for line in ftrace_lines(STREAM) if not line.startswith("#")]
    assert all(line_re.match(line) for line in body)
    assert len(body) == len(STREAM) - 1  # IRQ_RAISE has no tracepoint


def test_ftrace_file_header_counts_entries_and_cpus(tmp_path: Path) -> None:
    path = tmp_path / "trace"
    with FtraceTextWriter(path, 2) as writer:
        for ev in STREAM:
            writer.feed(*ev)
    lines = path.read_text().splitlines()
    assert lines[:3] == ["# tracer: nop", "#", "# entries-in-buffer/entries-written: 9/9   #P:2"]
    assert lines[-1].endswith("irq_handler_exit: irq=17 ret=unhandled")
    assert list(tmp_path.iterdir()) == [path]



def test_ftrace_writer_leaves_no_scratch_body_when_the_target_cannot_be_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from irqlab.report.ftrace import FtraceTextWriter

    target = tmp_path / "trace.txt"
    writer = FtraceTextWriter(target, 1)
    target.mkdir()  # the final file cannot be created any more
    with pytest.raises(IsADirectoryError):
        writer.close()
    assert not (tmp_path / "trace.txt.body").exists()
