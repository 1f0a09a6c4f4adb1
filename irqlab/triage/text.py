"""Streaming line normaliser for noisy crash text.

:class:`Lines` reads bytes in fixed-size blocks and yields each line's text with
bounded memory: a line longer than :data:`MAX_LINE` bytes is cut into pieces, so a 1 GB log
without newlines costs no more than a short one.  :class:`Lines` can also skip, on
the raw bytes of whole blocks, to the next piece a search pattern matches, so a
large log is decoded only where it matters.  :func:`normalise` removes what
sits in front of the evidence: CR line ends, mail quoting (``> ``, ``>> ``), dmesg
timestamps (``[   12.345678]``, ``dmesg -T``, ``[ T123]`` caller ids), journal and
syslog prefixes (``Mar 31 11:47:16 host kernel:`` with any locale's month, ISO time
stamps, ``<3>``, ``kern  :err   :``) and Xen's ``(XEN)`` prefix.  :func:`rejoin` glues lines that a
mailer or forum re-wrapped back together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, Protocol

BLOCK = 1 << 20
MAX_LINE = 1 << 14

_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_PREFIXES = re.compile(
    r"""^(?:
        \[\s*\d+\.\d+\]\s?                                   # dmesg [   12.345678]
      | \[\s*[TC]\d+\]\s?                                    # printk caller id
      | \[[A-Z][a-z]{2}\ [A-Z][a-z]{2}\ [\d ]\d\ [\d:]{8}\ \d{4}\]\s?   # dmesg -T
      | <\d{1,3}>                                            # syslog priority
      | [a-z]+\s*:[a-z]+\s*:\s                               # dmesg -x facility:level
      | \(XEN\)\s?(?:\[[^\]]{0,40}\]\s?)?                      # Xen console
      | kernel:\s                                            # grep of kern.log
      | (?:[^\W\d_]{3,5}\.?\s+\d{1,2}|\d{4}-\d\d-\d\d)[T ][\d:.]+(?:[+-]\d{2}:?\d{2}|Z)?
        \s+\S+\s+[\w\-.\[\]/]+:\s                            # journal / syslog
    )""",
    re.VERBOSE,
)


class Finder(Protocol):
    """What :meth:`Lines.skip` searches with: :meth:`find` returns where the first match
    that starts at or after ``pos`` starts, or -1."""

    def find(self, data: bytes, pos: int) -> int: ...


class Lines:
    """The pieces of a byte stream's lines, in order, decoded.

    A piece is a whole line, or :data:`MAX_LINE` bytes of a longer one (pieces start
    at multiples of MAX_LINE from the line start); ``ended`` tells whether the last
    piece returned ended its line.
    Decoding is UTF-8 with replacement and NULs dropped, so binary input never
    raises.  Memory is bounded by :data:`BLOCK` whatever the input.
    """

    def __init__(self, stream: BinaryIO, head: bytes = b"") -> None:
        self._stream = stream
        self._buf = head
        self._pos = 0
        self._line_off = 0  # bytes of the current line before _pos (a multiple of MAX_LINE)
        self._eof = False
        self.ended = False

    def __iter__(self) -> Iterator[str]:
        while (piece := self.next_piece()) is not None:
            yield piece

    def _more(self) -> bool:
        """Append the rest of a line begun, else a block; False at the end of the stream.

        A block is read only when no line is begun, so it is not copied behind one.
        """
        if self._eof:
            return False
        rest = self._buf[self._pos:]
        more = self._stream.readline(BLOCK) if rest else self._stream.read(BLOCK)
        self._buf = rest + more
        self._pos = 0
        self._eof = not more
        return bool(more)

    def next_piece(self) -> str | None:
        while True:
            pos = self._pos
            newline = self._buf.find(b"\n", pos, pos + MAX_LINE + 1)
            self.ended = newline >= 0
            if newline >= 0:
                self._pos, self._line_off = newline + 1, 0
                return _decode(self._buf[pos:newline])
            if len(self._buf) - pos > MAX_LINE:
                self._pos += MAX_LINE
                self._line_off += MAX_LINE
                return _decode(self._buf[pos:pos + MAX_LINE])
            if not self._more():
                rest = self._buf[self._pos:]
                self._pos = len(self._buf)
                return _decode(rest) if rest else None

    def skip(self, finder: Finder) -> bool:
        """Move to the next piece in which ``finder`` finds a match; False at the end.

        Matches are searched on the raw bytes of whole blocks: pieces passed over
        are never decoded.  A match cannot span lines, nor pieces of one line.  The
        finder must match a NUL byte too: decoding drops NULs, so only the decoded
        text of such a piece can tell whether it is wanted.
        """
        while True:
            buf, pos = self._buf, self._pos
            at = finder.find(buf, pos)
            if at >= 0:
                self._seek(at)
                return True
            newline = buf.rfind(b"\n", pos)
            if newline >= 0:
                self._pos, self._line_off = newline + 1, 0
            elif len(buf) - pos > 2 * MAX_LINE:  # inside a long line: drop whole pieces
                step = (len(buf) - pos - MAX_LINE) // MAX_LINE * MAX_LINE
                self._pos += step
                self._line_off += step
            if not self._more():
                return False

    def _seek(self, at: int) -> None:
        """Go to the start of the piece that holds byte ``at``."""
        buf, pos = self._buf, self._pos
        newline = buf.rfind(b"\n", pos, at)
        if newline >= 0:
            line, before = newline + 1, 0
        else:
            line, before = pos, self._line_off
        piece = (before + at - line) // MAX_LINE * MAX_LINE  # its offset in the line
        self._pos, self._line_off = line + piece - before, piece


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r").replace("\x00", "")


def guarded(pattern: re.Pattern[str], literal: str, line: str) -> re.Match[str] | None:
    """``pattern.search`` behind a substring test for a literal every match holds: a
    regex tries many positions of a line; ``in`` scans it at memory speed."""
    return pattern.search(line) if literal in line else None


def normalise(line: str) -> str:
    """Strip quoting, timestamps and log prefixes; collapse surrounding blanks."""
    line = _unquote(line)
    for _ in range(4):
        prefix = _PREFIXES.match(line)  # never empty
        if prefix is None:
            break
        line = _unquote(line[prefix.end():])
    return line.strip()


def _unquote(line: str) -> str:
    quote = _QUOTE.match(line)  # never empty
    return line if quote is None else line[quote.end():]


def rejoin(
    lines: Iterable[tuple[int, str]],
    incomplete: Callable[[str], bool],
    starts_record: Callable[[str], bool],
    max_joins: int = 3,
) -> Iterator[tuple[int, str]]:
    """Glue re-wrapped lines back together.

    A line for which ``incomplete`` holds is held back; the following line is
    appended (with a space, as mailers wrap at spaces) unless it starts a record of
    its own.  Joining stops as soon as the result is complete or after ``max_joins``
    lines; an incomplete line that finds no continuation is passed on as it is.
    """
    held: tuple[int, str] | None = None
    joins = 0
    for number, line in lines:
        if held is not None:
            if line and not starts_record(line):
                joined = f"{held[1]} {line}"
                joins += 1
                if incomplete(joined) and joins < max_joins:
                    held = (held[0], joined)
                    continue
                yield held[0], joined
                held = None
                continue
            yield held
            held = None
        if incomplete(line):
            held, joins = (number, line), 0
            continue
        yield number, line
    if held is not None:
        yield held
