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

Speed: the file is read in large chunks and one compiled regular expression runs
``findall`` over each chunk, so scanning and skipping happen in C and Python only
touches matched events; memory is bounded by the chunk size.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from itertools import chain, repeat
from operator import itemgetter
from typing import IO, cast

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SOFTIRQ_KINDS,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    Event,
)

CHUNK_BYTES = 1 << 22

# cpu, timestamp, "event: args".  Only irq/softirq/vector events match; the
# event text is decoded once per distinct value (see _Decoded).  Bytes, not str:
# no decoding of skipped text, and sre runs faster on bytes.
EVENT_RE = re.compile(
    rb"\[(\d++)\] ++(?:[^\s:\[\]]{1,6}+ ++)?(\d++\.?\d*+): ++(?:irq(?:_vectors)?:)?"
    rb"((?:irq_handler_(?:entry|exit)|softirq_(?:raise|entry|exit)|\w+_(?:entry|exit)): ++"
    rb"(?:irq|vec|vector)=[^\r\n]*+)"
)
_LOST_RE = re.compile(rb"CPU:(\d+) \[LOST (\d+) EVENTS\]")
_ARGS_RE = re.compile(
    r"irq_handler_entry: +irq=(-?\d+) name=(.*?)\s*$|irq_handler_exit: +irq=(-?\d+) ret=(\w+)"
    r"|softirq_(raise|entry|exit): +vec=(\d+)|(\w+)_(entry|exit): +vector=(\d+)\s*$"
)
_CPUS_RE = re.compile(rb"^(?:#.*#P:(\d+)|cpus=(\d+))", re.M)
_SOFTIRQ_KIND = {name.removeprefix("softirq_"): kind for name, kind in SOFTIRQ_KINDS.items()}
_CACHE_LIMIT = 1 << 16
_DOT = ord(".")

Decoded = tuple[int, int, int, str]


class _Decoded(dict[bytes, "Decoded | None"]):
    """``b"event: args"`` -> ``(kind, irq, value, name)``, or None for an event that
    only looks like ours (e.g. ``vector_alloc: irq=.. vector=..``).  The distinct
    values are few (one per IRQ, softirq vector and system vector), so each is
    parsed once and later lookups run in C."""

    lookalikes = False  # set once a None (lookalike) value has been cached

    def __missing__(self, raw: bytes) -> Decoded | None:
        m = _ARGS_RE.match(raw.decode("utf-8", "replace"))
        value: Decoded | None = None
        if m is None:
            self.lookalikes = True
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
    """CPU column text -> int; its values are every CPU seen."""

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
        self._decoded = _Decoded()
        self._ints = _Ints()

    @property
    def cpus(self) -> int:
        return self.header_cpus if self.header_cpus is not None else self.max_cpu + 1

    def chunks(self) -> Iterator[bytes]:
        """Chunks of whole lines."""
        read, rest, first = self._stream.read, b"", True
        while True:
            data = read(self._chunk)
            if not data:
                if rest:
                    yield rest
                return
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            rest = data[cut:]
            if first:
                first = False
                m = _CPUS_RE.search(data, 0, 8192)
                if m:
                    self.header_cpus = int(m.group(1) or m.group(2))
            yield data[:cut]

    def batches(self) -> Iterator[list[Event]]:
        """Lists of events, one per chunk.  Matching runs in one ``findall`` per
        chunk and all per-event work (field conversion, event construction) in C
        through ``map``.  The cyclic GC is paused meanwhile: it would otherwise
        rescan the many young (acyclic) tuples and cost more than the parsing."""
        new, decoded, ints = tuple.__new__, self._decoded.__getitem__, self._ints.__getitem__
        for chunk in self.chunks():
            if b"LOST" in chunk:
                self.lost += [(int(c), int(n)) for c, n in _LOST_RE.findall(chunk)]
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                rows = EVENT_RE.findall(chunk)
                if not rows:
                    continue
                cpus, stamps, texts = zip(*rows, strict=True)
                del rows
                info: Iterable[Decoded | None] = map(decoded, texts)
                heads: Iterable[tuple[int, int]] = zip(_timestamps(stamps), map(ints, cpus),
                                                       strict=True)
                if self._decoded.lookalikes:
                    pairs = [(h, i) for h, i in zip(heads, info, strict=True) if i is not None]
                    heads, info = [h for h, _ in pairs], [i for _, i in pairs]
                # lookalikes (None) were filtered out above
                fields = map(tuple.__add__, heads, cast("Iterable[Decoded]", info))
                batch: list[Event] = list(map(new, repeat(Event), fields))
            finally:
                if gc_was_enabled:
                    gc.enable()
            self.max_cpu = max(self._ints.values())
            self.count += len(batch)
            yield batch

    def __iter__(self) -> Iterator[Event]:
        return chain.from_iterable(self.batches())


def looks_like_ftrace(head: bytes) -> bool:
    """True if ``head`` (the start of a file) has an ftrace header or irq event line."""
    if head.startswith(b"# tracer:") or re.match(rb"cpus=\d+\n", head):
        return True
    return EVENT_RE.search(head) is not None
