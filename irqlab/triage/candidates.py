"""Where the lines a triage parser could want start, found on raw bytes at memory speed.

A candidate is a keyword, a Windows bug-check title ``NAME (code)`` (six name
characters, a space, one to eight hex digits in parentheses) or a NUL byte (decoding
drops NULs, so a keyword may hide around one).  Each is searched by what is fastest
at it: the keywords by one Aho-Corasick automaton (``ahocorasick-rs``; its
leftmost-first search skips ahead with SIMD literal prefilters; a keyword that holds
another is left to that one), a title by RE2 (first its ``(code)``, a pattern led by
a literal, which RE2 skips to with ``memchr``; then, from there only, the whole title
in a DFA pass), a NUL by ``bytes.find``.

The data are searched in windows from the start position, growing while nothing is
found, the first as large as twice the distance the last search went: a search costs
about the distance to its match, in few calls where candidates are sparse, and lists
few keyword matches where they are dense (memory bounded whatever the input).
"""

from __future__ import annotations

from collections.abc import Iterable

import re2
from ahocorasick_rs import BytesAhoCorasick, Implementation, MatchKind

FIRST_WINDOW = 1 << 8
WINDOW = 1 << 16
TITLE = rb"[A-Z0-9_]{6} \([0-9a-fA-F]{1,8}\)"
TITLE_LEN = 17  # the longest title match
NAME_LEN = 7  # the name and its space, before "("


def _re2(pattern: bytes) -> re2._Regexp:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True
    return re2.compile(pattern, options)


class Candidates:
    """A :class:`~irqlab.triage.text.Finder` of keywords, titles and NULs."""

    def __init__(self, keywords: Iterable[str]) -> None:
        words = [k.encode() for k in keywords]
        # A keyword that holds another is found by that one, on the same line: fewer
        # patterns make a faster search (46 keywords: 0.034 s a 157 MB log, 42: 0.019 s).
        words = [w for w in words if not any(o in w for o in words if o != w)]
        self._keywords = BytesAhoCorasick(words, matchkind=MatchKind.LeftmostFirst,
                                          implementation=Implementation.DFA)
        self._code = _re2(rb"\([0-9a-fA-F]{1,8}\)")
        self._title = _re2(TITLE)
        # a match is wholly inside some window: consecutive windows overlap by this
        self._overlap = max(TITLE_LEN, *map(len, words)) - 1
        self._size = FIRST_WINDOW

    def find(self, data: bytes, pos: int) -> int:
        """Where the first candidate at or after ``pos`` starts, or -1."""
        view = memoryview(data)
        start, size = pos, self._size
        while True:
            end = min(len(data), pos + size)
            found = self._first(data, view, pos, end)
            if found >= 0 or end == len(data):
                break
            pos = end - self._overlap
            size = min(4 * size, WINDOW)
        # the next search starts with a window of about twice this one's distance
        self._size = WINDOW if found < 0 else max(FIRST_WINDOW, min(WINDOW, 2 * (found - start)))
        return found

    def _first(self, data: bytes, view: memoryview, start: int, end: int) -> int:
        """The first start of a candidate that lies wholly in ``data[start:end]``, or -1."""
        best = data.find(b"\x00", start, end)
        if best < 0:
            best = end
        words = self._keywords.find_matches_as_indexes(view[start:best])
        if words:
            best = start + words[0][1]
        # a title that starts before best ends before stop, its "(" NAME_LEN bytes in
        stop = min(end, best + TITLE_LEN)
        code = self._code.search(data, start + NAME_LEN, stop)
        if code is not None:
            title = self._title.search(data, code.start() - NAME_LEN, stop)
            if title is not None and title.start() < best:
                return title.start()
        return best if best < end else -1
