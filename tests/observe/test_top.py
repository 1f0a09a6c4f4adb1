"""irqlab top: rates between two samples, filters, sorting, plain output, CLI."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.observe.procfs import parse_interrupts, parse_softirqs
from irqlab.observe.top import Sample, render_plain, top_rows

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
    assert [r.label for r in top_rows(*samples(), sort=sort)] == order


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
    rows = top_rows(a, b, softirqs=True)
    assert [(r.label, r.rate) for r in rows] == [("NET_RX", 40.0), ("HI", 0.0)]


def test_plain_table_has_units_and_all_rows():
    rows = top_rows(*samples(), sort="irq")
    text = render_plain(rows, [0, 1], 2.0)
    lines = text.splitlines()
    assert lines[1].split() == ["IRQ", "TOTAL", "DELTA", "RATE_per_s", "CPU0_per_s",
                                "CPU1_per_s", "NAME"]
    assert lines[3].split()[:4] == ["24", "2100", "600", "300.0"]
    assert len(lines) == 2 + 4


def test_cli_once_on_fake_proc(tmp_path: Path):
    (tmp_path / "interrupts").write_text(B)
    result = CliRunner().invoke(cli, ["top", "--once", "-d", "0.01", "--proc", str(tmp_path),
                                      "--irq", "ahci*"])
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
