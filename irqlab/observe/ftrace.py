"""Streaming reader of ftrace text into :class:`irqlab.events.Event`.

Reads what ``cat trace``, ``trace_pipe``, ``trace-cmd report`` (with or without
``-t``) and ``perf script`` print for the ``irq`` and ``irq_vectors`` events::

    <idle>-0       [001] d.h1.   102.385089: irq_handler_entry: irq=36 name=virtio1-req.0
    <idle>-0     [001]   102.385089123: irq_handler_exit:     irq=36 ret=handled
    swapper     0 [001]  102.385089: irq:softirq_raise: vec=4 [action=BLOCK]

The CPU column may be zero-padded or not, the latency-flags column may have 4
characters (before v5.17), 5 (with migrate-disable) or be absent; a record-tgid
column is ignored.  A timestamp ``S.F`` is seconds with any number of fraction
digits (6 for the tracefs text of ns clocks, 9 for ``trace-cmd report -t``);
one without a fraction is a raw clock value (``counter``/``x86-tsc`` clocks) and is
taken as is.  ``CPU:N [LOST M EVENTS]`` lines (kernel/trace/trace.c) are counted
in :attr:`FtraceReader.lost`.  All other lines are skipped.

A damaged file never stops the reader: a line that looks like one of these
events but whose arguments do not parse (``softirq_exit: vec=x3``, a field cut
short), and a last line without its newline (a trace cut mid-line), are left
out and counted in :attr:`FtraceReader.skipped` with the first one's line number.

Speed: the file is read in large chunks.  A chunk in the fixed columns of tracefs
text is read vectorised (:mod:`irqlab.observe.ftrace_columns`); any other has one
compiled regular expression run ``findall`` over it, so scanning and skipping
happen in C and Python only touches matched events.  Memory is bounded by the
chunk size.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import IO, TYPE_CHECKING, cast

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SOFTIRQ_KINDS,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    Event,
)
from irqlab.observe.damage import Skipped, excerpt
from irqlab.observe.ftrace_line import EVENT_RE

if TYPE_CHECKING:
    from irqlab.observe.ftrace_columns import Columns, Layout, Parsed

CHUNK_BYTES = 1 << 22

_LOST_RE = re.compile(rb"CPU:(\d{1,5}) \[LOST (\d{1,20}) EVENTS\]")
# ret= is irqreturn_t as printed by irq_handler_exit: "handled" or "unhandled"
_ARGS_RE = re.compile(
    r"irq_handler_entry: +irq=(-?\d{1,10}) name=(.*?)\s*$"
    r"|irq_handler_exit: +irq=(-?\d{1,10}) ret=(handled|unhandled)\s*$"
    r"|softirq_(raise|entry|exit): +vec=(\d{1,10})(?: |$)|(\w+)_(entry|exit): +vector=(\d{1,10})\s*$"
)
_CPUS_RE = re.compile(rb"^(?:#[^\n]*#P:(\d{1,5})|cpus=(\d{1,5}))", re.M)
_SOFTIRQ_KIND = {name.removeprefix("softirq_"): kind for name, kind in SOFTIRQ_KINDS.items()}
_CACHE_LIMIT = 1 << 16
_DOT = ord(".")

Decoded = tuple[int, int, int, str]


class _Decoded(dict[bytes, "Decoded | None"]):
    """``b"event: args"`` -> ``(kind, irq, value, name)``, or None for an event
    whose arguments do not parse (a damaged line).  The distinct values are few
    (one per IRQ, softirq vector and system vector), so each is parsed once and
    later lookups run in C."""

    def __missing__(self, raw: bytes) -> Decoded | None:
        m = _ARGS_RE.match(raw.decode("utf-8", "replace"))
        value: Decoded | None
        if m is None:
            value = None  # damaged
        elif m.group(1) is not None:
            value = (IRQ_ENTRY, int(m.group(1)), 0, m.group(2))
        elif m.group(3) is not None:
            value = (IRQ_EXIT, int(m.group(3)), 0 if m.group(4) == "unhandled" else 1, "")
        elif m.group(5) is not None:
            value = (_SOFTIRQ_KIND[m.group(5)], -1, int(m.group(6)), "")
        else:
            kind = VECTOR_ENTRY if m.group(8) == "entry" else VECTOR_EXIT
            value = (kind, -1, int(m.group(9)), m.group(7))
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[raw] = value
        return value


class _Ints(dict[bytes, int]):
    """CPU column text -> int."""

    def __missing__(self, raw: bytes) -> int:
        self[raw] = value = int(raw)
        return value


def _ns(stamp: bytes) -> int:
    sec, _, frac = stamp.partition(b".")
    return int(sec) * 10**9 + int((frac + b"000000000")[:9]) if frac else int(sec)


def _timestamps(stamps: tuple[bytes, ...]) -> list[int]:
    """ns from ``S.F`` stamps.  When every stamp has the fraction width of the
    first (the normal case), the conversion runs in C."""
    width = len(stamps[0]) - stamps[0].find(b".") - 1
    if 0 < width <= 9:
        try:
            uniform = set(map(itemgetter(-width - 1), stamps)) == {_DOT}
        except IndexError:
            uniform = False
        if uniform:
            digits = map(bytes.replace, stamps, repeat(b"."), repeat(b""))
            return list(map((10 ** (9 - width)).__mul__, map(int, digits)))
    return list(map(_ns, stamps))


class FtraceReader:
    """Iterate the irq events of an ftrace text stream (opened in binary mode),
    in file order.

    ``cpus`` is taken from the header (``#P:N`` of tracefs, ``cpus=N`` of
    trace-cmd) when present, else it is one more than the highest CPU seen;
    ``lost`` lists ``(cpu, count)`` of the ``[LOST n EVENTS]`` markers;
    ``count`` is the number of events read so far.
    """

    def __init__(self, stream: IO[bytes], chunk_bytes: int = CHUNK_BYTES):
        self._stream = stream
        self._chunk = chunk_bytes
        self.header_cpus: int | None = None
        self.max_cpu = -1
        self.count = 0
        self.lost: list[tuple[int, int]] = []
        self.skipped = Skipped()
        self._lines = 0  # lines before the current chunk
        self._decoded = _Decoded()
        self._ints = _Ints()
        self._layout: Layout | None = None

    @property
    def cpus(self) -> int:
        return self.header_cpus if self.header_cpus is not None else self.max_cpu + 1

    def chunks(self) -> Iterator[bytes]:
        """Chunks of whole lines: about ``chunk_bytes`` read, then the rest of
        the last line (one copy of the data).  A last line without its newline
        is counted in ``skipped`` (it may be cut short: only complete lines are
        read).  A line longer than a chunk is gathered in pieces (linear in its
        length).  The consumer adds each chunk's lines to ``_lines`` before it
        takes the next one (:meth:`columns` does)."""
        read, readline, first = self._stream.read, self._stream.readline, True
        while True:
            data = read(self._chunk)
            if not data:
                return
            pieces, tail = [data], b""
            while not pieces[-1].endswith(b"\n"):
                rest = readline(self._chunk)
                if not rest:  # the end of the stream, within a line
                    joined = b"".join(pieces)
                    end = joined.rfind(b"\n") + 1
                    pieces, tail = [joined[:end]], joined[end:].strip()
                    break
                pieces.append(rest)
            whole = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            if first:
                first = False
                m = _CPUS_RE.search(whole, 0, 8192)
                if m:
                    self.header_cpus = int(m.group(1) or m.group(2))
            if whole:
                yield whole
            if tail:
                self.skipped.add(self._lines + 1, f"no newline: cut short? {excerpt(tail)}")

    def _skip_damaged(self, chunk: bytes, texts: tuple[bytes, ...],
                      info: list[Decoded | None]) -> None:
        """Count the events of ``chunk`` whose arguments did not parse."""
        first = texts[info.index(None)]
        line = self._lines + chunk.count(b"\n", 0, chunk.find(first)) + 1
        self.skipped.add(line, f"arguments do not parse: {excerpt(first)}", info.count(None))

    def columns(self) -> Iterator[Columns]:
        """The events of each chunk as columns (no object per event): the fixed
        tracefs columns are read vectorised (:mod:`irqlab.observe.ftrace_columns`),
        any other chunk with one ``findall`` and all per-event work in C through
        ``map``.  ``max_cpu`` and ``count`` cover the chunks yielded so far."""
        for chunk in self.chunks():
            gc_was_enabled = gc.isenabled()
            gc.disable()  # the young lists and tuples are acyclic: no rescans
            try:
                parsed = self._fixed_columns(chunk)
                if parsed is not None:  # LOST markers are out of the layout
                    cols, lines, others = parsed
                else:
                    cols, lines, others = self._matched_columns(chunk), chunk.count(b"\n"), chunk
            finally:
                if gc_was_enabled:
                    gc.enable()
            if b"LOST" in others:
                self.lost += [(int(c), int(n)) for c, n in _LOST_RE.findall(others)]
            self._lines += lines
            if cols[0]:
                self.max_cpu = max(self.max_cpu, max(cols[1]))
                self.count += len(cols[0])
                yield cols

    def _fixed_columns(self, chunk: bytes) -> Parsed | None:
        """The chunk read in the layout of the previous one or of its own first
        event line; None when it is in no layout the vectorised parser reads."""
        from irqlab.observe.ftrace_columns import layout_of, parse_chunk  # numpy: on use

        if self._layout is not None:
            cols = parse_chunk(chunk, self._layout)
            if cols is not None:
                return cols
        m = EVENT_RE.search(chunk)
        if m is None:
            return None
        line = chunk.rfind(b"\n", 0, m.start()) + 1
        layout = layout_of((m.start(1) - line, m.end(1) - line),
                           (m.start(2) - line, m.end(2) - line),
                           chunk.find(b".", m.start(2), m.end(2)) - line,
                           m.start(3) - line)
        if layout is None or layout == self._layout:
            return None
        self._layout = layout
        return parse_chunk(chunk, layout)

    def _matched_columns(self, chunk: bytes) -> Columns:
        """The chunk read with one ``findall`` of :data:`EVENT_RE`; damaged
        events are counted in ``skipped``."""
        rows = EVENT_RE.findall(chunk)
        if not rows:
            return [], [], [], [], [], []
        cpus, stamps, texts = zip(*rows, strict=True)
        del rows
        info: list[Decoded | None] = list(map(self._decoded.__getitem__, texts))
        ts, cpu = _timestamps(stamps), list(map(self._ints.__getitem__, cpus))
        if None in info:
            self._skip_damaged(chunk, texts, info)
            keep = [i is not None for i in info]
            ts, cpu = list(compress(ts, keep)), list(compress(cpu, keep))
            info = list(compress(info, keep))
        if not info:
            return [], [], [], [], [], []
        kind, irq, value, name = map(list, zip(*cast("list[Decoded]", info), strict=True))
        return ts, cpu, kind, irq, value, name

    def batches(self) -> Iterator[list[Event]]:
        """Lists of events, one per chunk (built in C from :meth:`columns`)."""
        new = tuple.__new__
        for cols in self.columns():
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                batch: list[Event] = list(map(new, repeat(Event), zip(*cols, strict=True)))
            finally:
                if gc_was_enabled:
                    gc.enable()
            yield batch

    def __iter__(self) -> Iterator[Event]:
        return chain.from_iterable(self.batches())


def looks_like_ftrace(head: bytes) -> bool:
    """True if ``head`` (the start of a file) has an ftrace header or irq event line."""
    if head.startswith(b"# tracer:") or re.match(rb"cpus=\d+\n", head):
        return True
    return EVENT_RE.search(head) is not None
