"""irqlab replay: a real (here: simulated-then-traced) workload drives the simulator."""

from __future__ import annotations

import json
import re
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
    return path, json.loads(res.stdout)


def _replay(*args: str) -> dict:
    res = CliRunner().invoke(cli, ["replay", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


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


def _cpu_time(report: dict, key: str) -> int:
    return sum(report[key])


def test_replay_keeps_softirq_work_and_system_vectors(trace: tuple[Path, dict]) -> None:
    """The softirq CPU time and the timer vector's load of the capture are
    replayed (within 5%: measured costs replayed in order, softirq runs shared
    among their raisers); --drop-softirqs --drop-vectors replays device IRQs only."""
    path, original = trace
    replayed = _replay(str(path))
    for key in ("softirq_time_ns", "hardirq_time_ns"):
        assert _cpu_time(replayed, key) == pytest.approx(_cpu_time(original, key), rel=0.05), key
    assert replayed["softirqs"]["NET_RX"]["total"] == pytest.approx(
        original["softirqs"]["NET_RX"]["total"], rel=0.02)
    timers = {k: r for k, r in replayed["counters"].items()
              if r["handlers"] and r["handlers"][0].startswith("local_timer-cpu")}
    assert sum(r["total"] for r in timers.values()) == original["counters"]["LOC"]["total"]
    bare = _replay(str(path), "--drop-softirqs", "--drop-vectors")
    assert _cpu_time(bare, "softirq_time_ns") == 0
    assert not any(r["handlers"] and r["handlers"][0].startswith("local_timer")
                   for r in bare["counters"].values())
    assert _cpu_time(bare, "hardirq_time_ns") < _cpu_time(replayed, "hardirq_time_ns")


def test_saved_scenario_runs_and_replays_the_same(trace: tuple[Path, dict], tmp_path: Path) -> None:
    """--save-scenario writes TOML that `irqlab run` runs to the same report, that
    replays the same as the base of a replay, and that can be edited."""
    path, _ = trace
    saved = tmp_path / "whatif.toml"
    replayed = _replay(str(path), "--seed", "7", "--save-scenario", str(saved))
    text = saved.read_text()
    assert '[[device]]\nname = "eth0-0"' in text and 'times = [\n    "' in text
    res = CliRunner().invoke(cli, ["run", str(saved), "--json"])
    assert res.exit_code == 0, res.output
    ran = json.loads(res.stdout)
    assert ran["seed"] == 7
    skip = {"warnings", "title"}
    assert {k: v for k, v in ran.items() if k not in skip} == \
        {k: v for k, v in replayed.items() if k not in skip}
    again = _replay(str(path), "--seed", "7", "--scenario", str(saved))
    assert {k: v for k, v in again.items() if k not in skip} == \
        {k: v for k, v in replayed.items() if k not in skip}
    # the what-if: eth0-0 (traced on CPU 0) moved to CPU 1 in the TOML
    edited = tmp_path / "moved.toml"
    edited.write_text(re.sub(r'(name = "eth0-0"\n(?:[^\[].*\n)*?cpu = )0\n', r"\g<1>1\n", text,
                             count=1))
    assert edited.read_text() != text
    res = CliRunner().invoke(cli, ["run", str(edited), "--json"])
    assert res.exit_code == 0, res.output
    moved = _row(json.loads(res.stdout), "eth0-0")["per_cpu"]
    replayed_on_0 = _row(replayed, "eth0-0")["per_cpu"][0]
    # on the busier CPU 1 a few arrivals land while the vector is still pending (IRR
    # holds one) and merge
    assert moved[0] == 0 and 0.95 * replayed_on_0 <= moved[1] <= replayed_on_0


def test_save_scenario_into_a_missing_directory_fails_first(trace: tuple[Path, dict],
                                                            tmp_path: Path) -> None:
    path, _ = trace
    target = tmp_path / "no" / "such.toml"
    res = CliRunner().invoke(cli, ["replay", str(path), "--save-scenario", str(target)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    [line] = [x for x in res.output.splitlines() if x.startswith("Error:")]
    assert "--save-scenario" in line and f"directory {target.parent} does not exist" in line
