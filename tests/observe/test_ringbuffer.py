"""Ring-buffer page decoder on pages built by hand with the kernel's layout,
using format files copied from a 6.18 x86 tracefs."""

import struct
from pathlib import Path

import pytest

from irqlab.events import IRQ_ENTRY, IRQ_EXIT, SOFTIRQ_RAISE, VECTOR_ENTRY, Event
from irqlab.observe.ringbuffer import (
    RB_MISSED_EVENTS,
    RB_MISSED_STORED,
    TYPE_PADDING,
    TYPE_TIME_EXTEND,
    TYPE_TIME_STAMP,
    PageDecoder,
    RingBufferError,
    parse_format,
)

TRACEFS = Path(__file__).resolve().parent / "fixtures" / "tracefs"
PAGE = 4096


def decoder() -> PageDecoder:
    formats = {}
    ids = {}
    for f in TRACEFS.glob("*.format"):
        event_id, name, fields = parse_format(f.read_text())
        formats[event_id] = (name, fields)
        ids[name] = event_id
    dec = PageDecoder((TRACEFS / "header_page").read_text(), formats)
    dec.ids = ids  # type: ignore[attr-defined]
    return dec


def rec(delta: int, payload: bytes, long_form: bool = False) -> bytes:
    payload += b"\0" * (-len(payload) % 4)
    if long_form:  # type_len 0: length word (data + 4) then data
        return struct.pack("<II", delta << 5, len(payload) + 4) + payload
    return struct.pack("<I", (delta << 5) | (len(payload) // 4)) + payload


def common(event_id: int) -> bytes:
    return struct.pack("<HBBi", event_id, 0, 0, 0)


def page(ts: int, body: bytes, flags: int = 0, missed: int | None = None) -> bytes:
    data = body + (struct.pack("<Q", missed) if missed is not None else b"")
    return (struct.pack("<QQ", ts, len(body) | flags) + data).ljust(PAGE, b"\0")


def entry(dec, irq: int, name: str) -> bytes:
    name_b = name.encode() + b"\0"
    loc = (len(name_b) << 16) | 16
    return common(dec.ids["irq_handler_entry"]) + struct.pack("<iI", irq, loc) + name_b


def test_format_file_fields():
    event_id, name, fields = parse_format((TRACEFS / "irq_handler_entry.format").read_text())
    assert (event_id, name) == (225, "irq_handler_entry")
    assert fields["irq"].offset == 8 and fields["irq"].signed
    assert fields["name"].data_loc


def test_events_deltas_and_extended_time():
    dec = decoder()
    body = (
        rec(100, entry(dec, 36, "virtio1-req.0"))
        + rec(50, common(dec.ids["softirq_raise"]) + struct.pack("<I", 4))
        + struct.pack("<II", TYPE_TIME_EXTEND | (5 << 5), 1)  # + 5 + (1 << 27)
        + rec(7, common(dec.ids["irq_handler_exit"]) + struct.pack("<ii", 36, 1), long_form=True)
        + rec(1, common(dec.ids["local_timer_entry"]) + struct.pack("<i", 236))
    )
    events, lost = dec.decode(page(1_000_000, body), cpu=3)
    t1 = 1_000_100
    t2 = t1 + 50
    t3 = t2 + 5 + (1 << 27) + 7
    assert events == [
        Event(t1, 3, IRQ_ENTRY, 36, 0, "virtio1-req.0"),
        Event(t2, 3, SOFTIRQ_RAISE, -1, 4, ""),
        Event(t3, 3, IRQ_EXIT, 36, 1, ""),
        Event(t3 + 1, 3, VECTOR_ENTRY, -1, 236, "local_timer"),
    ]
    assert lost == 0


def test_absolute_timestamp_and_padding():
    dec = decoder()
    abs_ts = 123_456_789_012
    body = (
        struct.pack("<II", TYPE_TIME_STAMP | ((abs_ts & ((1 << 27) - 1)) << 5), abs_ts >> 27)
        + struct.pack("<II", TYPE_PADDING | (3 << 5), 12) + b"\0" * 8  # discarded: len - 4
        + rec(2, common(dec.ids["softirq_raise"]) + struct.pack("<I", 9))
    )
    events, _ = dec.decode(page(5, body), cpu=0)
    assert events == [Event(abs_ts + 3 + 2, 0, SOFTIRQ_RAISE, -1, 9, "")]


def test_unknown_event_ids_are_skipped():
    dec = decoder()
    body = rec(1, common(9999) + b"\0" * 8) + rec(1, common(dec.ids["softirq_raise"]) + b"\1\0\0\0")
    events, _ = dec.decode(page(0, body), cpu=0)
    assert [e.value for e in events] == [1]


@pytest.mark.parametrize(("flags", "missed", "expected"),
                         [(RB_MISSED_EVENTS, None, -1),
                          (RB_MISSED_EVENTS | RB_MISSED_STORED, 42, 42)])
def test_missed_events_reported(flags, missed, expected):
    dec = decoder()
    body = rec(1, common(dec.ids["softirq_raise"]) + b"\1\0\0\0")
    events, lost = dec.decode(page(0, body, flags, missed), cpu=0)
    assert lost == expected and len(events) == 1


def test_corrupt_commit_is_an_error():
    dec = decoder()
    bad = struct.pack("<QQ", 0, 10_000).ljust(PAGE, b"\0")
    with pytest.raises(RingBufferError, match="cpu1"):
        dec.decode(bad, cpu=1)
