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
                                "softirq_raise: vec=4 [action=BLOCK]"] * 50))
    reader = FtraceReader(io.BytesIO(text.encode()))
    chunk = next(reader.chunks())
    cols = reader._fixed_columns(chunk)
    assert cols is not None and len(cols[0]) == 200
    assert cols[5][:3] == ["virtio1-req.0", "", "local_timer"]
    assert cols[0][:2] == [102_000_000_000, 102_000_001_000]


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
