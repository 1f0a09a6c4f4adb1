"""The streaming normaliser: prefixes, quoting, CRLF, long lines, re-joining."""

from __future__ import annotations

import io

import pytest

from irqlab.triage.text import MAX_LINE, Lines, normalise, rejoin

EVIDENCE = "DMAR: DRHD: handling fault status reg 3"


@pytest.mark.parametrize("prefix", [
    "",
    "[    3.118401] ",
    "[  3.118401][    T1] ",
    "[Tue Oct 10 09:12:44 2023] ",
    "<3>",
    "kern  :err   : ",
    "Mar 31 11:47:16 host kernel: ",
    "mar 31 11:47:16 pi-MS-7A34 kernel: ",
    "2024-03-31T11:47:16+0200 host kernel: ",
    "Jun 01 10:00:05.123456 nuc kernel: ",
    "> ",
    ">> > ",
    "> Mar 31 11:47:16 host kernel: [    3.118401] ",
])
def test_normalise_strips_prefixes(prefix):
    assert normalise(prefix + EVIDENCE) == EVIDENCE


def test_normalise_xen_prefix():
    assert normalise("(XEN) [2023-02-14 08:31:40.905] [VT-D]DMAR: reason 06 - x") == \
        "[VT-D]DMAR: reason 06 - x"


def pieces(data: bytes, head: bytes = b"") -> list[tuple[str, bool]]:
    """``(piece, whether it ended its line)`` of every piece :class:`Lines` reads."""
    lines, out = Lines(io.BytesIO(data), head), []
    while (piece := lines.next_piece()) is not None:
        out.append((piece, lines.ended))
    return out


def test_lines_crlf_and_missing_final_newline():
    data = b"one\r\ntwo\r\n\r\nthree"
    assert pieces(data) == [("one", True), ("two", True), ("", True), ("three", False)]


def test_lines_head_is_prepended():
    assert pieces(b"lo\nb\n", head=b"hel") == [("hello", True), ("b", True)]


def test_lines_splits_overlong_lines():
    data = b"x" * (MAX_LINE * 2 + 10) + b"\nend\n"
    assert [(len(text), ended) for text, ended in pieces(data)] == [
        (MAX_LINE, False), (MAX_LINE, False), (10, True), (3, True)]


def test_lines_binary_never_raises():
    data = bytes(range(256)) * 10
    assert "".join(Lines(io.BytesIO(data)))


def _rejoin(lines):
    numbered = list(enumerate(lines, 1))
    return list(rejoin(numbered, lambda s: s.startswith("A") and not s.endswith("Z"),
                       lambda s: s.startswith("A")))


def test_rejoin_glues_continuations_until_complete():
    assert _rejoin(["A b", "c", "d Z", "e"]) == [(1, "A b c d Z"), (4, "e")]


def test_rejoin_does_not_swallow_a_new_record():
    assert _rejoin(["A cut", "A whole Z"]) == [(1, "A cut"), (2, "A whole Z")]


def test_rejoin_passes_on_incomplete_line_at_end():
    assert _rejoin(["x", "A cut"]) == [(1, "x"), (2, "A cut")]
