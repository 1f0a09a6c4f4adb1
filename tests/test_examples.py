"""The examples in examples/ run as documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_custom_driver_example_records_its_sleep_in_irq_bug() -> None:
    res = CliRunner().invoke(cli, ["run", str(EXAMPLES / "my-driver.toml"), "--json", "--allow-code"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    bugs = [w for w in data["warnings"]
            if w["kind"] == "atomic-sleep" and w["message"].startswith("BUG: scheduling while atomic")]
    assert bugs and all("my_driver.py:22 in rx_interrupt" in w["message"] for w in bugs)
    assert len(bugs) <= 10, "repeats are rate-limited"
    assert any(w["kind"] == "atomic-sleep" and "suppressed" in w["message"] for w in data["warnings"])
    assert data["softirqs"]["NET_RX"]["total"] > 0


def test_custom_driver_example_needs_consent_and_validates_without_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRQLAB_ALLOW_CODE", raising=False)
    path = EXAMPLES / "my-driver.toml"
    res = CliRunner().invoke(cli, ["run", str(path)])
    assert res.exit_code == 2
    assert "--allow-code" in res.output
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 0
