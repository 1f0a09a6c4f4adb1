"""irqlab top: rates between two samples, filters, sorting, plain output, CLI."""

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.observe.procfs import parse_interrupts, parse_softirqs
from irqlab.observe.top import (
    Sample,
    cpu_shares,
    next_deadline,
    read_sample,
    render_plain,
    top_rows,
)

A = """\
           CPU0       CPU1
  0:         10          0   IO-APIC   2-edge      timer
 24:       1000        500  IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]
 30: 4294967290          0  IR-PCI-MSI 1048576-edge      eth0-rx-0
LOC:       5000       6000   Local timer interrupts
"""
B = """\
           CPU0       CPU1
  0:         10          0   IO-APIC   2-edge      timer
 24:       1200        900  IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]
 30:         14         50  IR-PCI-MSI 1048576-edge      eth0-rx-0
LOC:       5100       6300   Local timer interrupts
"""


def samples() -> tuple[Sample, Sample]:
    return Sample(parse_interrupts(A), 10.0), Sample(parse_interrupts(B), 12.0)


def test_rates_per_irq_and_cpu():
    rows = {r.label: r for r in top_rows(*samples(), sort="irq")}
    assert rows["24"].delta == 600 and rows["24"].rate == 300.0
    assert rows["24"].cpu_rates == [100.0, 200.0]
    assert rows["24"].total == 2100


def test_counter_wrap_is_undone():
    rows = {r.label: r for r in top_rows(*samples())}
    assert rows["30"].cpu_rates == [10.0, 25.0]  # 4294967290 -> 14 is +20 after the wrap


@pytest.mark.parametrize(("sort", "order"), [
    ("delta", ["24", "LOC", "30", "0"]),
    ("irq", ["0", "24", "30", "LOC"]),
    ("total", ["LOC", "24", "30", "0"]),
    ("name", ["24", "30", "LOC", "0"]),
])
def test_sort_orders(sort, order):
    assert [r.label for r in top_rows(*samples(), sort=sort, idle=True)] == order


def test_idle_rows_are_hidden_unless_asked_for():
    assert "0" not in [r.label for r in top_rows(*samples())]
    assert "0" in [r.label for r in top_rows(*samples(), idle=True)]


def test_filters():
    a, b = samples()
    assert [r.label for r in top_rows(a, b, pattern="eth*")] == ["30"]
    assert [r.label for r in top_rows(a, b, pattern="2?")] == ["24"]
    assert [r.label for r in top_rows(a, b, threshold=100)] == ["24", "LOC"]
    only1 = {r.label: r for r in top_rows(a, b, cpus=[1])}
    assert only1["24"].delta == 400 and only1["24"].cpu_rates == [200.0]


def test_softirq_rows():
    a = Sample(parse_softirqs("       CPU0\n  HI:  1\n  NET_RX:  10\n"), 0.0)
    b = Sample(parse_softirqs("       CPU0\n  HI:  1\n  NET_RX:  30\n"), 0.5)
    assert [r.label for r in top_rows(a, b, softirqs=True)] == ["NET_RX"]
    rows = top_rows(a, b, softirqs=True, idle=True)
    assert [(r.label, r.rate) for r in rows] == [("NET_RX", 40.0), ("HI", 0.0)]


def test_plain_table_has_units_and_all_rows():
    rows = top_rows(*samples(), sort="irq", idle=True)
    text = render_plain(rows, [0, 1], 2.0)
    lines = text.splitlines()
    assert lines[1].split() == ["IRQ", "TOTAL", "DELTA", "RATE_per_s", "CPU0_per_s",
                                "CPU1_per_s", "AFFINITY", "CHIP", "NAME"]
    assert lines[3].split()[:4] == ["24", "2100", "600", "300.0"]
    assert len(lines) == 2 + 4


def test_cli_once_on_fake_proc(tmp_path: Path):
    (tmp_path / "interrupts").write_text(B)
    result = CliRunner().invoke(cli, ["top", "--once", "-d", "0.01", "--proc", str(tmp_path),
                                      "--irq", "ahci*", "--idle"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("# interval") and lines[2].split()[:3] == ["24", "2100", "0"]


def test_cli_count_prints_each_refresh(tmp_path: Path):
    (tmp_path / "softirqs").write_text("       CPU0\n  HI:  1\n")
    result = CliRunner().invoke(cli, ["top", "-S", "-n", "3", "-d", "0.01", "--proc", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.count("# interval") == 3


def test_cli_bad_proc_file_is_input_error(tmp_path: Path):
    (tmp_path / "interrupts").write_text("nonsense\n")
    result = CliRunner().invoke(cli, ["top", "--once", "--proc", str(tmp_path)])
    assert result.exit_code == 2 and "interrupts" in result.output and "CPU header" in result.output


def test_cli_bad_cpu_list():
    result = CliRunner().invoke(cli, ["top", "--once", "--cpu", "a-b"])
    assert result.exit_code == 2 and "CPU list" in result.output


STAT_A = "cpu  10 0 10 100 0 2 2 0 0 0\ncpu0 5 0 5 80 0 0 10 0 0 0\ncpu1 5 0 5 20 0 2 2 0 0 0\nintr 1\n"
STAT_B = "cpu  10 0 10 100 0 2 2 0 0 0\ncpu0 15 0 5 140 0 10 30 0 0 0\ncpu1 5 0 5 20 0 2 2 0 0 0\nintr 1\n"


def fake_proc(root: Path, interrupts: str, stat: str | None = None) -> Path:
    (root / "interrupts").write_text(interrupts)
    if stat is not None:
        (root / "stat").write_text(stat)
    (root / "irq" / "24").mkdir(parents=True, exist_ok=True)
    (root / "irq" / "24" / "smp_affinity_list").write_text("0-1\n")
    return root


def test_affinity_chip_and_cpu_shares_from_proc(tmp_path: Path):
    fake_proc(tmp_path, A, STAT_A)
    a = read_sample(tmp_path, False, 10.0)
    fake_proc(tmp_path, B, STAT_B)
    b = read_sample(tmp_path, False, 12.0)
    rows = {r.label: r for r in top_rows(a, b)}
    assert (rows["24"].affinity, rows["24"].chip) == ("0-1", "IR-PCI-MSI")
    assert (rows["30"].affinity, rows["LOC"].chip) == ("", "")  # no affinity file; no chip
    # cpu0: 100 ticks passed, 10 in irq and 20 in softirq; cpu1: none passed
    assert cpu_shares(a, b, [0, 1]) == {0: (10.0, 20.0), 1: (0.0, 0.0)}
    text = render_plain(top_rows(a, b), [0, 1], 2.0, cpu_shares(a, b, [0, 1]))
    assert text.splitlines()[1:3] == ["CPU   %irq  %softirq", "cpu0  10.0      20.0"]


def test_bad_proc_stat_is_input_error(tmp_path: Path):
    fake_proc(tmp_path, B, "cpu0 1 2 x\n")
    result = CliRunner().invoke(cli, ["top", "--once", "--proc", str(tmp_path)])
    assert result.exit_code == 2 and f"{tmp_path / 'stat'}:1: cpu0: expected tick counts" in result.output


@pytest.mark.parametrize(("now", "expected"), [(0.1, 1.5), (1.5, 2.0), (2.7, 3.0)])
def test_next_deadline_keeps_the_cadence_and_skips_missed_ones(now, expected):
    assert next_deadline(1.0, 0.5, now) == expected


class FakeClock:
    """A clock that only moves when slept on or when /proc is read (``cost``)."""

    def __init__(self, cost: float):
        self.now, self.cost, self.reads = 100.0, cost, 0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds

    def reader(self, real):
        def read(proc, softirqs, t):
            self.reads += 1
            self.now += self.cost
            return real(proc, softirqs, t)
        return read


@pytest.mark.parametrize(("cost", "interval", "gap"), [(0.14, 0.5, 0.5), (0.7, 0.5, 1.0)])
def test_json_refreshes_keep_the_interval(tmp_path: Path, monkeypatch, cost, interval, gap):
    """``-d 0.5`` with 0.14 s of work per refresh gives one snapshot every 0.5 s
    (not 0.64 s); work longer than the interval skips the missed refresh."""
    import irqlab.cli.observe as observe

    fake_proc(tmp_path, B)
    clock = FakeClock(cost)
    monkeypatch.setattr(observe, "time", clock)
    monkeypatch.setattr(observe, "read_sample", clock.reader(observe.read_sample))
    result = CliRunner().invoke(cli, ["top", "--json", "-n", "10", "-d", str(interval),
                                      "--proc", str(tmp_path), "--idle"])
    assert result.exit_code == 0, result.output
    snaps = [json.loads(line) for line in result.output.splitlines()]
    assert len(snaps) == 10 and clock.reads == 11
    assert [s["interval_s"] for s in snaps] == pytest.approx([gap] * 10)
    assert snaps[-1]["t"] == pytest.approx(100.0 + 10 * gap)
    row = next(r for r in snaps[0]["rows"] if r["irq"] == "24")
    assert row == {"irq": "24", "total": 2100, "delta": 0, "rate_per_s": 0.0,
                   "per_cpu_per_s": {"0": 0.0, "1": 0.0}, "affinity": "0-1",
                   "chip": "IR-PCI-MSI", "name": "ahci[0000:00:1f.2]"}


def _read_until(fd: int, text: str, seen: bytearray, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while text.encode() not in seen:
        assert time.monotonic() < deadline, f"{text!r} never shown: {bytes(seen)[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break


def test_keys_on_a_terminal_sort_and_quit(tmp_path: Path):
    """In a pty: the live view starts sorted by delta, 'n' sorts by name, 'i' by
    IRQ, 'q' quits with status 0 and the terminal's echo is restored."""
    fake_proc(tmp_path, B)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "irqlab", "top", "--proc", str(tmp_path),
                             "--idle", "-d", "0.05"], stdin=slave, stdout=slave, stderr=slave,
                            cwd=Path(__file__).resolve().parents[2], start_new_session=True)
    try:
        seen = bytearray()
        _read_until(master, "sort delta", seen)
        os.write(master, b"n")
        _read_until(master, "sort name", seen)
        os.write(master, b"i")
        _read_until(master, "sort irq", seen)
        os.write(master, b"q")
        assert proc.wait(timeout=60) == 0, bytes(seen)[-500:]
        assert termios.tcgetattr(slave)[3] & termios.ECHO
        assert b"Traceback" not in seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)
