"""irqlab's own trace file (``irqlab-trace v1``) and the input-format detector.

Format (see ``docs/trace-format.md``): UTF-8 text.  Line 1 is exactly
``# irqlab-trace v1``.  Header lines ``# key: value`` follow, in any order:

=================  ==========================================================
``cpus``           number of CPUs (CPU ids are 0 .. cpus-1)
``clock``          trace clock the timestamps come from (e.g. ``mono``)
``start_ns``       clock value when capture started
``end_ns``         clock value when capture stopped
``lost_events``    events the kernel reported lost (ring-buffer pages missed)
``overrun``        per-CPU ``cpuN=M`` overwritten events (``per_cpu/cpuN/stats``)
``dropped``        per-CPU ``cpuN=M`` events dropped because the buffer was full
``source``         free text: where the events came from
=================  ==========================================================

Unknown keys are kept (a reader ignores what it does not know).  Then one event
per line, space-separated: ``ts_ns cpu kind irq value name`` where ``kind`` is
the lower-case :class:`irqlab.events.Kind` name (``irq_entry``, ``irq_exit``,
``softirq_raise``, ``softirq_entry``, ``softirq_exit``, ``vector_entry``,
``vector_exit``, ``irq_raise``), ``irq`` is -1 where absent and ``name`` is the
rest of the line (may contain spaces, may be empty).  Lines starting with ``#``
after the header are comments; ``# lost cpu=N count=M ts_ns=T`` marks a gap.

A damaged header is an error naming the line.  A damaged event line (a field
that does not parse, an unknown kind, a last line cut short without its
newline) is left out and counted in :attr:`TraceReader.skipped`: the reader
reads everything that is complete.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING

from irqlab.events import Event, Kind
from irqlab.observe.damage import Skipped, excerpt

if TYPE_CHECKING:
    from irqlab.observe.ftrace_columns import Columns

MAGIC = "# irqlab-trace v1"
KIND_NAMES = {k.value: k.name.lower() for k in Kind}
_KIND_BY_NAME = {v: k for k, v in KIND_NAMES.items()}
_HEADER_RE = re.compile(r"^# ([a-z_]+): ?(.*)$")
# Digit runs are bounded: int() refuses more than 4300 digits, and no field needs 20.
_EVENT_RE = re.compile(
    r"^(\d{1,20}) (\d{1,5}) ([a-z_]{1,20}) (-?\d{1,20}) (-?\d{1,20}) ?([^\n]*)$", re.M)
_LOST_RE = re.compile(r"^# lost cpu=(\d{1,5}) count=(-?\d{1,20}) ts_ns=(\d{1,20})$", re.M)
_INT_RE = re.compile(r"-?\d{1,20}")
_CPU_COUNT_RE = re.compile(r"cpu(\d{1,5})=(\d{1,20})")
_CHUNK_CHARS = 1 << 22


class TraceFormatError(ValueError):
    """An irqlab trace file is malformed; ``source`` and ``line`` say where."""

    def __init__(self, message: str, source: str, line: int | None = None):
        self.message, self.source, self.line = message, source, line
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")


@dataclass
class TraceHeader:
    """The header of an irqlab trace; per-CPU counts are lists indexed by CPU."""

    cpus: int
    clock: str = "unknown"
    start_ns: int | None = None
    end_ns: int | None = None
    lost_events: int = 0
    overrun: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    source: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [MAGIC, f"# cpus: {self.cpus}", f"# clock: {self.clock}"]
        if self.start_ns is not None:
            out.append(f"# start_ns: {self.start_ns}")
        if self.end_ns is not None:
            out.append(f"# end_ns: {self.end_ns}")
        out.append(f"# lost_events: {self.lost_events}")
        for key, values in (("overrun", self.overrun), ("dropped", self.dropped)):
            if values:
                out.append(f"# {key}: " + " ".join(f"cpu{i}={v}" for i, v in enumerate(values)))
        if self.source:
            out.append(f"# source: {self.source}")
        out += [f"# {k}: {v}" for k, v in self.extra.items()]
        return out


def format_event(ev: Event) -> str:
    """One event line (without newline)."""
    return f"{ev[0]} {ev[1]} {KIND_NAMES[ev[2]]} {ev[3]} {ev[4]} {ev[5]}"


def write_trace(stream: IO[str], header: TraceHeader, events: Iterator[Event] | list[Event]) -> int:
    """Write a complete trace; returns the number of events written."""
    stream.write("\n".join(header.lines()) + "\n")
    n = 0
    for ev in events:
        stream.write(format_event(ev) + "\n")
        n += 1
    return n


def _per_cpu(text: str, key: str, source: str, lineno: int) -> list[int]:
    values: dict[int, int] = {}
    for item in text.split():
        m = _CPU_COUNT_RE.fullmatch(item)
        if not m:
            raise TraceFormatError(f"{key}: expected 'cpuN=M' items, got {item!r}", source, lineno)
        values[int(m.group(1))] = int(m.group(2))
    return [values.get(i, 0) for i in range(max(values, default=-1) + 1)]


class TraceReader:
    """Read an irqlab trace: ``header`` is parsed on construction; iterate for
    events (chunked, one regex per chunk, bounded memory); ``lost`` lists the
    ``(cpu, count, ts_ns)`` gap markers met so far, ``skipped`` the damaged lines."""

    def __init__(self, stream: IO[str], source: str = "<trace>"):
        self._stream, self.source = stream, source
        first = stream.readline()
        if first.rstrip("\n") != MAGIC:
            raise TraceFormatError(f"first line must be {MAGIC!r}", source, 1)
        fields: dict[str, tuple[str, int]] = {}
        lineno, pending = 1, ""
        while True:
            line = stream.readline()
            lineno += 1
            m = _HEADER_RE.match(line)
            if not m:
                pending = line
                break
            fields[m.group(1)] = (m.group(2).strip(), lineno)
        self._first_body, self._body_line = pending, lineno
        self.lost: list[tuple[int, int, int]] = []
        self.skipped = Skipped()
        self.max_cpu = -1
        self.header = self._header(fields)

    def _header(self, fields: dict[str, tuple[str, int]]) -> TraceHeader:
        def num(key: str) -> int | None:
            if key not in fields:
                return None
            text, lineno = fields.pop(key)
            if not _INT_RE.fullmatch(text):
                raise TraceFormatError(f"{key}: expected an integer, got {text!r}",
                                       self.source, lineno)
            return int(text)

        cpus = num("cpus")
        if cpus is None or cpus <= 0:
            raise TraceFormatError("header has no positive 'cpus'", self.source)
        header = TraceHeader(cpus=cpus, start_ns=num("start_ns"), end_ns=num("end_ns"),
                             lost_events=num("lost_events") or 0)
        for key in ("overrun", "dropped"):
            if key in fields:
                text, lineno = fields.pop(key)
                setattr(header, key, _per_cpu(text, key, self.source, lineno))
        header.clock = fields.pop("clock", ("unknown", 0))[0]
        header.source = fields.pop("source", ("", 0))[0]
        header.extra = {k: v for k, (v, _) in fields.items()}
        return header

    def _chunks(self) -> Iterator[tuple[int, str]]:
        """``(first line number, chunk of whole lines)``; a last line without its
        newline is counted in ``skipped`` (it may be cut short)."""
        pieces, lineno = [self._first_body], self._body_line
        while True:
            data = self._stream.read(_CHUNK_CHARS)
            if not data:
                rest = "".join(pieces)
                if rest.endswith("\n"):
                    yield lineno, rest
                elif rest.strip():
                    self.skipped.add(lineno + rest.count("\n"),
                                     f"no newline: cut short? {excerpt(rest[rest.rfind(chr(10)) + 1:])}")
                    yield lineno, rest[:rest.rfind("\n") + 1]
                return
            cut = data.rfind("\n") + 1
            if cut == 0:
                pieces.append(data)
                continue
            pieces.append(data[:cut])
            whole = "".join(pieces)
            pieces = [data[cut:]]
            yield lineno, whole
            lineno += whole.count("\n")

    def __iter__(self) -> Iterator[Event]:
        new = tuple.__new__
        for cols in self.columns():
            yield from map(new, repeat(Event), zip(*cols, strict=True))

    def columns(self) -> Iterator[Columns]:
        """The events of each chunk of the file as columns (ts_ns, cpu, kind,
        irq, value, name); ``max_cpu`` is the highest CPU of the events yielded
        so far (-1 before any)."""
        kinds = _KIND_BY_NAME
        for lineno, chunk in self._chunks():
            rows = _EVENT_RE.findall(chunk)
            comments = chunk.count("\n#")
            if chunk.startswith("#"):
                comments += 1
            if len(rows) + comments != chunk.count("\n") or not kinds.keys() >= {r[2] for r in rows}:
                rows = self._sound_rows(chunk, lineno)
            if comments:
                self.lost += [(int(c), int(n), int(t)) for c, n, t in _LOST_RE.findall(chunk)]
            if not rows:
                continue
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                ts, cpu, kind, irq, value, name = zip(*rows, strict=True)
                cols: Columns = (list(map(int, ts)), list(map(int, cpu)),
                                 list(map(kinds.__getitem__, kind)), list(map(int, irq)),
                                 list(map(int, value)), list(name))
            finally:
                if gc_was_enabled:
                    gc.enable()
            self.max_cpu = max(self.max_cpu, max(cols[1]))
            yield cols

    def _sound_rows(self, chunk: str, lineno: int) -> list[tuple[str, ...]]:
        """The event rows of a chunk that has damaged lines, which are counted."""
        rows = []
        for i, line in enumerate(chunk.split("\n")[:-1]):
            if line.startswith("#"):
                continue
            m = _EVENT_RE.fullmatch(line)
            if m is None:
                self.skipped.add(lineno + i, f"expected 'ts_ns cpu kind irq value name', "
                                             f"got {excerpt(line)}")
            elif m.group(3) not in _KIND_BY_NAME:
                self.skipped.add(lineno + i, f"unknown event kind {m.group(3)!r}")
            else:
                rows.append(m.groups())
        return rows


# --- format detection -------------------------------------------------------

IRQLAB_TRACE, FTRACE, INTERRUPTS, SOFTIRQS = "irqlab-trace", "ftrace", "interrupts", "softirqs"


class UnknownFormatError(ValueError):
    """A file is none of the formats ``irqlab report`` reads."""


def detect_format(path: str | Path, head_chars: int = 65536) -> str:
    """``IRQLAB_TRACE``, ``FTRACE``, ``INTERRUPTS`` or ``SOFTIRQS`` for the file at
    ``path``, judged from its first ``head_chars`` characters.

    Raises :class:`UnknownFormatError` (message names the file) for anything
    else, including an empty file, and ``OSError`` if it cannot be read.
    """
    from irqlab.observe.ftrace import looks_like_ftrace
    from irqlab.observe.procfs import has_cpu_header, is_softirqs

    with open(path, "rb") as f:
        raw = f.read(head_chars)
    head = raw.decode("utf-8", "replace")
    if not head.strip():
        raise UnknownFormatError(f"{path}: file is empty")
    if head.startswith(MAGIC):
        return IRQLAB_TRACE
    if looks_like_ftrace(raw):
        return FTRACE
    if has_cpu_header(head):
        return SOFTIRQS if is_softirqs(head) else INTERRUPTS
    raise UnknownFormatError(
        f"{path}: unknown format (expected an irqlab trace, ftrace text, "
        "/proc/interrupts or /proc/softirqs)")
