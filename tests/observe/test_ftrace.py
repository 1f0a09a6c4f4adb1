"""ftrace text reader: every producer's line layout, lost markers, chunking."""

import io

import pytest

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
from irqlab.observe.ftrace import FtraceReader
from irqlab.report.ftrace import FtraceTextWriter


def read(text: str, **kw) -> tuple[list[Event], FtraceReader]:
    reader = FtraceReader(io.BytesIO(text.encode()), **kw)
    return list(reader), reader


TRACEFS_TEXT = """\
# tracer: nop
#
# entries-in-buffer/entries-written: 5/5   #P:2
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
          <idle>-0       [001] d.h1.   102.385089: irq_handler_entry: irq=36 name=virtio1-req.0
          <idle>-0       [001] d.h3.   102.385147: softirq_raise: vec=4 [action=BLOCK]
          <idle>-0       [001] d.h1.   102.385148: irq_handler_exit: irq=36 ret=handled
          <idle>-0       [001] ..s1.   102.385150: softirq_entry: vec=4 [action=BLOCK]
           sleep-5009    [000] d.h..   102.385165: local_timer_entry: vector=236
           sleep-5009    [000] d.h..   102.385182: local_timer_exit: vector=236
          <idle>-0       [001] .Ns1.   102.386007: softirq_exit: vec=4 [action=BLOCK]
"""

EXPECTED = [
    Event(102_385_089_000, 1, IRQ_ENTRY, 36, 0, "virtio1-req.0"),
    Event(102_385_147_000, 1, SOFTIRQ_RAISE, -1, 4, ""),
    Event(102_385_148_000, 1, IRQ_EXIT, 36, 1, ""),
    Event(102_385_150_000, 1, SOFTIRQ_ENTRY, -1, 4, ""),
    Event(102_385_165_000, 0, VECTOR_ENTRY, -1, 236, "local_timer"),
    Event(102_385_182_000, 0, VECTOR_EXIT, -1, 236, "local_timer"),
    Event(102_386_007_000, 1, SOFTIRQ_EXIT, -1, 4, ""),
]


def test_tracefs_text_with_five_flag_columns():
    events, reader = read(TRACEFS_TEXT)
    assert events == EXPECTED
    assert reader.cpus == 2


def test_events_are_event_records():
    events, _ = read(TRACEFS_TEXT)
    assert events[0].name == "virtio1-req.0" and events[0].ts_ns == 102_385_089_000


@pytest.mark.parametrize(
    "line",
    [
        # pre-5.17 kernels: four latency flags
        "          <idle>-0     [001] d.h1   102.385089: irq_handler_entry: irq=36 name=virtio1-req.0",
        # trace-cmd report (no flags, padded fields)
        "          <idle>-0     [001]   102.385089: irq_handler_entry:    irq=36 name=virtio1-req.0",
        # unpadded CPU column, record-tgid column
        "  kworker/1:1H-214   (  214) [1] d.h1.  102.385089: irq_handler_entry: irq=36 name=virtio1-req.0",
        # perf script: system prefix on the event name
        "         swapper     0 [001]   102.385089:  irq:irq_handler_entry: irq=36 name=virtio1-req.0",
        # trace-cmd report -t: nanoseconds
        "          <idle>-0     [001]   102.385089000: irq_handler_entry: irq=36 name=virtio1-req.0",
    ],
)
def test_line_variants(line):
    events, _ = read(line + "\n")
    assert events == [Event(102_385_089_000, 1, IRQ_ENTRY, 36, 0, "virtio1-req.0")]


def test_nanosecond_fraction_is_kept():
    events, _ = read("  <idle>-0  [000]  5.000000123: irq_handler_exit: irq=9 ret=unhandled\n")
    assert events == [Event(5_000_000_123, 0, IRQ_EXIT, 9, 0, "")]


def test_raw_clock_timestamp_taken_as_is():
    events, _ = read("  <idle>-0  [000] d.h1. 987654321: irq_handler_entry: irq=9 name=acpi\n")
    assert events[0].ts_ns == 987654321


def test_action_names_with_spaces():
    events, _ = read("  <idle>-0  [000] d.h1. 1.000001: irq_handler_entry: irq=25 name=PCIe PME\n")
    assert events[0].name == "PCIe PME"


def test_other_events_and_lookalikes_are_skipped():
    text = (
        "  bash-1 [000] d..2. 1.000001: sched_switch: prev_comm=bash prev_pid=1 ==> next_comm=x\n"
        "  bash-1 [000] d..1. 1.000002: vector_alloc: irq=5 vector=34 reserved=0 ret=0\n"
        "  bash-1 [000] d..1. 1.000003: tasklet_entry: tasklet=0xffff func=foo\n"
        "  bash-1 [000] d.h1. 1.000004: irq_handler_entry: irq=5 name=x\n"
    )
    events, _ = read(text)
    assert [e.kind for e in events] == [IRQ_ENTRY]


def test_lost_markers_and_trace_cmd_cpu_count():
    text = "cpus=4\nCPU:2 [LOST 17 EVENTS]\n  a-1 [003] 1.000001: softirq_raise: vec=9 [action=RCU]\n"
    events, reader = read(text)
    assert reader.lost == [(2, 17)]
    assert reader.cpus == 4 and events[0].cpu == 3


def test_cpu_count_from_events_without_header():
    _, reader = read("  a-1 [005] 1.000001: softirq_raise: vec=9 [action=RCU]\n")
    assert reader.cpus == 6


def test_small_chunks_give_the_same_events():
    events, _ = read(TRACEFS_TEXT, chunk_bytes=37)
    assert events == EXPECTED


def test_mixed_fraction_widths():
    text = ("  a-1 [000] 1.5: softirq_raise: vec=1 [action=TIMER]\n"
            "  a-1 [000] 1.000000007: softirq_raise: vec=1 [action=TIMER]\n")
    events, _ = read(text)
    assert [e.ts_ns for e in events] == [1_500_000_000, 1_000_000_007]


def test_round_trip_through_ftrace_writer():
    """Events written by irqlab's FtraceTextWriter read back equal, with
    timestamps at the text format's microsecond resolution."""
    source = [
        Event(1_000_001_000, 0, IRQ_RAISE, 24),
        Event(1_000_002_000, 0, IRQ_ENTRY, 24, 0, "eth0-rx"),
        Event(1_000_003_000, 0, SOFTIRQ_RAISE, -1, 3),
        Event(1_000_004_000, 0, IRQ_EXIT, 24, 1),
        Event(1_000_005_000, 0, SOFTIRQ_ENTRY, -1, 3),
        Event(1_000_006_000, 1, VECTOR_ENTRY, -1, 236, "local_timer"),
        Event(1_000_007_000, 1, VECTOR_EXIT, -1, 236, "local_timer"),
        Event(1_000_009_000, 0, SOFTIRQ_EXIT, -1, 3),
        Event(1_000_010_000, 1, IRQ_ENTRY, 25, 0, "PCIe PME"),
        Event(1_000_011_000, 1, IRQ_EXIT, 25, 0),
    ]
    out = io.StringIO()
    writer = FtraceTextWriter(out, cpus=2)
    for ev in source:
        writer.feed(*ev)
    writer.close()
    events, _ = read(out.getvalue())
    assert events == [e for e in source if e.kind != IRQ_RAISE]


@pytest.mark.parametrize("bad", [
    "softirq_exit: vec=x3",
    "irq_handler_exit: irq=36 ret=",
    "irq_handler_entry: irq=3a name=x",
    "local_timer_entry: vector=",
    f"softirq_raise: vec={'9' * 5000} [action=RCU]",  # int() refuses 4300+ digits
])
def test_events_whose_arguments_do_not_parse_are_skipped_and_counted(bad):
    """A line that looks like one of our events but does not parse reaches the
    argument decoder (unlike the lookalikes above) and is counted, not fatal,
    even in the first chunk of the file."""
    lines = TRACEFS_TEXT.splitlines(keepends=True)
    text = "".join(lines[:8]) + f"          <idle>-0       [001] ..s1.   102.385151: {bad}\n" \
        + "".join(lines[8:])
    events, reader = read(text)
    assert events == EXPECTED
    assert reader.skipped.count == 1 and reader.skipped.line == 9
    assert "do not parse" in reader.skipped.reason


def test_skipped_lines_are_counted_across_chunks():
    damaged = "  a-1 [000] 1.000001: softirq_exit: vec=x3\n"
    text = TRACEFS_TEXT + damaged * 3 + "".join(TRACEFS_TEXT.splitlines(keepends=True)[6:]) \
        + damaged
    events, reader = read(text, chunk_bytes=64)
    assert events == EXPECTED * 2
    assert (reader.skipped.count, reader.skipped.line) == (4, 14)


def test_a_trace_cut_anywhere_reads_every_complete_line():
    for cut in range(len(TRACEFS_TEXT) + 1):
        head = TRACEFS_TEXT[:cut]
        events, reader = read(head, chunk_bytes=50)
        complete = read(head[: head.rfind("\n") + 1])[0]
        assert events == complete
        assert reader.skipped.count == bool(head[head.rfind("\n") + 1:].strip())


@pytest.mark.parametrize("line", [
    "x" * 10_000_000,  # one 10 MB line, read in pieces: linear time
    "[001] 1.000001: irq_handler_entry: irq=1 name=" + "n" * 2_000_000,
    "[" * 2_000_000 + "001] ",
    "\x00\xff\x0b\x0c\x1c [001] \x85 1.5: softirq_raise: vec=\xff",
    f"  a-1 [{'9' * 5000}] 1.000001: softirq_raise: vec=1 [action=TIMER]",
    f"  a-1 [000] {'9' * 5000}.1: softirq_raise: vec=1 [action=TIMER]",
])
def test_junk_and_huge_lines_never_crash(line):
    events, reader = read(TRACEFS_TEXT + line + "\n" + TRACEFS_TEXT, chunk_bytes=1 << 20)
    assert events[:7] == EXPECTED and events[-7:] == EXPECTED
    assert len(events) - 14 + reader.skipped.count <= 1


def test_read_through_the_progress_bars_byte_counter():
    """What a terminal gets for a large file (irqlab.progress.reading): the
    wrapper counts every byte the reader takes, by readinto and readline."""
    from irqlab.progress import _Counted

    advanced: list[int] = []
    text = TRACEFS_TEXT.encode()
    reader = FtraceReader(_Counted(io.BytesIO(text), advanced.append), chunk_bytes=100)
    assert list(reader) == EXPECTED
    assert sum(advanced) == len(text)
