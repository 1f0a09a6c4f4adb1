"""A small scenario for sweeps: one CPU, one MSI-X device, 2 ms runs."""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL = """\
[scenario]
name = "small"
duration = "2ms"
seed = 1

[machine]
arch = "x86"
cpus = 1

[[device]]
name = "eth0"
kind = "msix"
arrival = { kind = "poisson", rate = "50k/s" }
handler = { cost = { dist = "exponential", mean = "1us" }, softirq = "NET_RX", softirq_cost = "1us" }
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path
