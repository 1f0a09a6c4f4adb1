"""Bad /proc snapshots and option values found by the fuzz harness
(tests/fuzz/harness.py): one line, exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli

FIXTURE = Path(__file__).resolve().parents[1] / "observe" / "fixtures"
SNAPSHOT = (FIXTURE / "annotated-msix-interrupts.txt").read_text()


def invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def proc_dir(tmp_path: Path, text: str | bytes) -> Path:
    (tmp_path / "interrupts").write_bytes(text if isinstance(text, bytes) else text.encode())
    return tmp_path


def test_top_reads_a_snapshot_with_damaged_bytes(tmp_path: Path) -> None:
    damaged = SNAPSHOT.encode().replace(b"Non-maskable", b"Non-mask\x89able", 1)
    status, out = invoke("top", "--once", "--idle", "-d", "0.001", "--proc",
                         str(proc_dir(tmp_path, damaged)))
    assert status == 0, out
    assert "Non-mask\ufffdable interrupts" in out


@pytest.mark.parametrize("command", ["report", "top"])
def test_an_irq_number_of_5000_digits_is_one_line(tmp_path: Path, command: str) -> None:
    lines = SNAPSHOT.splitlines()
    row = next(i for i, line in enumerate(lines) if line.strip().split(":")[0].isdigit())
    label = lines[row].split(":")[0]
    lines[row] = lines[row].replace(label, " " + "9" * 5000, 1)
    d = proc_dir(tmp_path, "\n".join(lines) + "\n")
    argv = ["report", str(d / "interrupts")] if command == "report" else [
        "top", "--once", "-d", "0.001", "--proc", str(d)]
    status, out = invoke(*argv)
    assert status == 2
    assert out.strip().splitlines()[-1] == (f"Error: {d / 'interrupts'}:{row + 1}: IRQ "
                                            f"{'9' * 20}...: not an IRQ number (more than 10 digits)")


def test_a_count_of_5000_digits_is_not_a_count(tmp_path: Path) -> None:
    lines = SNAPSHOT.splitlines()
    row = next(i for i, line in enumerate(lines) if line.strip().split(":")[0].isdigit())
    label, rest = lines[row].split(":", 1)
    first = rest.split()[0]
    lines[row] = f"{label}:{rest.replace(first, '9' * 5000, 1)}"
    d = proc_dir(tmp_path, "\n".join(lines) + "\n")
    status, out = invoke("report", str(d / "interrupts"))
    assert status == 2
    assert out.strip().splitlines()[-1].startswith(
        f"Error: {d / 'interrupts'}:{row + 1}: IRQ {label.strip()}: 0 counts for ")


@pytest.mark.parametrize("interval", ["1e308", "1e10", "86400.5"])
def test_top_refuses_an_interval_time_sleep_cannot_take(interval: str) -> None:
    status, out = invoke("top", "--once", "-d", interval)
    assert status == 2
    assert "is not in the range 0<x<=86400.0" in out


@pytest.mark.parametrize(("argv", "line"), [
    (["top", "-d", "x"], "Error: Invalid value for '-d' / '--interval': 'x' is not a valid float."),
    (["--bogus"], "Error: No such option '--bogus'."),
    (["nosuch"], "Error: No such command 'nosuch'."),
    (["run", "--trace"], "Error: Option '--trace' requires an argument."),
    (["validate"], "Error: Missing argument 'SCENARIO'."),
])
def test_a_usage_error_is_one_line(argv: list[str], line: str) -> None:
    res = CliRunner().invoke(cli, argv)
    assert res.exit_code == 2
    assert res.output.splitlines() == [line]


def test_bare_irqlab_still_shows_the_help() -> None:
    res = CliRunner().invoke(cli, [])
    assert res.output.startswith("Usage: cli [OPTIONS] COMMAND [ARGS]...")  # prog_name: main()
    assert "trace" in res.output and "triage" in res.output
