"""Golden outputs: every built-in scenario's ``--json`` (and, for single
machines, the sha256 of its ``--trace``) for a fixed seed and a short
duration.  Reshaping the code must not change a byte of them.

Refresh only on purpose, stating the reason in the commit message:
``IRQLAB_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.scenario.loader import builtin_names

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("IRQLAB_UPDATE_GOLDEN") == "1"
SEED = "3"
#: long enough for each scenario's behaviour to show (a fault's ``at``, storm
#: detection's 100k interrupts), short enough to keep the suite fast
DURATION = {
    "default": "3ms", "dmar-fault": "12ms", "gic-arm64": "4ms", "missed-eoi": "22ms",
    "moderation": "7ms", "nvic-cortex-m4": "3ms", "receive-livelock": "12ms",
    "shared-line-storm": "300ms", "softirq-overload": "7ms", "threaded-irq": "8ms",
    "windows-dma-violation": "25ms", "vfio-dma-use-after-unmap": "25ms", "windows-dpc": "4ms", "freertos-uart": "20ms",
    "cpu-hotplug": "15ms", "rss-skew": "3ms",
    "vm-injection": "2ms",
}
#: experiments of many runs: no single machine to trace
EXPERIMENTS = {"moderation", "receive-livelock", "vm-injection"}
#: a shorter run for the trace where the JSON's run would write tens of MB
TRACE_DURATION = {"shared-line-storm": "30ms"}


def test_every_builtin_scenario_has_a_golden_duration() -> None:
    assert set(builtin_names()) == set(DURATION)


@pytest.mark.parametrize("name", sorted(DURATION))
def test_golden_output_is_unchanged(name: str, tmp_path: Path) -> None:
    trace = tmp_path / "run.trace"
    args = ["run", name, "--seed", SEED, "--json"]
    traced = name not in EXPERIMENTS and name not in TRACE_DURATION
    res = CliRunner().invoke(cli, [*args, "--duration", DURATION[name],
                                   *(["--trace", str(trace)] if traced else [])])
    assert res.exit_code == 0, res.output
    got = {f"{name}.json": res.stdout}
    if name in TRACE_DURATION:
        res = CliRunner().invoke(cli, [*args, "--duration", TRACE_DURATION[name], "--trace",
                                       str(trace)])
        assert res.exit_code == 0, res.output
    if name not in EXPERIMENTS:
        got[f"{name}.trace.sha256"] = hashlib.sha256(trace.read_bytes()).hexdigest() + "\n"
    for fname, text in got.items():
        path = GOLDEN / fname
        if UPDATE:
            path.write_text(text)
        assert path.read_text() == text, f"{fname} differs from the golden output"
