"""The candidate search finds what one regex over the same bytes finds, window edges included."""

from __future__ import annotations

import re
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from irqlab.triage import candidates
from irqlab.triage.candidates import Candidates
from irqlab.triage.diagnose import _CANDIDATES, KEYWORDS

# The reference: every keyword, any title, a NUL, as one (slow) alternation.
ORACLE = re.compile(b"|".join([*(re.escape(k.encode()) for k in KEYWORDS),
                               candidates.TITLE, rb"\x00"]))
PIECES = [k.encode() for k in KEYWORDS[::5]] + [b"KeBugCheckEx", b"Arguments",
    b"DRIVER_VERIFIER_DMA_VIOLATION (e6)", b"ABCDEF (12345678)", b"ABCDE_ (0)", b"abcdef (e6)",
    b"ABCDEF (e6", b"(e6)", b"\x00", b"AB", b"DMA", b"\n", b" ", b"(", b")"]


def oracle(data: bytes, pos: int) -> tuple[int, int]:
    match = ORACLE.search(data, pos)
    return (-1, -1) if match is None else match.span()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.integers(0, 300)), max_size=10),
       st.integers(0, 300))
def test_find_agrees_with_one_regex(parts, pos):
    """With windows of 64 to 256 bytes (edges everywhere in the data), each search from
    ``pos`` and from just after each answer lands in the first match a regex search
    finds: at its start, or (a keyword holding another) at the other's."""
    data = b"x" * pos + b"".join(piece + b"y" * pad for piece, pad in parts)
    with patch.object(candidates, "FIRST_WINDOW", 64), patch.object(candidates, "WINDOW", 256):
        finder = Candidates(KEYWORDS)
        at = pos
        while True:
            found = finder.find(data, at)
            start, end = oracle(data, at)
            assert found == start or start < found < end
            if found < 0:
                break
            at = found + 1


def test_the_first_of_a_title_and_a_keyword_wins():
    data = b"abcdef (e6) ABCDEF (DMAR"  # a failed title does not hide the keyword
    assert _CANDIDATES.find(data, 0) == data.index(b"DMAR")
    assert _CANDIDATES.find(b"DMAR ABCDEF (e6)", 0) == 0
    assert _CANDIDATES.find(b"x ABCDEF (e6) DMAR", 0) == 2


def test_nothing_found_in_plain_text():
    finder = Candidates(["DMAR"])
    data = (b"usb 1-1: new high-speed USB device (null) number 2\n" * 5000)
    assert finder.find(data, 0) == -1
    assert finder.find(data + b"DMAR", 7) == len(data)


def test_where_candidates_are_dense_each_search_reads_a_small_window():
    """A keyword every 12 bytes: after the first search, each one lists the matches of
    at most twice the distance to its answer, not of a whole window (with a fixed 16 KiB
    window, 1,400 matches were listed to use one: 5x slower than before)."""
    finder = Candidates(KEYWORDS)
    keywords, windows = finder._keywords, []

    def spy(view: memoryview) -> list[tuple[int, int, int]]:
        windows.append(len(view))
        return keywords.find_matches_as_indexes(view)

    data = (b"Arg\n" + b"x\n" * 4) * 2000
    with patch.object(finder, "_keywords", type("Spy", (), {"find_matches_as_indexes": staticmethod(spy)})()):
        at, found = 0, []
        while (at := finder.find(data, at)) >= 0:
            found.append(at)
            at += 4
    assert found == list(range(0, len(data), 12))
    assert max(windows[1:]) <= candidates.FIRST_WINDOW
