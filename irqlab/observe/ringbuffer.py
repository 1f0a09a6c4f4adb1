"""Decoder of the kernel ring-buffer pages read from ``per_cpu/cpuN/trace_pipe_raw``.

Layout (``kernel/trace/ring_buffer.c``; sizes from ``events/header_page``):
a sub-buffer page starts with ``u64 timestamp`` and ``local_t commit`` (the data
length; bit 31 ``RB_MISSED_EVENTS`` says events were lost before this page, bit
30 ``RB_MISSED_STORED`` that their count follows the data as an ``unsigned
long``), then the events.  Each event has a 32-bit header ``type_len:5,
time_delta:27`` (little-endian bit-fields):

* ``type_len`` 1..28: data of ``type_len * 4`` bytes follows;
* ``type_len`` 0: ``array[0]`` holds the data length + 4, data follows it;
* 29 ``PADDING``: a discarded event of ``array[0] + 4`` bytes whose time delta
  still counts (as in libtraceevent's kbuffer), or with ``time_delta == 0`` the
  end of the page's data;
* 30 ``TIME_EXTEND``: ``time_delta | array[0] << 27`` is added to the time;
* 31 ``TIME_STAMP``: absolute time ``time_delta | array[0] << 27``.

Every event's time is the page timestamp plus the deltas so far: nanoseconds of
the instance's ``trace_clock``.  The event data starts with ``common_type`` (the
event id) and its fields are laid out as the event's ``format`` file says; this
module decodes the ``irq``, ``irq_vectors``, ``sched_switch``/``sched_wakeup``,
``workqueue_*`` and ``tasklet_*`` events into :class:`Event` (fields as
:mod:`irqlab.events` lists them; function pointers named by ``symbol``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    SOFTIRQ_KINDS,
    TASKLET_ENTRY,
    TASKLET_EXIT,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    WORK_END,
    WORK_QUEUE,
    WORK_START,
    Event,
)
from irqlab.observe.kallsyms import hex_symbol

RB_MISSED_EVENTS = 1 << 31
RB_MISSED_STORED = 1 << 30
RB_MISSED_FLAGS = RB_MISSED_EVENTS | RB_MISSED_STORED
TYPE_PADDING, TYPE_TIME_EXTEND, TYPE_TIME_STAMP = 29, 30, 31
TS_SHIFT = 27
ABS_TS_MASK = (1 << 59) - 1  # TIME_STAMP carries the low 59 bits (rb_fix_abs_ts)

_FIELD_RE = re.compile(
    r"field:(?P<decl>[^;]+);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d)")
_INT_FMT = {1: "b", 2: "h", 4: "i", 8: "q"}


class RingBufferError(ValueError):
    """A page or format file could not be decoded."""


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    size: int
    signed: bool
    data_loc: bool  # __data_loc: u32 = (length << 16) | offset of the payload

    def read_int(self, data: bytes) -> int:
        fmt = _INT_FMT[self.size]
        return struct.unpack_from("<" + (fmt if self.signed else fmt.upper()), data, self.offset)[0]

    def read_str(self, data: bytes) -> str:
        """A ``__data_loc char[]`` field (the NUL-terminated payload it points
        at) or a ``char[N]`` array (``comm``)."""
        if self.data_loc:
            (loc,) = struct.unpack_from("<I", data, self.offset)
            start, length = loc & 0xFFFF, loc >> 16
        else:
            start, length = self.offset, self.size
        return data[start:start + length].split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_format(text: str) -> tuple[int, str, dict[str, Field]]:
    """(id, name, fields) from an event's ``format`` file."""
    m_id = re.search(r"^ID: (\d+)$", text, re.M)
    m_name = re.search(r"^name: (\S+)$", text, re.M)
    if not m_id or not m_name:
        raise RingBufferError("format file without 'name:' and 'ID:' lines")
    fields = {}
    for m in _FIELD_RE.finditer(text):
        decl = m.group("decl").strip()
        name = re.sub(r"\[.*\]$", "", decl.split()[-1])
        fields[name] = Field(name, int(m.group("offset")), int(m.group("size")),
                             m.group("signed") == "1", decl.startswith("__data_loc"))
    return int(m_id.group(1)), m_name.group(1), fields


def parse_header_page(text: str) -> tuple[int, int, int]:
    """(commit offset, commit size, data offset) from ``events/header_page``."""
    fields = {}
    for m in _FIELD_RE.finditer(text):
        fields[m.group("decl").split()[-1]] = (int(m.group("offset")), int(m.group("size")))
    try:
        return fields["commit"][0], fields["commit"][1], fields["data"][0]
    except KeyError:
        raise RingBufferError("header_page has no 'commit'/'data' fields") from None


class PageDecoder:
    """Turns raw pages of one CPU into Events.  ``formats`` maps event id ->
    (event name, fields) for the events to decode; other ids are skipped."""

    def __init__(self, header_page: str, formats: dict[int, tuple[str, dict[str, Field]]],
                 symbol: Callable[[int], str] = hex_symbol):
        self.commit_offset, commit_size, self.data_offset = parse_header_page(header_page)
        self.commit_fmt = "<Q" if commit_size == 8 else "<I"
        self.long_fmt = self.commit_fmt
        self.formats = formats
        self.symbol = symbol

    def decode(self, page: bytes, cpu: int) -> tuple[list[Event], int]:
        """Events of one page and the number of events the kernel lost before it
        (-1 when lost but not counted)."""
        (ts,) = struct.unpack_from("<Q", page, 0)
        (commit,) = struct.unpack_from(self.commit_fmt, page, self.commit_offset)
        flags, length = commit & RB_MISSED_FLAGS, commit & ~RB_MISSED_FLAGS
        start, end = self.data_offset, self.data_offset + length
        if end > len(page):
            raise RingBufferError(f"cpu{cpu}: page commit {length} exceeds page size {len(page)}")
        lost = 0
        if flags & RB_MISSED_EVENTS:
            lost = -1
            if flags & RB_MISSED_STORED and end + struct.calcsize(self.long_fmt) <= len(page):
                (lost,) = struct.unpack_from(self.long_fmt, page, end)
        events: list[Event] = []
        pos = start
        while pos + 4 <= end:
            (hdr,) = struct.unpack_from("<I", page, pos)
            type_len, delta = hdr & 0x1F, hdr >> 5
            if type_len == TYPE_PADDING:
                if delta == 0:
                    break
                (size,) = struct.unpack_from("<I", page, pos + 4)
                ts += delta
                pos += 4 + size
                continue
            if type_len == TYPE_TIME_EXTEND:
                (hi,) = struct.unpack_from("<I", page, pos + 4)
                ts += delta | (hi << TS_SHIFT)
                pos += 8
                continue
            if type_len == TYPE_TIME_STAMP:
                (hi,) = struct.unpack_from("<I", page, pos + 4)
                ts = (ts & ~ABS_TS_MASK) | ((delta | (hi << TS_SHIFT)) & ABS_TS_MASK)
                pos += 8
                continue
            ts += delta
            if type_len == 0:
                (size,) = struct.unpack_from("<I", page, pos + 4)
                data, pos = page[pos + 8:pos + 4 + size], pos + 4 + size
            else:
                data, pos = page[pos + 4:pos + 4 + type_len * 4], pos + 4 + type_len * 4
            (event_id,) = struct.unpack_from("<H", data, 0)
            fmt = self.formats.get(event_id)
            if fmt is not None:
                events.append(decode_record(ts, cpu, fmt[0], fmt[1], data, self.symbol))
        return events, lost


def decode_record(ts: int, cpu: int, name: str, fields: dict[str, Field], data: bytes,
                  symbol: Callable[[int], str]) -> Event:
    """The Event for one decoded record."""
    def get(key: str) -> int:
        return fields[key].read_int(data)

    if name == "irq_handler_entry":
        return Event(ts, cpu, IRQ_ENTRY, get("irq"), 0, fields["name"].read_str(data))
    if name == "irq_handler_exit":
        return Event(ts, cpu, IRQ_EXIT, get("irq"), 1 if get("ret") else 0)
    if name.startswith("softirq_"):
        return Event(ts, cpu, SOFTIRQ_KINDS[name], -1, get("vec"))
    if name == "sched_switch":
        return Event(ts, cpu, SCHED_SWITCH, get("next_pid"), get("prev_state"),
                     fields["next_comm"].read_str(data))
    if name == "sched_wakeup":
        return Event(ts, cpu, SCHED_WAKEUP, get("pid"), get("prio"), fields["comm"].read_str(data))
    if name.startswith("workqueue_"):
        kind = {"workqueue_queue_work": WORK_QUEUE, "workqueue_execute_start": WORK_START,
                "workqueue_execute_end": WORK_END}[name]
        function = symbol(get("function")) if "function" in fields else ""
        return Event(ts, cpu, kind, get("work"), get("cpu") if kind == WORK_QUEUE else 0, function)
    if name.startswith("tasklet_"):
        func = "func" if "func" in fields else "function"
        return Event(ts, cpu, TASKLET_ENTRY if name == "tasklet_entry" else TASKLET_EXIT, -1, 0,
                     symbol(get(func)))
    base, _, edge = name.rpartition("_")
    return Event(ts, cpu, VECTOR_ENTRY if edge == "entry" else VECTOR_EXIT, -1, get("vector"), base)
