"""The C scan (irqlab.observe._ftrace_scan) and the vectorised tracefs parser read
exactly what the regular expression reads."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irqlab.observe import ftrace
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


C_SCAN = ftrace._c_scan
# the fast paths, each compared with the regular expression alone
FAST = ["numpy", pytest.param("c", marks=pytest.mark.skipif(
    C_SCAN is None, reason="the C module is not built, or IRQLAB_PURE_PYTHON is set"))]


def reader_of(text: bytes, chunk: int, path: str) -> FtraceReader:
    """A reader of ``text`` on one path: "c" (the C scan, the regular expression
    for the chunks it leaves), "numpy" (the vectorised parser, then the regular
    expression) or "regex" (the regular expression alone)."""
    reader = FtraceReader(io.BytesIO(text), chunk_bytes=chunk)
    if path == "c":
        assert reader._scan is C_SCAN is not None
    else:
        reader._scan = None
    if path == "regex":
        reader._fixed_columns = lambda _chunk: None  # type: ignore[method-assign]
    return reader


def both(text: str, chunk: int, path: str):
    fast = reader_of(text.encode(), chunk, path)
    slow = reader_of(text.encode(), chunk, "regex")
    return (list(fast.columns()), fast), (list(slow.columns()), slow)


@pytest.mark.parametrize("path", FAST)
@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(lines(CLEAN), min_size=1, max_size=60),
                 st.lists(lines(len(EVENTS)), min_size=1, max_size=60)),
       st.sampled_from([64, 300, 1 << 16]), st.booleans())
def test_fast_columns_equal_the_regular_expressions(path, body, chunk, header) -> None:
    text = (HEADER if header else "") + "\n".join(body) + "\n"
    (fast_cols, fast), (slow_cols, slow) = both(text, chunk, path)
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
    reader = reader_of(text.encode(), 1 << 22, "numpy")
    chunk = bytes(next(reader.chunks()))
    parsed = reader._fixed_columns(chunk)
    assert parsed is not None
    cols = parsed.columns
    assert len(cols[0]) == 200 and parsed.max_cpu == 3
    assert parsed.lines == 205 and parsed.strays == (HEADER + "CPU:3 [LOST 7 EVENTS]\n").encode()
    assert cols[5][:3] == ["virtio1-req.0", "", "local_timer"]
    assert cols[0][:2] == [102_000_000_000, 102_000_001_000]
    reader = reader_of(text.encode(), 1 << 22, "numpy")
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
@pytest.mark.parametrize("path", FAST)
def test_edge_layouts_read_as_the_regular_expression_does(text, path) -> None:
    for chunk in (64, 1 << 16):
        (fast_cols, fast), (slow_cols, slow) = both(text, chunk, path)
        assert [tuple(zip(*c, strict=True)) for c in fast_cols] == \
            [tuple(zip(*c, strict=True)) for c in slow_cols]
        assert (fast.count, fast.skipped) == (slow.count, slow.skipped)
        assert fast.count >= 2


def events_of(text: bytes, chunk: int, path: str = "regex"):
    """(events in file order, count, max_cpu, skipped, lost) read from ``text``."""
    reader = reader_of(text, chunk, path)
    events = [ev for cols in reader.columns() for ev in zip(*cols, strict=True)]
    return events, reader.count, reader.max_cpu, reader.skipped, reader.lost


LOST = "CPU:{cpu} [LOST {n} EVENTS]"


@pytest.mark.parametrize("path", FAST)
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(lines(len(EVENTS)), st.sampled_from(["plain", "crlf", "lost", "long"])),
                min_size=1, max_size=40),
       st.integers(0, 120), st.integers(17, 700), st.booleans())
def test_any_chunking_reads_what_one_regular_expression_pass_reads(path, body, cut, chunk,
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
        elif how == "long":  # a line of an event irqlab does not read, longer than a chunk
            out.append(line.split(": ")[0] + ": sched_stat_runtime: " + "comm=x " * 400 + "\n")
        out.append(line + "\n")
    text = "".join(out).encode()
    text = text[:len(text) - cut] if cut < len(text) else text  # a trace cut mid-line
    whole = events_of(text, 1 << 20)
    assert events_of(text, chunk, path) == whole
    assert events_of(text, chunk) == whole


@pytest.mark.parametrize("path", [*FAST, "regex"])
def test_the_tricky_inputs_are_read(path) -> None:
    """The property above sees what it claims: a LOST marker, a CRLF event, an
    event after a line longer than the chunk, and a cut last line."""
    line = "          <idle>-0       [001] d.h1.   102.000001: "
    text = (HEADER + line + "softirq_raise: vec=3 [action=NET_RX]\r\n"
            + LOST.format(cpu=1, n=12) + "\n"
            + line + "sched_stat_runtime: " + "x" * 5000 + "\n"
            + line + "irq_handler_entry: irq=36 name=virtio1-req.0\r\n"
            + line + "irq_handler_exit: irq=36 ret=handled\n"
            + line + "irq_handler_exit: irq=36 ret=han").encode()
    for chunk in (64, 300, 1 << 20):
        events, count, max_cpu, skipped, lost = events_of(text, chunk, path)
        assert (count, max_cpu) == (3, 1)
        assert events == [(102_000_001_000, 1, 3, -1, 3, ""),
                          (102_000_001_000, 1, 1, 36, 0, "virtio1-req.0"),
                          (102_000_001_000, 1, 2, 36, 1, "")]
        assert lost == [(1, 12)]
        assert (skipped.count, skipped.line) == (1, 10)  # 4 header lines, 5 whole ones
        assert skipped.reason.startswith("no newline: cut short?")


@pytest.mark.parametrize("path", FAST)
@pytest.mark.parametrize("event", EVENTS)
def test_each_line_among_clean_ones_reads_as_the_regular_expression_does(event, path) -> None:
    """One line of each kind (damaged ones too) among clean events: the random
    mixes above rarely hold a single odd line with nothing else to send the
    chunk to the regular expression."""
    clean = "          <idle>-0       [001] d.h1.   102.000001: softirq_raise: vec=3 [action=NET_RX]\n"
    odd = "          <idle>-0       [002] d.h1.   102.000002: " + event.format(
        n=36, v=3, cpu=2, big="9" * 12) + "\n"
    text = (HEADER + clean * 5 + odd + clean * 5).encode()
    for chunk in (64, 1 << 16):
        assert events_of(text, chunk, path) == events_of(text, 1 << 16)


@pytest.mark.parametrize("chunk", [200, 1 << 20])
def test_a_trace_smaller_than_a_chunk_and_cut_short_keeps_its_header(chunk) -> None:
    """The header's CPU count is read from the first chunk also when that chunk
    ends the stream inside a line."""
    text = (HEADER + "          <idle>-0       [001] d.h1.   102.000001: "
            "softirq_raise: vec=3 [action=NET_RX]\n<idle>-0 [001] 102.0000").encode()
    reader = FtraceReader(io.BytesIO(text), chunk_bytes=chunk)
    assert sum(len(c[0]) for c in reader.columns()) == 1
    assert reader.cpus == 4 and (reader.skipped.count, reader.skipped.line) == (1, 6)


# Lines in no fixed layout, for the C scan's matching: brackets in the task, no
# flags or odd ones, system prefixes, every timestamp form, a carriage return
# inside a line, a "[=\\s]" that takes the newline, lookalikes.
ODD = [
    "foo[1]-33     [001] d.h1.   102.000001: irq_handler_entry: irq=1 name=x",
    "[1]-33 [002] 5.000001: softirq_raise: vec=1 [action=TIMER]",
    "  <idle>-0 [003]   102.385089123: irq_handler_exit:     irq=36 ret=handled",
    "swapper     0 [001]  102.385089: irq:softirq_raise: vec=4 [action=BLOCK]",
    "x-1 [000] d.h. 7.5: irq_vectors:local_timer_entry: vector=236",
    "x-1 [000] 12345: irq_handler_entry: irq=3 name=raw clock",
    "x-1 [000] 12.: irq_handler_entry: irq=3 name=empty fraction",
    "x-1 [000] 12.123456789012: irq_handler_entry: irq=3 name=12 digits",
    "x-1 [000] 12.1234567890123: irq_handler_entry: irq=3 name=13 digits",
    "x-1 [" + "1" * 19 + "] 1.000001: irq_handler_entry: irq=3 name=big cpu",
    "x-1 [000] " + "9" * 20 + ": irq_handler_entry: irq=3 name=big clock",
    "x-1 [000] " + "9" * 21 + ": irq_handler_entry: irq=3 name=bigger clock",
    "x-1 [000] 99999999999.000001: irq_handler_entry: irq=3 name=big seconds",
    "x-1 [000] 1.000001: tasklet_entry: func",
    "x-1 [000] 1.000001: tasklet_entry: func\rmore [001] 1.000002: softirq_raise: vec=1",
    "x-1 [000] 1.000001: softirq_raise: vec=1\r[001] 1.000002: softirq_entry: vec=1",
    "x-1 [000] flags7x 1.000001: irq_handler_entry: irq=3 name=seven flags",
    "x-1 [000] 123456 1.000001: irq_handler_entry: irq=3 name=digit flags",
    "x-1 [000]  d.h1.  1.000001: sched:sched_switch: prev_comm=a prev_pid=1 prev_prio=120 "
    "prev_state=S ==> next_comm=b next_pid=2 next_prio=120",
    "x-1 [000] 1.000001: workqueue:workqueue_execute_start: work struct 0xffff: function foo",
    "x-1 [000] 1.000001: workqueue_queue_work: work struct=0xffff function=foo workqueue=events "
    "req_cpu=8 cpu=1",
    "x-1 [000] 1.000001: sched_wakeup: comm=irq/24-eth0 pid=131 prio=49 target_cpu=000",
    "x-1 [000] 1.000001: irq:weird: irq=1",
    "x-1 [000] 1.000001: _entry: vector=1",
    "x-1 [000] 1.000001: __entry: vector=1",
    "x-1 [000] 1.000001: a_exit: vector=1",
    "x-1 [0a0] 1.000001: irq_handler_entry: irq=1 name=x",
    "x-1 [000] 1.000001: workqueue_: work struct=1",
    "x-1 [000] 1.000001: irq_handler_entry: irq=1 name=\u00e9t\u00e9",
    "x-1 [000] 1.000001: irq_handler_entry:\tirq=1 name=tab",
    "x-1 [000] 1.000001:  irq_handler_entry: irq=1 name=two spaces",
    "x-1 [000]1.000001: irq_handler_entry: irq=1 name=no space",
]


@pytest.mark.skipif(C_SCAN is None, reason="the C module is not built, or IRQLAB_PURE_PYTHON is set")
@pytest.mark.parametrize("odd", ODD)
def test_the_c_scan_reads_odd_lines_as_the_regular_expression_does(odd) -> None:
    clean = "          <idle>-0       [001] d.h1.   102.000001: softirq_raise: vec=3 [action=NET_RX]\n"
    for text in (odd + "\n", HEADER + clean * 3 + odd + "\n" + clean * 3 + LOST.format(cpu=1, n=2)
                 + "\n"):
        for chunk in (64, 1 << 16):
            assert events_of(text.encode(), chunk, "c") == events_of(text.encode(), 1 << 16)


@pytest.mark.skipif(C_SCAN is None, reason="the C module is not built, or IRQLAB_PURE_PYTHON is set")
def test_the_c_scan_reads_clean_chunks_itself() -> None:
    """The C scan really reads (else the equalities above prove nothing): a chunk
    of sched, odd and LOST lines, and the chunk of a damaged line it leaves."""
    valid = [odd for odd in ODD if "big" not in odd and "func" not in odd]
    text = (HEADER + "\n".join(valid) + "\n" + LOST.format(cpu=3, n=7) + "\n").encode()
    reader = reader_of(text, 1 << 22, "c")
    found = reader._scanned(C_SCAN, next(reader.chunks()))
    assert found is not None
    cols, lines, lost, max_cpu = found
    assert len(cols[0]) == len(events_of(text, 1 << 22)[0]) > 15
    assert max_cpu == max(cols[1]) == 3
    assert lines == text.count(b"\n")
    assert lost == LOST.format(cpu=3, n=7).encode() + b"\n"
    assert reader.fraction_digits == 6
    damaged = text + b"x-1 [000] 1.000001: softirq_exit: vec=x3\n"
    assert reader._scanned(C_SCAN, damaged) is None
