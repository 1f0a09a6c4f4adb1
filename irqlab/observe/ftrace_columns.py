"""Vectorised parser of the fixed columns of tracefs text (``cat trace``).

The kernel prints every event line of a trace with one layout
(``print_trace_fmt`` in kernel/trace/trace_output.c)::

    "%16s-%-7d [%03d] %s %5lu.%06lu: %s: " + the event's own TP_printk

so within a stretch of the file the CPU brackets, the timestamp's dot and colon
and the event name stand at the same columns of each line.  Given those columns
(learned from the first event line of a chunk), this module reads a whole chunk
with numpy: the newlines locate the lines, gathers at fixed offsets check the
layout and read CPU and timestamp digits, the event name is compared with the
``irq`` tracepoints' (include/trace/events/irq.h: ``irq=%d name=%s``,
``irq=%d ret=%s``, ``vec=%u [action=%s]``) and ``irq_vectors`` events'
(``vector=%d``) fixed texts, and the arguments' digits are read with a few
vector operations.  Python only touches the events' name strings.

It reads only what it can prove it reads exactly as the regular expression of
:mod:`irqlab.observe.ftrace` does: when any line of the chunk that could be one
of our events is out of layout or does not parse, :func:`parse_chunk` returns
None and the caller reads the chunk with that expression instead (other
producers' layouts, damaged lines, CPUs above 999, timestamps without a
fraction or past 99999 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from irqlab.events import IRQ_ENTRY, IRQ_EXIT, SOFTIRQ_KINDS, VECTOR_ENTRY, VECTOR_EXIT
from irqlab.observe.ftrace_line import EVENT_RE, TASK_EVENTS

Columns = tuple[list[int], list[int], list[int], list[int], list[int], list[str]]
"""Events of a chunk as columns: ts_ns, cpu, kind, irq, value, name."""


class Parsed(NamedTuple):
    """A chunk read in its layout: its events, its number of lines, its lines
    out of the layout (none of them an event: the header, ``[LOST n EVENTS]``
    markers, other lines), newline-terminated, for the caller to look at
    without searching the whole chunk again, and its highest CPU (-1: no event)."""

    columns: Columns
    lines: int
    strays: bytes
    max_cpu: int

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# (text at the event-name column, kind) of the fixed-name events; the arguments'
# digits follow the text.
_FIXED = (
    (b"irq_handler_entry: irq=", IRQ_ENTRY),
    (b"irq_handler_exit: irq=", IRQ_EXIT),
    *((f"{name}: vec=".encode(), kind) for name, kind in SOFTIRQ_KINDS.items()),
)
# Event-name texts of other lines that the regular expression may still take:
# our names with another argument text, or a system prefix (perf's "irq:").
_SUSPECT = (b"irq:", b"irq_vectors:", b"sched:", b"workqueue:",
            *(text.split(b" ")[0] + b" " for text, _ in _FIXED),
            *(name + b":" for name in TASK_EVENTS))  # read by the regular expression
_HEAD = 32  # event-name bytes read: our fixed texts, and names before "_entry:" / "_exit:"
_PAD = _HEAD + 32  # newlines after the chunk (beyond the name column): every read
# (at most the event-name words, or 8 bytes after a line end) stays in the array
_NL, _SPACE, _COLON = ord("\n"), ord(" "), ord(":")
_WORD = re.compile(rb"\w+")


@dataclass(frozen=True)
class Layout:
    """Columns of one line layout, counted from the line start: the CPU digits
    ``[cpu_lo, cpu_hi)``, the timestamp's dot and the colon after its 6 fraction
    digits; the event name starts two columns after the colon."""

    cpu_lo: int
    cpu_hi: int
    dot: int
    colon: int

    @property
    def name(self) -> int:
        return self.colon + 2


def layout_of(cpu: tuple[int, int], stamp: tuple[int, int], dot: int,
              name: int) -> Layout | None:
    """The layout of a line given, from its start, the span of its CPU digits,
    the span of its timestamp and the dot in it (-1: none), and its event name's
    column; None when it is no layout this module reads (no fraction or not 6
    digits of it, more than 6 CPU digits, the dot within the first 8 columns
    (its seconds are read as the 8 bytes before it), more than one space before
    the name)."""
    if (dot < 8 or stamp[1] - dot != 7 or not 1 <= cpu[1] - cpu[0] <= 6
            or name != stamp[1] + 2):
        return None
    return Layout(cpu[0], cpu[1], dot, stamp[1])


class _Names(dict[bytes, "str | None"]):
    """Event-name bytes -> str (None when not a word, as ``\\w+`` requires)."""

    def __missing__(self, raw: bytes) -> str | None:
        self[raw] = value = raw.decode() if _WORD.fullmatch(raw) else None
        return value


class _Strings(dict[bytes, str]):
    """Action-name bytes -> str, trailing white space dropped."""

    def __missing__(self, raw: bytes) -> str:
        self[raw] = value = raw.decode("utf-8", "replace").rstrip()
        return value


_vector_names, _action_names = _Names(), _Strings()


# -- 8 bytes at a time -----------------------------------------------------------

_ZEROS = 0x3030303030303030  # eight ASCII '0'
_ALL = 0xFFFFFFFFFFFFFFFF


def _u64(value: int) -> np.uint64:
    return np.uint64(value)


def _words(a: U8) -> U64:
    """``w[p]`` = the 8 bytes ``a[p:p+8]`` as a little-endian integer: an
    unaligned view of ``a`` (no copy), so one gather reads 8 bytes of a line."""
    return np.ndarray((a.size - 7,), dtype="<u8", buffer=a, strides=(1,))


def _low(nbytes: int) -> np.uint64:
    """A mask of the low ``nbytes`` bytes (0..8)."""
    return _u64((1 << 8 * nbytes) - 1)


def _text(w: U64, at: I64, text: bytes) -> Mask:
    """Whether ``text`` stands at each of ``at``."""
    ok = np.ones(at.size, dtype=np.bool_)
    for k in range(0, len(text), 8):
        piece = text[k:k + 8]
        ok &= (w[at + k] & _low(len(piece))) == _u64(int.from_bytes(piece, "little"))
    return ok


def _starts(head: list[U64], text: bytes) -> Mask:
    """Whether each text of ``head`` (its words, see :func:`parse_chunk`) starts with ``text``."""
    ok = np.ones(head[0].size, dtype=np.bool_)
    for k in range(0, len(text), 8):
        piece = text[k:k + 8]
        ok &= (head[k // 8] & _low(len(piece))) == _u64(int.from_bytes(piece, "little"))
    return ok


def _non_digits(x: U64) -> U64:
    """Bit 7 of each byte of ``x`` that is no ASCII digit (SWAR: a byte ``b`` is a
    digit when ``b ^ 0x30`` is below 10; no carry crosses a byte)."""
    t = x ^ _u64(_ZEROS)
    return (t | ((t & _u64(0x7F7F7F7F7F7F7F7F)) + _u64(0x7676767676767676))) \
        & _u64(0x8080808080808080)


def _swar8(x: U64) -> I64:
    """The value of 8 ASCII digits, the first byte the most significant."""
    x = x - _u64(_ZEROS)
    x = (x * _u64(10) + (x >> _u64(8))) & _u64(0x00FF00FF00FF00FF)
    x = (x * _u64(100) + (x >> _u64(16))) & _u64(0x0000FFFF0000FFFF)
    x = (x * _u64(10000) + (x >> _u64(32))) & _u64(0xFFFFFFFF)
    return x.astype(np.int64)


def _bit(x: U64) -> I64:
    """Index of a set bit of each nonzero ``x`` that has one bit set per byte
    at most where it matters (exact for powers of two: float64 log2)."""
    return np.log2(np.maximum(x, _u64(1)).astype(np.float64)).astype(np.int64)


def _leading(w: U64, at: I64) -> tuple[I64, I64]:
    """(value, count) of the decimal digits that start at ``at``; count 0 when
    none and 8 when all 8 bytes read are digits (then value is meaningless)."""
    x = w[at]
    nd = _non_digits(x)
    first = nd & (~nd + _u64(1))  # the first non-digit byte's bit 7
    count = np.where(nd == 0, 8, (_bit(first) - 7) // 8)
    n = np.clip(count, 1, 7).astype(np.uint64)
    digits = (x & ((_u64(1) << (_u64(8) * n)) - _u64(1))) << (_u64(64) - _u64(8) * n)
    return _swar8(digits | (_u64(_ZEROS) >> (_u64(8) * n))), count


def _trailing(w: U64, end: I64) -> tuple[I64, I64, Mask]:
    """(value, count, space before) of the decimal digits that end just before
    ``end``; count 8 when all 8 bytes read are digits."""
    x = w[end - 8]
    nd = _non_digits(x)
    top = _bit(_highest(nd))
    count = np.where(nd == 0, 8, (63 - top) // 8)
    n = np.clip(count, 1, 7).astype(np.uint64)
    lows = (_u64(1) << (_u64(64) - _u64(8) * n)) - _u64(1)
    value = _swar8((x & ~lows) | (_u64(_ZEROS) & lows))
    space = ((x >> np.maximum(top - 7, 0).astype(np.uint64)) & _u64(0xFF)) == _SPACE
    return value, count, space


def _highest(nd: U64) -> U64:
    """The highest set bit of each of ``nd`` (bits 7 of bytes only)."""
    out = nd.copy()
    for k in (8, 16, 32):
        out |= out >> _u64(k)
    return out & ~(out >> _u64(8)) & _u64(0x8080808080808080)


# -- a chunk -------------------------------------------------------------------------

def parse_chunk(chunk: bytes, layout: Layout) -> Parsed | None:
    """The events of ``chunk`` (whole lines) in file order, or None when some
    line that could be one of them is out of ``layout`` or does not parse."""
    a = np.frombuffer(chunk + b"\n" * (layout.name + _PAD), dtype=np.uint8)
    w = _words(a)
    ends = np.flatnonzero(a[: len(chunk)] == _NL).astype(np.int64)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    lay = layout
    cpu_width = lay.cpu_hi - lay.cpu_lo
    # "[" cpu "]" and "." 6 digits ":" " " around the columns of the layout
    bracket = w[starts + lay.cpu_lo - 1]
    stamp = w[starts + lay.dot]
    fits = ((ends - starts > lay.name + 1)
            & ((bracket & _u64(0xFF)) == ord("["))
            & (((bracket >> _u64(8 * (cpu_width + 1))) & _u64(0xFF)) == ord("]"))
            & ((stamp & _u64(0xFF)) == ord("."))
            & ((stamp >> _u64(56)) == _COLON)
            & (a[starts + lay.colon + 1] == _SPACE))
    strays = b""
    if not fits.all():
        lo, hi = starts[~fits].tolist(), ends[~fits].tolist()
        if _strays(chunk, lo, hi):
            return None
        strays = b"".join(chunk[a:b + 1] for a, b in zip(lo, hi, strict=True))
    s, e = starts[fits], ends[fits]
    kind = np.full(s.size, -1, dtype=np.int64)
    arg = np.zeros(s.size, dtype=np.int64)
    at = s + lay.name
    head = [w[at + k] for k in range(0, _HEAD, 8)]  # the event-name text, 8 bytes a word
    for text, k in _FIXED:
        hit = _starts(head, text)
        kind[hit], arg[hit] = k, at[hit] + len(text)
    rest = kind < 0
    if any(_starts([word[rest] for word in head], text).any() for text in _SUSPECT):
        return None
    vectors = _vectors(w, chunk, s[rest], e[rest], [word[rest] for word in head], lay)
    if vectors is None:
        return None
    name_end = np.full(s.size, -1, dtype=np.int64)
    kind[rest], arg[rest], name_end[rest] = vectors
    ev = kind >= 0
    s, e, kind, arg, name_end = s[ev], e[ev], kind[ev], arg[ev], name_end[ev]
    num, digits = _leading(w, arg)
    after = arg + digits
    is_entry, is_exit = kind == IRQ_ENTRY, kind == IRQ_EXIT
    is_vector = (kind == VECTOR_ENTRY) | (kind == VECTOR_EXIT)
    is_soft = ~(is_entry | is_exit | is_vector)
    # what follows the digits: " name=", " ret=handled|unhandled" up to the line
    # end, " " or the line end (softirqs), the line end (vectors)
    handled = np.zeros(s.size, dtype=np.bool_)
    returned = np.zeros(s.size, dtype=np.bool_)
    x, ex = after[is_exit], e[is_exit]
    handled[is_exit] = _text(w, x, b" ret=handled") & (ex == x + 12)
    returned[is_exit] = handled[is_exit] | (_text(w, x, b" ret=unhandled") & (ex == x + 14))
    named = np.zeros(s.size, dtype=np.bool_)
    named[is_entry] = _text(w, after[is_entry], b" name=")
    ok = ((digits >= 1) & (digits <= 7)
          & (~is_entry | named)
          & (~is_exit | returned)
          & (~is_soft | (a[after] == _SPACE) | (after == e))
          & (~is_vector | (after == e)))
    frac_word = ((w[s + lay.dot + 1] & _low(6)) << _u64(16)) | _u64(0x3030)
    cpu_word = ((w[s + lay.cpu_lo] & _low(cpu_width)) << _u64(8 * (8 - cpu_width))) \
        | _u64(_ZEROS >> 8 * cpu_width)
    sec, sdigits, space = _trailing(w, s + lay.dot)
    if (not (ok & (sdigits >= 1) & (sdigits <= 7) & space).all()
            or _non_digits(frac_word).any() or _non_digits(cpu_word).any()):
        return None
    ts = sec * 10**9 + _swar8(frac_word) * 1000
    value = np.where(is_exit, handled.astype(np.int64), np.where(is_entry, 0, num))
    irq = np.where(is_entry | is_exit, num, -1)
    names = np.full(s.size, "", dtype=object)
    names[is_entry] = _strings(w, chunk, after[is_entry] + 6, e[is_entry], _action_names)
    names[is_vector] = _strings(w, chunk, s[is_vector] + lay.name, name_end[is_vector],
                                _vector_names)  # words, checked by _vectors
    cpu = _swar8(cpu_word)
    return Parsed((ts.tolist(), cpu.tolist(), kind.tolist(), irq.tolist(), value.tolist(),
                   names.tolist()), int(ends.size), strays, int(cpu.max(initial=-1)))


def _strings(w: U64, chunk: bytes, lo: I64, hi: I64,
             cache: dict[bytes, str | None] | dict[bytes, str]) -> npt.NDArray[np.object_]:
    """``cache[chunk[lo:hi]]`` of each span, sliced once per distinct text: the
    texts are few (one per action or vector).  Spans are grouped by a hash of
    their length and first 24 bytes, and a group is taken as one text only when
    all its spans have the representative's length and bytes; any other span
    (longer, or in a group that is not) is sliced by itself."""
    out = np.empty(lo.size, dtype=object)
    if not lo.size:
        return out
    size = hi - lo
    keys = [size.astype(np.uint64)] + [
        w[lo + k] & np.where(size >= k + 8, _u64(_ALL), (_u64(1) << (
            _u64(8) * np.clip(size - k, 0, 7).astype(np.uint64))) - _u64(1))
        for k in (0, 8, 16)]
    mixed = keys[0] * _u64(0x9E3779B97F4A7C15)
    for key in keys[1:]:
        mixed = (mixed ^ key) * _u64(0xBF58476D1CE4E5B9)
    _, first, inverse = np.unique(mixed, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    rep = first[inverse]
    alone = size > 24
    for key in keys:
        alone |= key != key[rep]
    texts = np.array([cache[chunk[a:b]] for a, b in zip(lo[first].tolist(), hi[first].tolist(),
                                                        strict=True)] + [None], dtype=object)
    out[:] = texts[:-1][inverse]
    out[alone] = [cache[chunk[a:b]] for a, b in zip(lo[alone].tolist(), hi[alone].tolist(),
                                                    strict=True)]
    return out


def _vectors(w: U64, chunk: bytes, s: I64, e: I64, head: list[U64],
             lay: Layout) -> tuple[I64, I64, I64] | None:
    """For lines whose event is none of the fixed names (``head``: their event
    name's first words): (kind or -1, digits position, name end or -1) with the
    kind of the ``<name>_entry: vector=`` / ``<name>_exit: vector=`` lines; None
    when a line whose name ends in ``_entry``/``_exit`` is followed by an
    argument the regular expression would take (``irq=``, ``vec=``, more
    spaces) and is no such event, or when a name longer than ``head`` holds one."""
    kind = np.full(s.size, -1, dtype=np.int64)
    at = np.zeros(s.size, dtype=np.int64)
    name_end = np.full(s.size, -1, dtype=np.int64)
    if not s.size:
        return kind, at, name_end
    c2 = np.full(s.size, -1, dtype=np.int64)  # the colon that ends the event name
    for k in reversed(range(len(head))):
        index = _first_byte(head[k], _COLON)
        c2 = np.where(index < 8, s + lay.name + 8 * k + index, c2)
    long = (c2 < 0) | (c2 > e)
    if long.any() and _strays(chunk, s[long].tolist(), e[long].tolist()):
        return None
    c2 = np.where(long, e, c2)
    entry, exit_ = _text(w, c2 - 6, b"_entry: "), _text(w, c2 - 5, b"_exit: ")
    looks = (entry | exit_) & (c2 - 6 >= s + lay.name)
    if not looks.any():
        return kind, at, name_end
    vector = looks & _text(w, c2 + 1, b" vector=")
    after = (c2 + 1)[looks & ~vector]
    if (_text(w, after, b" irq=") | _text(w, after, b" vec=") | _text(w, after, b"  ")).any():
        return None
    ends = np.where(entry, c2 - 6, c2 - 5)
    if None in _strings(w, chunk, s[vector] + lay.name, ends[vector], _vector_names).tolist():
        return None
    kind[vector] = np.where(entry[vector], VECTOR_ENTRY, VECTOR_EXIT)
    at[vector] = c2[vector] + 9
    name_end[vector] = ends[vector]
    return kind, at, name_end


def _first_byte(x: U64, byte: int) -> I64:
    """Index (0..7) of the first byte of each ``x`` equal to ``byte``; 8 when none
    (SWAR zero-byte test: exact for the lowest zero byte)."""
    t = x ^ _u64(byte * 0x0101010101010101)
    z = (t - _u64(0x0101010101010101)) & ~t & _u64(0x8080808080808080)
    return np.where(z == 0, 8, (_bit(z & (~z + _u64(1))) - 7) // 8)


def _strays(chunk: bytes, starts: list[int], ends: list[int]) -> bool:
    """Whether any of these out-of-layout lines holds one of our events."""
    return any(EVENT_RE.search(chunk, lo, hi) for lo, hi in zip(starts, ends, strict=True))
