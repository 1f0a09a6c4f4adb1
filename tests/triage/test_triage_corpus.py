"""Crash logs as people paste them (issue 10, section 9): a corpus of public logs.

Each ``corpus/NAME.log`` is text copied from the public source named in its sidecar
``NAME.json`` (``source``), trimmed to the relevant lines.  A sidecar with a
``synthetic`` key marks a log built where no real example of a variant was found, and
says why.  ``expected`` lists the findings in order; each gives the keys it checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.triage.conftest import findings_of

CORPUS = Path(__file__).resolve().parent / "corpus"
LOGS = sorted(CORPUS.glob("*.log"))
MIN_REAL = 40


def sidecar(log: Path) -> dict:
    return json.loads(log.with_suffix(".json").read_text())


def test_corpus_has_forty_real_cited_logs():
    sides = [sidecar(log) for log in LOGS]
    assert all(s["source"].startswith(("http://", "https://")) for s in sides)
    assert all(s["synthetic"].strip() for s in sides if "synthetic" in s)
    assert sum("synthetic" not in s for s in sides) >= MIN_REAL
    assert {p.stem for p in CORPUS.glob("*.json")} == {p.stem for p in LOGS}


@pytest.mark.parametrize("log", LOGS, ids=[p.stem for p in LOGS])
def test_corpus_log(log: Path):
    expected = sidecar(log)["expected"]
    found = findings_of(log)
    assert len(found) == len(expected), [
        {k: f.get(k) for k in ("kind", "code", "irq", "vendor", "device")} for f in found]
    for want, got in zip(expected, found, strict=True):
        assert {key: got.get(key) for key in want} == want
