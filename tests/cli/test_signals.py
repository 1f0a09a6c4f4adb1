"""One exit-status convention for every command: 130 after Ctrl-C (SIGINT),
143 after SIGTERM (128 + the signal), one line on stderr, never a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import irqlab.scenario.loader
from irqlab.cli import cli
from irqlab.cli.errors import Terminated

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("stop", "status", "name"), [
    (KeyboardInterrupt, 130, "Ctrl-C"), (Terminated, 143, "SIGTERM")])
def test_a_command_without_its_own_handling_is_stopped_the_same_way(
        monkeypatch: pytest.MonkeyPatch, stop: type[BaseException], status: int, name: str) -> None:
    def stopped(*args: object, **kwargs: object) -> None:
        raise stop

    monkeypatch.setattr(irqlab.scenario.loader, "load", stopped)
    res = CliRunner().invoke(cli, ["validate", "default"])
    assert res.exit_code == status
    assert res.output.strip().splitlines() == [f"Interrupted: stopped by {name}"]


def test_sigterm_stops_a_long_run_with_status_143_and_complete_files(tmp_path: Path) -> None:
    chrome = tmp_path / "run.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "irqlab", "run", "--duration", "100s", "--chrome", str(chrome)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:  # writing has begun
        time.sleep(0.05)
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert out == "" and "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("Interrupted: stopped by SIGTERM at ") and line.endswith(
        " of 100s simulated time")
    assert json.loads(chrome.read_text())["traceEvents"]
    assert list(tmp_path.iterdir()) == [chrome]
