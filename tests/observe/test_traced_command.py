"""The command ``irqlab trace -- CMD`` runs (no tracefs needed) and its CLI checks."""

import signal
import sys

from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.observe.tracefs import TracedCommand


def test_status_is_the_exit_status_or_128_plus_the_signal():
    assert TracedCommand([sys.executable, "-c", "raise SystemExit(7)"]).wait(60) == 7
    killed = TracedCommand(["sh", "-c", "kill -USR1 $$"])
    assert killed.wait(60) == 128 + signal.SIGUSR1


def test_stop_passes_the_signal_on_and_reaps():
    w = TracedCommand(["sleep", "60"])
    assert w.wait(0) is None
    assert w.stop(signal.SIGTERM, grace_s=30) == 128 + signal.SIGTERM
    assert w.proc.returncode == -signal.SIGTERM


def test_signals_held_back_by_irqlab_are_not_held_back_in_the_command():
    """irqlab starts the command with SIGINT and SIGTERM blocked (set-up is not
    to be cut in half); the command must still die of the SIGTERM passed on."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        w = TracedCommand(["sleep", "60"])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    assert w.stop(signal.SIGTERM, grace_s=30) == 128 + signal.SIGTERM


def test_stop_kills_a_command_that_ignores_the_signal():
    # an ignored signal stays ignored across fork and exec: sleep ignores TERM
    old = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        w = TracedCommand(["sleep", "60"])
    finally:
        signal.signal(signal.SIGTERM, old)
    assert w.stop(signal.SIGTERM, grace_s=0.2) == 128 + signal.SIGKILL


def test_duration_and_a_command_are_one_line_exit_2(tmp_path):
    res = CliRunner().invoke(cli, ["trace", "--duration", "1", "-o", str(tmp_path / "t"),
                                   "--", "true"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "--duration: give --duration or a command" in res.output


def test_unknown_command_is_one_line_exit_2(tmp_path):
    res = CliRunner().invoke(cli, ["trace", "-o", str(tmp_path / "t"), "--",
                                   "no-such-command-irqlab"])
    assert res.exit_code == 2
    assert "no-such-command-irqlab: command not found" in res.output
    assert not (tmp_path / "t").exists()
