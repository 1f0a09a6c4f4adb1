"""Streaming line normaliser for noisy crash text.

Reads bytes in fixed-size chunks and yields ``(line_number, text)`` with bounded
memory: a line longer than :data:`MAX_LINE` bytes is cut into pieces, so a 1 GB log
without newlines costs no more than a short one.  :func:`normalise` removes what
sits in front of the evidence: CR line ends, mail quoting (``> ``, ``>> ``), dmesg
timestamps (``[   12.345678]``, ``dmesg -T``, ``[ T123]`` caller ids), journal and
syslog prefixes (``Mar 31 11:47:16 host kernel:`` with any locale's month, ISO time
stamps, ``<3>``, ``kern  :err   :``) and Xen's ``(XEN)`` prefix.  :func:`rejoin` glues lines that a
mailer or forum re-wrapped back together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

CHUNK = 1 << 16
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


def read_lines(stream: BinaryIO, head: bytes = b"") -> Iterator[tuple[int, str]]:
    """Yield ``(number, decoded line)`` from ``head`` then ``stream``, chunk by chunk.

    Decoding is UTF-8 with replacement, so binary input never raises.  Over-long lines
    are split every :data:`MAX_LINE` bytes (each piece keeps the same line number).
    """
    number = 1
    pending = head
    while True:
        chunk = stream.read(CHUNK)
        pending += chunk
        start = 0
        while True:
            end = pending.find(b"\n", start)
            if end < 0:
                break
            yield from _pieces(number, pending[start:end])
            number += 1
            start = end + 1
        pending = pending[start:]
        while len(pending) > MAX_LINE:
            yield number, _decode(pending[:MAX_LINE])
            pending = pending[MAX_LINE:]
        if not chunk:
            break
    if pending:
        yield number, _decode(pending)


def _pieces(number: int, raw: bytes) -> Iterator[tuple[int, str]]:
    for offset in range(0, max(len(raw), 1), MAX_LINE):
        yield number, _decode(raw[offset:offset + MAX_LINE])


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r").replace("\x00", "")


def normalise(line: str) -> str:
    """Strip quoting, timestamps and log prefixes; collapse surrounding blanks."""
    line = _QUOTE.sub("", line)
    for _ in range(4):
        stripped = _PREFIXES.sub("", line, count=1)
        if stripped == line:
            break
        line = _QUOTE.sub("", stripped)
    return line.strip()


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
