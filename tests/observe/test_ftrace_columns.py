"""The vectorised tracefs parser reads exactly what the regular expression reads."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irqlab.observe.ftrace import FtraceReader

HEADER = "# tracer: nop\n#\n# entries-in-buffer/entries-written: 9/9   #P:4\n#\n"
TASKS = ["<idle>-0", "kworker/1:1H-214", "fio-3021", "ksoftirqd/2-27", "<idle>-0",
         "a-very-long-task-name-12345-99999"]
EVENTS = [
    "irq_handler_entry: irq={n} name=eth0-TxRx-{cpu}",
    "irq_handler_entry: irq={n} name=PCIe PME, pciehp  ",
    "irq_handler_entry: irq={n} name=" + "x" * 40,
    "irq_handler_exit: irq={n} ret=handled",
    "irq_handler_exit: irq={n} ret=unhandled",
    "softirq_raise: vec={v} [action=NET_RX]",
    "softirq_entry: vec={v} [action=NET_RX]",
    "softirq_exit: vec={v} [action=NET_RX]",
    "local_timer_entry: vector=236",
    "local_timer_exit: vector=236",
    "call_function_single_entry: vector=251",
    "deferred_error_apic_exit: vector=244",
    "sched_switch: prev_comm=fio prev_pid=3021 ==> next_comm=swapper/{cpu} next_pid=0",
    "sched_waking: comm=kworker/{cpu}:1H pid=214 prio=100 target_cpu=00{cpu}",
    "tasklet_entry: tasklet=0xffff9 func=foo",
    "kvm_entry: vcpu 0, rip 0xffffffff",
    # damaged or unusual: the regular expression decides, the fast path must agree
    "softirq_exit: vec=x3",
    "irq_handler_exit: irq={n} ret=maybe",
    "irq_handler_exit: irq={n} ret=handled  ",
    "irq_handler_entry:  irq={n} name=two-spaces",
    "irq:irq_handler_entry: irq={n} name=perf",
    "foo_entry: irq={n}",
    "weird name_entry: vector=3",
    "local_timer_entry: vector=236 extra",
    "softirq_raise: vec={big} [action=RCU]",
    "irq_handler_entry: irq=-{n} name=neg",
]


CLEAN = 16  # EVENTS[:CLEAN] are well formed


def lines(kinds: int):
    return st.builds(
        lambda task, cpu, flags, sec, usec, ev, n, v: (
            f"{task:>16}     [{cpu:03d}] {flags} {sec:5d}.{usec:06d}: "
            + EVENTS[ev].format(n=n, v=v, cpu=cpu, big="9" * 12)),
        st.sampled_from(TASKS), st.integers(0, 3), st.sampled_from(["d.h1.", "..s1.", "dN.2."]),
        st.integers(0, 99999), st.integers(0, 999999), st.integers(0, kinds - 1),
        st.integers(0, 300), st.integers(0, 9))


def both(text: str, chunk: int):
    fast = FtraceReader(io.BytesIO(text.encode()), chunk_bytes=chunk)
    slow = FtraceReader(io.BytesIO(text.encode()), chunk_bytes=chunk)
    slow._fixed_columns = lambda _chunk: None  # type: ignore[method-assign]
    return (list(fast.columns()), fast), (list(slow.columns()), slow)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(lines(CLEAN), min_size=1, max_size=60),
                 st.lists(lines(len(EVENTS)), min_size=1, max_size=60)),
       st.sampled_from([64, 300, 1 << 16]), st.booleans())
def test_vectorised_columns_equal_the_regular_expressions(body, chunk, header) -> None:
    text = (HEADER if header else "") + "\n".join(body) + "\n"
    (fast_cols, fast), (slow_cols, slow) = both(text, chunk)
    flat = [tuple(zip(*c, strict=True)) for c in fast_cols]
    assert flat == [tuple(zip(*c, strict=True)) for c in slow_cols]
    assert (fast.count, fast.max_cpu, fast.skipped) == (slow.count, slow.max_cpu, slow.skipped)


def test_a_clean_tracefs_chunk_is_read_vectorised() -> None:
    """The fast path really runs (else the equality above proves nothing)."""
    text = HEADER + "".join(
        f"          <idle>-0       [00{i % 4}] d.h1.   102.{i:06d}: {ev}\n"
        for i, ev in enumerate(["irq_handler_entry: irq=36 name=virtio1-req.0",
                                "irq_handler_exit: irq=36 ret=handled",
                                "local_timer_entry: vector=236",
                                "softirq_raise: vec=4 [action=BLOCK]"] * 50)) + "CPU:3 [LOST 7 EVENTS]\n"
    reader = FtraceReader(io.BytesIO(text.encode()))
    chunk = next(reader.chunks())
    parsed = reader._fixed_columns(chunk)
    assert parsed is not None
    cols = parsed.columns
    assert len(cols[0]) == 200
    assert parsed.lines == 205 and parsed.strays == (HEADER + "CPU:3 [LOST 7 EVENTS]\n").encode()
    assert cols[5][:3] == ["virtio1-req.0", "", "local_timer"]
    assert cols[0][:2] == [102_000_000_000, 102_000_001_000]
    reader = FtraceReader(io.BytesIO(text.encode()))
    assert sum(len(c[0]) for c in reader.columns()) == 200
    assert reader.lost == [(3, 7)]  # found among the lines out of the layout


@pytest.mark.parametrize("text", [
    # the dot within the first 8 columns: read by the regular expression
    "[1] 1.000001: irq_handler_entry: irq=1 name=x\n[1] 1.000002: irq_handler_exit: irq=1 ret=handled\n",
    # a layout whose columns lie far right, then short lines at the chunk's end
    "".join(f"{'t' * 90}-1 [00{i}] d.h1. 5.00000{i}: softirq_raise: vec=3 [action=NET_RX]\n"
            for i in range(4)) + "x\n\n",
    # 6 and 7 CPU digits
    "  a-1 [000001] d.h1. 12.000001: softirq_raise: vec=3 [action=NET_RX]\n"
    "  a-1 [0000001] d.h1. 12.000001: softirq_raise: vec=3 [action=NET_RX]\n",
    # seconds of 7 and 8 digits under a 5-digit layout
    "  a-1 [000] d.h1. 12345.000001: softirq_raise: vec=3 [action=NET_RX]\n"
    "  a-1 [000] d.h1. 1234567.000001: softirq_raise: vec=3 [action=NET_RX]\n"
    "  a-1 [000] 12345678.000001: softirq_raise: vec=3 [action=NET_RX]\n",
])
def test_edge_layouts_read_as_the_regular_expression_does(text) -> None:
    for chunk in (64, 1 << 16):
        (fast_cols, fast), (slow_cols, slow) = both(text, chunk)
        assert [tuple(zip(*c, strict=True)) for c in fast_cols] == \
            [tuple(zip(*c, strict=True)) for c in slow_cols]
        assert (fast.count, fast.skipped) == (slow.count, slow.skipped)
        assert fast.count >= 2


def events_of(text: bytes, chunk: int, fast: bool = True):
    """(events in file order, count, max_cpu, skipped, lost) read from ``text``."""
    reader = FtraceReader(io.BytesIO(text), chunk_bytes=chunk)
    if not fast:
        reader._fixed_columns = lambda _chunk: None  # type: ignore[method-assign]
    events = [ev for cols in reader.columns() for ev in zip(*cols, strict=True)]
    return events, reader.count, reader.max_cpu, reader.skipped, reader.lost


LOST = "CPU:{cpu} [LOST {n} EVENTS]"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(lines(len(EVENTS)), st.sampled_from(["plain", "crlf", "lost", "long"])),
                min_size=1, max_size=40),
       st.integers(0, 120), st.integers(17, 700), st.booleans())
def test_any_chunking_reads_what_one_regular_expression_pass_reads(body, cut, chunk,
                                                                   header) -> None:
    """Lines split across chunk boundaries, CRLF line ends, LOST markers, lines
    longer than a chunk and a last line cut short (no newline): the fast path at
    any chunk size reads exactly what the regular expression reads in one pass."""
    out = [HEADER] if header else []
    for i, (line, how) in enumerate(body):
        if how == "crlf":
            line += "\r"
        elif how == "lost":
            line = LOST.format(cpu=i % 4, n=i + 1)
        elif how == "long":  # a sched line far longer than a chunk, then the event
            out.append(line.split(": ")[0] + ": sched_switch: " + "prev_comm=x " * 400 + "\n")
        out.append(line + "\n")
    text = "".join(out).encode()
    text = text[:len(text) - cut] if cut < len(text) else text  # a trace cut mid-line
    whole = events_of(text, 1 << 20, fast=False)
    assert events_of(text, chunk) == whole
    assert events_of(text, chunk, fast=False) == whole


def test_the_tricky_inputs_are_read() -> None:
    """The property above sees what it claims: a LOST marker, a CRLF event, an
    event after a line longer than the chunk, and a cut last line."""
    line = "          <idle>-0       [001] d.h1.   102.000001: "
    text = (HEADER + line + "softirq_raise: vec=3 [action=NET_RX]\r\n"
            + LOST.format(cpu=1, n=12) + "\n"
            + line + "sched_switch: " + "x" * 5000 + "\n"
            + line + "irq_handler_entry: irq=36 name=virtio1-req.0\r\n"
            + line + "irq_handler_exit: irq=36 ret=handled\n"
            + line + "irq_handler_exit: irq=36 ret=han").encode()
    for chunk in (64, 300, 1 << 20):
        events, count, max_cpu, skipped, lost = events_of(text, chunk)
        assert (count, max_cpu) == (3, 1)
        assert events == [(102_000_001_000, 1, 3, -1, 3, ""),
                          (102_000_001_000, 1, 1, 36, 0, "virtio1-req.0"),
                          (102_000_001_000, 1, 2, 36, 1, "")]
        assert lost == [(1, 12)]
        assert (skipped.count, skipped.line) == (1, 10)  # 4 header lines, 5 whole ones
        assert skipped.reason.startswith("no newline: cut short?")


@pytest.mark.parametrize("event", EVENTS)
def test_each_line_among_clean_ones_reads_as_the_regular_expression_does(event) -> None:
    """One line of each kind (damaged ones too) among clean events: the random
    mixes above rarely hold a single odd line with nothing else to send the
    chunk to the regular expression."""
    clean = "          <idle>-0       [001] d.h1.   102.000001: softirq_raise: vec=3 [action=NET_RX]\n"
    odd = "          <idle>-0       [002] d.h1.   102.000002: " + event.format(
        n=36, v=3, cpu=2, big="9" * 12) + "\n"
    text = (HEADER + clean * 5 + odd + clean * 5).encode()
    for chunk in (64, 1 << 16):
        assert events_of(text, chunk) == events_of(text, 1 << 16, fast=False)


@pytest.mark.parametrize("chunk", [200, 1 << 20])
def test_a_trace_smaller_than_a_chunk_and_cut_short_keeps_its_header(chunk) -> None:
    """The header's CPU count is read from the first chunk also when that chunk
    ends the stream inside a line."""
    text = (HEADER + "          <idle>-0       [001] d.h1.   102.000001: "
            "softirq_raise: vec=3 [action=NET_RX]\n<idle>-0 [001] 102.0000").encode()
    reader = FtraceReader(io.BytesIO(text), chunk_bytes=chunk)
    assert sum(len(c[0]) for c in reader.columns()) == 1
    assert reader.cpus == 4 and (reader.skipped.count, reader.skipped.line) == (1, 6)
