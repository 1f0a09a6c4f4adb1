"""The examples in examples/ run as documented."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from irqlab.cli import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_custom_driver_example_records_its_sleep_in_irq_bug() -> None:
    res = CliRunner().invoke(cli, ["run", str(EXAMPLES / "my-driver.toml"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    bugs = [w for w in data["warnings"]
            if w["kind"] == "atomic-sleep" and w["message"].startswith("BUG: scheduling while atomic")]
    assert bugs and all("my_driver.py:22 in rx_interrupt" in w["message"] for w in bugs)
    assert len(bugs) <= 10, "repeats are rate-limited"
    assert any(w["kind"] == "atomic-sleep" and "suppressed" in w["message"] for w in data["warnings"])
    assert data["softirqs"]["NET_RX"]["total"] > 0
