"""One battery run per example driver and platform, shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from irqlab.check import Checklist, run_battery

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "check"

_RUNS: dict[tuple[str, str], Checklist] = {}


def battery(name: str, platform: str = "x86") -> Checklist:
    key = (name, platform)
    if key not in _RUNS:
        _RUNS[key] = run_battery(EXAMPLES / f"{name}.py", platform=platform, allow_code=True)
    return _RUNS[key]


@pytest.fixture
def checked() -> object:
    return battery
