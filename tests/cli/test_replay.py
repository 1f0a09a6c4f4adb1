"""irqlab replay: a real (here: simulated-then-traced) workload drives the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("replay")
    path = out / "trace.txt"
    res = CliRunner().invoke(cli, ["run", "default", "--duration", "30ms", "--trace", str(path), "--json"])
    assert res.exit_code == 0, res.output
    return path, json.loads(res.output)


def _replay(*args: str) -> dict:
    res = CliRunner().invoke(cli, ["replay", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def _row(report: dict, action: str) -> dict:
    [row] = [r for r in report["counters"].values() if r["handlers"] and action in r["handlers"]]
    return row


def test_replay_reproduces_per_irq_arrivals_and_costs(trace: tuple[Path, dict]) -> None:
    path, original = trace
    replayed = _replay(str(path))
    for action in ("eth0-0", "eth0-1", "ahci[0000:00:1f.2]"):
        before, after = _row(original, action), _row(replayed, action)
        assert after["total"] == before["total"], action
        assert after["per_cpu"] == before["per_cpu"], "each IRQ stays on the CPU it was seen on"
    # the replayed handler costs are the traced ones (ftrace text keeps us precision)
    label_before = next(k for k, r in original["counters"].items() if r["handlers"] == ["eth0-0"])
    label_after = next(k for k, r in replayed["counters"].items() if r["handlers"] == ["eth0-0"])
    mean_before = original["handler_ns"][label_before]["mean"]
    mean_after = replayed["handler_ns"][label_after]["mean"]
    assert abs(mean_after - mean_before) <= 0.02 * mean_before + 1_000


def test_replay_answers_a_what_if_on_affinity(trace: tuple[Path, dict], tmp_path: Path) -> None:
    path, original = trace
    scenario = tmp_path / "whatif.toml"
    scenario.write_text('[machine]\narch = "x86"\ncpus = 2\n\n'
                        '[[device]]\nname = "eth0-0"\nkind = "msix"\ncpu = 1\n')
    moved = _row(_replay(str(path), "--scenario", str(scenario)), "eth0-0")
    assert _row(original, "eth0-0")["per_cpu"][1] == 0
    assert moved["per_cpu"][0] == 0 and moved["per_cpu"][1] > 0


def test_replay_with_a_handler_cost_override(trace: tuple[Path, dict], tmp_path: Path) -> None:
    path, _ = trace
    scenario = tmp_path / "slow.toml"
    scenario.write_text('[machine]\narch = "x86"\ncpus = 2\n\n'
                        '[[device]]\nname = "eth0-1"\nkind = "msix"\ncpu = 1\nhandler = { cost = "20us" }\n')
    report = _replay(str(path), "--scenario", str(scenario))
    label = next(k for k, r in report["counters"].items() if r["handlers"] == ["eth0-1"])
    assert report["handler_ns"][label]["p50"] == pytest.approx(20_000, rel=0.01)


def test_replay_refuses_a_snapshot(tmp_path: Path) -> None:
    snap = tmp_path / "interrupts"
    snap.write_text("           CPU0       CPU1\n  0:         12          0   IO-APIC   2-edge      timer\n")
    res = CliRunner().invoke(cli, ["replay", str(snap)])
    assert res.exit_code == 2
    assert "not a trace" in res.output and "Traceback" not in res.output
