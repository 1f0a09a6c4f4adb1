"""Shared helpers for the triage tests: scan a fixture, get its JSON findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from irqlab.triage.diagnose import Triage

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def findings_of(*paths: Path | str) -> list[dict[str, Any]]:
    run = Triage()
    for path in paths:
        run.scan_path(str(path))
    return run.close().to_json()["findings"]


@pytest.fixture
def scan():
    return lambda name: findings_of(FIXTURES / name)


@pytest.fixture
def scan_text(tmp_path):
    """Write ``text`` (str or bytes) to a file and scan it."""
    def run(text: str | bytes, name: str = "input.txt") -> list[dict[str, Any]]:
        path = tmp_path / name
        if isinstance(text, str):
            path.write_text(text)
        else:
            path.write_bytes(text)
        return findings_of(path)
    return run


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
