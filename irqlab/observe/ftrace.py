"""Streaming reader of ftrace text into :class:`irqlab.events.Event`.

Reads what ``cat trace``, ``trace_pipe``, ``trace-cmd report`` (with or without
``-t``) and ``perf script`` print for the ``irq`` and ``irq_vectors`` events,
and for ``sched_switch``, ``sched_wakeup`` and the ``workqueue`` events::

    <idle>-0       [001] d.h1.   102.385089: irq_handler_entry: irq=36 name=virtio1-req.0
    <idle>-0     [001]   102.385089123: irq_handler_exit:     irq=36 ret=handled
    swapper     0 [001]  102.385089: irq:softirq_raise: vec=4 [action=BLOCK]
    <idle>-0   [000] d..2.   5.000012: sched_switch: prev_comm=swapper/0 prev_pid=0
        prev_prio=120 prev_state=R ==> next_comm=irq/24-eth0 next_pid=131 next_prio=49

(the last one line).  Their fields become events as :mod:`irqlab.events` lists
them; ``prev_state`` letters become the TASK_REPORT bits (``R+``: preempted).
The coarsest fraction of a second seen is kept in
:attr:`FtraceReader.fraction_digits` (6: microseconds, as tracefs prints).

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

Speed: the file is read in large chunks.  Where the C module
``irqlab.observe._ftrace_scan`` is built (beside the compiled core), it finds a
chunk's events as ``findall`` of the regular expression does and decodes them
through the same cache, with no Python object per line.  Without it, a chunk in
the fixed columns of tracefs text is read vectorised
(:mod:`irqlab.observe.ftrace_columns`); any other has one compiled regular
expression run ``findall`` over it, so scanning and skipping happen in C and
Python only touches matched events.  All three give the same events.  Memory is
bounded by the chunk size.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Mapping
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import IO, TYPE_CHECKING, cast

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    SOFTIRQ_KINDS,
    TASK_REPORT_MAX,
    TASK_STATE_LETTERS,
    TASKLET_ENTRY,
    TASKLET_EXIT,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    WORK_END,
    WORK_QUEUE,
    WORK_START,
    Event,
)
from irqlab.observe.damage import Skipped, excerpt
from irqlab.observe.ftrace_line import EVENT_RE

if TYPE_CHECKING:
    from io import BufferedIOBase

    from typing_extensions import Buffer

    from irqlab.observe.ftrace_columns import Columns, Layout, Parsed

CHUNK_BYTES = 1 << 22

_LOST_RE = re.compile(rb"CPU:(\d{1,5}) \[LOST (\d{1,20}) EVENTS\]")
# ret= is irqreturn_t as printed by irq_handler_exit: "handled" or "unhandled"
_ARGS_RE = re.compile(
    r"irq_handler_entry: +irq=(-?\d{1,10}) name=(.*?)\s*$"
    r"|irq_handler_exit: +irq=(-?\d{1,10}) ret=(handled|unhandled)\s*$"
    r"|softirq_(raise|entry|exit): +vec=(\d{1,10})(?: |$)|(\w+)_(entry|exit): +vector=(\d{1,10})\s*$"
)
# include/trace/events/{irq,sched,workqueue}.h TP_printk formats (older kernels:
# tasklet "func=", execute_end without the function, sched_wakeup "success=1"),
# and the sched plugins of libtraceevent (trace-cmd report, perf script):
# "comm:pid [prio] state ==> comm:pid [prio]", "comm:pid [prio] CPU:003".
# A function may print with its module: "e1000_watchdog [e1000e]".
_TASK_ARGS_RE = re.compile(
    r"(tasklet_entry|tasklet_exit): +(?:tasklet=\S+ function|func)=\.?(.+?)\s*$"
    r"|sched_switch: +(?:prev_comm=.*? prev_pid=-?\d{1,10} prev_prio=-?\d{1,10} "
    r"prev_state=([A-Za-z|]{1,40}\+?) ==> next_comm=(.*?) next_pid=(\d{1,10}) "
    r"next_prio=-?\d{1,10}"
    r"|.*?:-?\d{1,10} \[-?\d{1,10}\] ([A-Za-z|]{1,40}\+?) ==> (.*?):(\d{1,10}) "
    r"\[-?\d{1,10}\])\s*$"
    r"|sched_wakeup: +(?:comm=(.*?) pid=(\d{1,10}) prio=(-?\d{1,10})(?: success=1)? "
    r"target_cpu=\d{1,5}"
    r"|(.*?):(\d{1,10}) \[(-?\d{1,10})\](?: success=1)? CPU:\d{1,5})\s*$"
    r"|workqueue_queue_work: +work struct=(?:0x)?([0-9a-f]{1,16}) function=(.+?) "
    r"workqueue=\S+ req_cpu=\d{1,10} cpu=(-?\d{1,10})\s*$"
    r"|workqueue_execute_(start|end): +work struct (?:0x)?([0-9a-f]{1,16})"
    r"(?:: function (.+?))?\s*$"
)
_LETTER_BITS = {c: bit for bit, c in TASK_STATE_LETTERS}
_CPUS_RE = re.compile(rb"^(?:#[^\n]*#P:(\d{1,5})|cpus=(\d{1,5}))", re.M)
_SOFTIRQ_KIND = {name.removeprefix("softirq_"): kind for name, kind in SOFTIRQ_KINDS.items()}
_CACHE_LIMIT = 1 << 16
_DOT = ord(".")
_NL = ord("\n")
_LINE_ROOM = 1 << 16
"""Bytes beyond ``chunk_bytes`` in the reader's buffer for the rest of a
chunk's last line (a longer line is gathered in a copy)."""

Decoded = tuple[int, int, int, str]
Scan = Callable[["Buffer", Mapping[bytes, "Decoded | None"]],
                "tuple[Columns, int, bytes, int, int, int] | None"]
_c_scan: Scan | None
try:
    from irqlab.observe._ftrace_scan import scan as _c_scan
except ImportError:  # not built, stale, or IRQLAB_PURE_PYTHON: numpy and regex paths
    _c_scan = None


class _Decoded(dict[bytes, "Decoded | None"]):
    """``b"event: args"`` -> ``(kind, irq, value, name)``, or None for an event
    whose arguments do not parse (a damaged line).  The distinct values are few
    (one per IRQ, softirq vector and system vector), so each is parsed once and
    later lookups run in C."""

    def __missing__(self, raw: bytes) -> Decoded | None:
        text = raw.decode("utf-8", "replace")
        m = _ARGS_RE.match(text)
        value: Decoded | None
        if m is None:
            value = _task_event(text)
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


def _prev_state(text: str) -> int | None:
    """The TASK_REPORT bits of a printed ``prev_state`` (None: an unknown letter)."""
    state = TASK_REPORT_MAX if text.endswith("+") else 0
    for letter in text.rstrip("+").split("|"):
        if letter != "R":
            bit = _LETTER_BITS.get(letter)
            if bit is None:
                return None
            state |= bit
    return state


def _task_event(text: str) -> Decoded | None:
    """A tasklet, scheduler or workqueue event's ``(kind, irq, value, name)``
    (fields as :mod:`irqlab.events` lists them), or None when damaged."""
    m = _TASK_ARGS_RE.match(text)
    if m is None:
        return None
    (tasklet, function, state, comm, pid, p_state, p_comm, p_pid, woken, wpid, prio, p_woken,
     p_wpid, p_prio, qwork, qfunc, qcpu, edge, work, wfunc) = m.groups()
    if tasklet is not None:
        return (TASKLET_ENTRY if tasklet == "tasklet_entry" else TASKLET_EXIT, -1, 0, function)
    if p_state is not None:  # the plugin's layout
        state, comm, pid = p_state, p_comm, p_pid
    if state is not None:
        bits = _prev_state(state)
        return None if bits is None else (SCHED_SWITCH, int(pid), bits, comm)
    if p_wpid is not None:
        woken, wpid, prio = p_woken, p_wpid, p_prio
    if wpid is not None:
        return (SCHED_WAKEUP, int(wpid), int(prio), woken)
    if qwork is not None:
        return (WORK_QUEUE, int(qwork, 16), int(qcpu), qfunc)
    return (WORK_START if edge == "start" else WORK_END, int(work, 16), 0, wfunc or "")


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
        self._scan = _c_scan  # the C module's scan, None: the numpy and regex paths
        #: fewest fraction digits of the timestamps read (9: ns; 6: the us of
        #: tracefs text; None before any, or for raw clock values)
        self.fraction_digits: int | None = None

    def _note_digits(self, digits: int) -> None:
        if self.fraction_digits is None or digits < self.fraction_digits:
            self.fraction_digits = digits

    @property
    def cpus(self) -> int:
        return self.header_cpus if self.header_cpus is not None else self.max_cpu + 1

    def chunks(self) -> Iterator[memoryview]:
        """Chunks of whole lines: ``chunk_bytes`` read, then the rest of the
        last line, into one buffer that every chunk reuses (no copy of the
        data, and the buffer stays in the CPU's caches).  Each is a view of
        it, valid until the next one is taken (``bytes()`` of it to keep it).
        A last line without its newline is counted in ``skipped`` (it may be
        cut short: only complete lines are read).  A line longer than
        :data:`_LINE_ROOM` is gathered in pieces (linear in its length).  The
        consumer adds each chunk's lines to ``_lines`` before it takes the next
        one (:meth:`columns` does)."""
        readinto = cast("BufferedIOBase", self._stream).readinto  # files opened "rb" have it
        readline, size = self._stream.readline, self._chunk
        buf, first = bytearray(size + _LINE_ROOM), True
        while True:
            n = readinto(memoryview(buf)[:size])
            if not n:
                return
            pieces: list[bytes] = []  # the rest of the last line, past the room
            end, tail, last = n, b"", buf[n - 1]
            while last != _NL:
                rest = readline(size)
                if not rest:  # the end of the stream, within a line
                    break
                if not pieces and end + len(rest) <= len(buf):
                    buf[end:end + len(rest)] = rest  # same size: the buffer is not resized
                    end += len(rest)
                else:
                    pieces.append(rest)
                last = rest[-1]
            whole = memoryview(buf)[:end]
            if pieces or last != _NL:  # a line past the room, or cut short
                joined = bytes(whole) + b"".join(pieces)
                cut = joined.rfind(b"\n") + 1
                whole, tail = memoryview(joined[:cut]), joined[cut:].strip()
            if first:
                first = False
                m = _CPUS_RE.search(bytes(whole[:8192]))
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
        for view in self.chunks():
            gc_was_enabled = gc.isenabled()
            gc.disable()  # the young lists and tuples are acyclic: no rescans
            try:
                parsed = None if self._scan is None else self._scanned(self._scan, view)
                chunk = b""
                if parsed is None:  # the Python paths read bytes
                    chunk = bytes(view)
                    if self._scan is None:
                        parsed = self._fixed_columns(chunk)
                if parsed is not None:  # LOST markers are out of the layout
                    cols, lines, others, max_cpu = parsed
                else:
                    cols, lines, others = self._matched_columns(chunk), chunk.count(b"\n"), chunk
                    max_cpu = max(cols[1], default=-1)
            finally:
                if gc_was_enabled:
                    gc.enable()
            if b"LOST" in others:
                self.lost += [(int(c), int(n)) for c, n in _LOST_RE.findall(others)]
            self._lines += lines
            if cols[0]:
                self.max_cpu = max(self.max_cpu, max_cpu)
                self.count += len(cols[0])
                yield cols

    def _scanned(self, scan: Scan, chunk: Buffer) -> tuple[Columns, int, bytes, int] | None:
        """The chunk read by the C module's ``scan``; None when it leaves the
        chunk to :meth:`_matched_columns` (a damaged event, a CPU or timestamp
        past 64 bits)."""
        found = scan(chunk, self._decoded)
        if found is None:
            return None
        cols, lines, lost, first, last, max_cpu = found
        for digits in (first, last):  # as _matched_columns: the first and last stamp
            if digits >= 0:
                self._note_digits(digits)
        return cols, lines, lost, max_cpu

    def _fixed_columns(self, chunk: bytes) -> Parsed | None:
        """The chunk read in the layout of the previous one or of its own first
        event line; None when it is in no layout the vectorised parser reads."""
        from irqlab.observe.ftrace_columns import layout_of, parse_chunk  # numpy: on use

        if self._layout is not None:
            cols = parse_chunk(chunk, self._layout)
            if cols is not None:
                if cols[0]:
                    self._note_digits(6)  # the layout's timestamps have 6 digits
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
        cols = parse_chunk(chunk, layout)
        if cols is not None and cols[0]:
            self._note_digits(6)
        return cols

    def _matched_columns(self, chunk: bytes) -> Columns:
        """The chunk read with one ``findall`` of :data:`EVENT_RE`; damaged
        events are counted in ``skipped``."""
        rows = EVENT_RE.findall(chunk)
        if not rows:
            return [], [], [], [], [], []
        cpus, stamps, texts = zip(*rows, strict=True)
        del rows
        for stamp in {stamps[0], stamps[-1]}:
            if b"." in stamp:
                self._note_digits(len(stamp) - stamp.index(b".") - 1)
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
