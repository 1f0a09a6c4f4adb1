"""/proc/irq/N/ files: read beside a /proc/interrupts snapshot (a copy of /proc
or the live one) by ``irqlab report``, printed by the simulator as
kernel/irq/proc.c prints them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.analysis.report import Report
from irqlab.cli import cli
from irqlab.events import CounterRow, CounterSnapshot
from irqlab.kernel.manage import irq_set_affinity
from irqlab.observe.procfs import read_snapshot
from irqlab.report.html import sections
from tests.kernel.rig import machine

SNAP = """\
           CPU0       CPU1       CPU2       CPU3
 24:       1000        500          0          0  IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]
 25:          7          0          0          0  IR-PCI-MSI 1-edge      eth0
LOC:       5000       6000          1          1   Local timer interrupts
"""


def _proc(tmp_path: Path) -> Path:
    (tmp_path / "interrupts").write_text(SNAP)
    irq = tmp_path / "irq" / "24"
    irq.mkdir(parents=True)
    for name, text in {"smp_affinity": "f\n", "smp_affinity_list": "0-3\n",
                       "effective_affinity": "2\n", "effective_affinity_list": "1\n",
                       "node": "0\n",
                       "spurious": "count 1500\nunhandled 0\nlast_unhandled 0 ms\n"}.items():
        (irq / name).write_text(text)
    (tmp_path / "irq" / "25").mkdir()
    (tmp_path / "irq" / "25" / "smp_affinity_list").write_text("0\n")  # an older kernel
    return tmp_path / "interrupts"


def test_a_copy_of_proc_brings_its_irq_files(tmp_path: Path) -> None:
    snap = read_snapshot(_proc(tmp_path))
    assert snap.irq_files["24"]["effective_affinity_list"] == "1"
    assert snap.irq_files["24"]["spurious"] == "count 1500\nunhandled 0\nlast_unhandled 0 ms"
    assert snap.irq_files["25"] == {"smp_affinity_list": "0"}, "missing files are left out"


def test_report_shows_them_in_text_and_json(tmp_path: Path) -> None:
    path = str(_proc(tmp_path))
    data = json.loads(CliRunner().invoke(cli, ["report", "--json", path]).output)
    assert data["proc_irq"]["24"]["smp_affinity"] == "f"
    assert data["vector_matrix"] is None
    text = CliRunner().invoke(cli, ["report", path]).output
    section = text.split("/proc/irq\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[2].split() == ["24", "f", "0-3", "2", "1", "0", "count", "1500", "unhandled",
                                  "0", "last_unhandled", "0", "ms"]
    assert section[3].split() == ["25", "-", "0", "-", "-", "-", "-"]


def test_a_plain_snapshot_file_has_none(tmp_path: Path) -> None:
    path = tmp_path / "snap.txt"
    path.write_text(SNAP)
    assert read_snapshot(path).irq_files == {}


@pytest.mark.skipif(not Path("/proc/irq").is_dir(), reason="no /proc/irq on this machine")
def test_the_live_proc_gives_the_files_the_kernel_prints() -> None:
    snap = read_snapshot("/proc/interrupts")
    assert snap.irq_files, "every numbered IRQ has a /proc/irq/N directory"
    label, files = next(iter(snap.irq_files.items()))
    assert files["smp_affinity_list"] == Path(f"/proc/irq/{label}/smp_affinity_list").read_text().strip()


def test_the_simulator_prints_them_as_kernel_irq_proc_c() -> None:
    m = machine("""
[machine]
cpus = 4
[[device]]
name = "uart"
line = 4
trigger = "edge"
cpu = 2
""")
    k = m.kernel
    irq_set_affinity(k, 4, [0, 1])  # an IO-APIC pin in use: the move waits for its next interrupt
    files = k.snapshot().irq_files["4"]
    assert files == {"smp_affinity": "3", "smp_affinity_list": "0-1",
                     "effective_affinity": "4", "effective_affinity_list": "2", "node": "0",
                     "spurious": "count 0\nunhandled 0\nlast_unhandled 0 ms"}


def test_a_run_reports_them_and_the_vector_matrix() -> None:
    res = CliRunner().invoke(cli, ["run", "default", "--duration", "1ms", "--json"])
    data = json.loads(res.output)
    assert data["proc_irq"]["24"]["smp_affinity_list"] == "0"
    assert data["proc_irq"]["25"]["effective_affinity"] == "2"
    assert data["vector_matrix"].splitlines()[-2:] == ["     0   199     0     0    2  33-34",
                                                        "     1   199     0     0    2  33-34"]
    res = CliRunner().invoke(cli, ["run", "gic-arm64", "--duration", "1ms", "--json"])
    assert json.loads(res.output)["vector_matrix"] is None, "a GIC has no per-CPU vectors"


def test_the_html_page_shows_them() -> None:
    snap = CounterSnapshot(cpus=2, rows={"24": CounterRow("24", [1, 2])},
                           irq_files={"24": {"smp_affinity": "3", "node": "0"}})
    page = "".join(sections(Report("snapshot", 2, counters=snap, vector_matrix="Online bitmaps: 2")))
    assert '<h2>/proc/irq</h2><table class="os" id="proc-irq">' in page
    assert "<td>24</td><td>3</td><td>-</td><td>-</td><td>-</td><td>0</td><td>-</td>" in page
    assert '<pre id="vector-matrix">Online bitmaps: 2</pre>' in page
