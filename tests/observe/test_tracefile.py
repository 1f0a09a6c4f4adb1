"""irqlab trace format: round trip, header, errors, and input format detection."""

import io

import pytest

from irqlab.events import (
    DPC_ENTRY,
    DPC_EXIT,
    DPC_QUEUE,
    IRQ_ENTRY,
    IRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    Event,
)
from irqlab.observe.tracefile import (
    FTRACE,
    INTERRUPTS,
    IRQLAB_TRACE,
    MAGIC,
    SOFTIRQS,
    TraceFormatError,
    TraceHeader,
    TraceReader,
    UnknownFormatError,
    detect_format,
    write_trace,
)

EVENTS = [
    Event(10, 0, IRQ_ENTRY, 25, 0, "PCIe PME, pciehp"),
    Event(15, 0, IRQ_EXIT, 25, 1, ""),
    Event(20, 1, SOFTIRQ_RAISE, -1, 3, ""),
    Event(30, 1, VECTOR_ENTRY, -1, 236, "local_timer"),
    Event(40, 0, DPC_QUEUE, 25, 0, "ndis.sys!ndis_miniportDpc"),
    Event(50, 0, DPC_ENTRY, -1, 0, "ndis.sys!ndis_miniportDpc"),
    Event(60, 0, DPC_EXIT, -1, 0, "ndis.sys!ndis_miniportDpc"),
]


def test_round_trip_keeps_events_and_header():
    header = TraceHeader(cpus=2, clock="mono", start_ns=1, end_ns=99, lost_events=7,
                         overrun=[0, 5], dropped=[2, 0], source="unit test",
                         extra={"kernel": "6.18"})
    out = io.StringIO()
    assert write_trace(out, header, EVENTS) == len(EVENTS)
    text = out.getvalue()
    assert "\n50 0 dpc_entry -1 0 ndis.sys!ndis_miniportDpc\n" in text
    assert text.splitlines()[0] == MAGIC
    reader = TraceReader(io.StringIO(text), "t")
    assert reader.header == header
    assert list(reader) == EVENTS


def test_lost_markers_are_collected():
    text = f"{MAGIC}\n# cpus: 1\n1 0 irq_entry 5 0 x\n# lost cpu=0 count=12 ts_ns=3\n4 0 irq_exit 5 1 \n"
    reader = TraceReader(io.StringIO(text), "t")
    assert len(list(reader)) == 2
    assert reader.lost == [(0, 12, 3)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("# irqlab-trace v9\n# cpus: 1\n", 1, "first line"),
        (f"{MAGIC}\n# clock: mono\n", None, "cpus"),
        (f"{MAGIC}\n# cpus: two\n", 2, "integer"),
        (f"{MAGIC}\n# cpus: 1\n# overrun: 0 1\n", 3, "cpuN=M"),
    ],
)
def test_bad_header_names_the_line(text, line, words):
    with pytest.raises(TraceFormatError) as err:
        list(TraceReader(io.StringIO(text), "t.trace"))
    assert err.value.line == line and words in str(err.value) and "t.trace" in str(err.value)


def test_bad_event_line_is_skipped_naming_the_line():
    text = f"{MAGIC}\n# cpus: 1\n1 0 irq_entry 5 0 x\n2 0 irq_entry five\n3 0 irq_exit 5 1 \n"
    reader = TraceReader(io.StringIO(text), "t.trace")
    assert [e.ts_ns for e in reader] == [1, 3]
    assert (reader.skipped.count, reader.skipped.line) == (1, 4)
    assert "irq_entry five" in reader.skipped.reason


def test_unknown_kind_is_skipped_naming_it():
    text = f"{MAGIC}\n# cpus: 1\n1 0 irq_bogus 5 0 x\n2 0 irq_exit 5 1 \n"
    reader = TraceReader(io.StringIO(text), "t")
    assert [e.ts_ns for e in reader] == [2]
    assert reader.skipped.count == 1 and "irq_bogus" in reader.skipped.reason


def test_a_trace_cut_anywhere_reads_every_complete_line():
    header = TraceHeader(cpus=2, clock="mono")
    out = io.StringIO()
    write_trace(out, header, EVENTS)
    text = out.getvalue()
    body = len("\n".join(header.lines())) + 1
    for cut in range(body, len(text) + 1):
        reader = TraceReader(io.StringIO(text[:cut]), "t")
        complete = text[body:cut].count("\n")
        assert list(reader) == EVENTS[:complete]
        assert reader.skipped.count == (0 if text[:cut].endswith("\n") else 1)


@pytest.mark.parametrize("junk", [
    "9" * 5000 + " 0 irq_entry 5 0 x",  # int() refuses 4300+ digits
    "1 0 irq_entry " + "5" * 5000 + " 0 x",
    "\x00\xff\x0b\x0c\x1c junk \x85",
    "1 0 irq_entry 5 0 " + "n" * 10_000_000,  # a 10 MB name is read, in linear time
])
def test_damaged_or_huge_lines_never_crash(junk):
    text = f"{MAGIC}\n# cpus: 1\n{junk}\n7 0 irq_exit 5 1 \n"
    reader = TraceReader(io.StringIO(text), "t")
    events = list(reader)
    assert events[-1] == Event(7, 0, IRQ_EXIT, 5, 1, "")
    assert len(events) + reader.skipped.count == 2


def test_huge_header_numbers_are_header_errors():
    with pytest.raises(TraceFormatError, match="cpus"):
        TraceReader(io.StringIO(f"{MAGIC}\n# cpus: {'9' * 5000}\n"), "t")
    with pytest.raises(TraceFormatError, match="cpuN=M"):
        TraceReader(io.StringIO(f"{MAGIC}\n# cpus: 1\n# overrun: cpu{'9' * 5000}=1\n"), "t")


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        (f"{MAGIC}\n# cpus: 1\n", IRQLAB_TRACE),
        ("# tracer: nop\n#\n", FTRACE),
        ("  <idle>-0  [000]  5.000001: irq_handler_exit: irq=9 ret=handled\n", FTRACE),
        ("cpus=2\n  <idle>-0  [000]  5.000001: softirq_raise: vec=1 [action=TIMER]\n", FTRACE),
        ("           CPU0\n  0:   5   IO-APIC   2-edge   timer\n", INTERRUPTS),
        ("hello\n           CPU0\n  0:   5   IO-APIC   2-edge   timer\n", INTERRUPTS),
        ("                    CPU0\n          HI:          1\n       TIMER:   3\n", SOFTIRQS),
    ],
)
def test_detect_format(tmp_path, content, fmt):
    path = tmp_path / "f.txt"
    path.write_text(content)
    assert detect_format(path) == fmt


@pytest.mark.parametrize(("content", "words"), [("", "empty"), ("\n\n", "empty"),
                                                 ("key = value\n", "unknown format")])
def test_detect_format_rejects_naming_the_file(tmp_path, content, words):
    path = tmp_path / "weird.txt"
    path.write_text(content)
    with pytest.raises(UnknownFormatError) as err:
        detect_format(path)
    assert str(path) in str(err.value) and words in str(err.value)
