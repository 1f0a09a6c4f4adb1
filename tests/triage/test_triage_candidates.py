"""The candidate search finds what one regex over the same bytes finds, window edges included."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from irqlab.triage import candidates
from irqlab.triage.candidates import FIRST_WINDOW, WINDOW, Candidates
from irqlab.triage.diagnose import _CANDIDATES, KEYWORDS

# The reference: every keyword, any title, a NUL, as one (slow) alternation.
ORACLE = re.compile(b"|".join([*(re.escape(k.encode()) for k in KEYWORDS),
                               candidates.TITLE, rb"\x00"]))
PIECES = [k.encode() for k in KEYWORDS[::5]] + [b"KeBugCheckEx", b"Arguments",
    b"DRIVER_VERIFIER_DMA_VIOLATION (e6)", b"ABCDEF (12345678)", b"ABCDE_ (0)", b"abcdef (e6)",
    b"ABCDEF (e6", b"(e6)", b"\x00", b"AB", b"DMA", b"\n", b" ", b"(", b")"]
# Sizes that put a piece across the edge of the first, second and a later window.
EDGES = [FIRST_WINDOW, FIRST_WINDOW * 3, FIRST_WINDOW * 3 + WINDOW]


def oracle(data: bytes, pos: int) -> tuple[int, int]:
    match = ORACLE.search(data, pos)
    return (-1, -1) if match is None else match.span()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PIECES), st.integers(0, 40)), max_size=8),
       st.sampled_from(EDGES), st.integers(-40, 40), st.integers(0, 50))
def test_find_agrees_with_one_regex(parts, edge, shift, pos):
    """Pieces placed around a window edge: each search from ``pos`` and from just
    after each answer lands in the first match a regex search finds: at its start, or
    (a keyword holding another) at the other's."""
    head = b"x" * max(0, edge + shift - pos)
    data = head + b"".join(piece + b"y" * pad for piece, pad in parts)
    at = pos
    while True:
        found = _CANDIDATES.find(data, at)
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
