"""The VT-d fault interrupt end to end: Linux dmar_fault logs DMAR lines that
irqlab triage diagnoses; Windows nt!IvtHandleInterrupt bug-checks 0xE6."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from irqlab.cli import cli
from tests.kernel.rig import machine, run

LINUX = """
[machine]
arch = "x86"
cpus = 1
iommu = true
[timer]
enabled = false
[[device]]
name = "i915"
kind = "msix"
[[fault]]
kind = "dma-fault"
device = "i915"
at = "1ms"
rate = "{rate}"
reason = {reason}
address = 0x7cd80abc
access = "{access}"
"""


def _log(m: object) -> list[str]:
    return [line for _, line in m.kernel.log]  # type: ignore[attr-defined]


def test_dmar_fault_prints_the_kernel_lines_and_drains_the_records() -> None:
    m = machine(LINUX.format(rate="1k/s", reason="0x01", access="read"))
    run(m, 1_500_000)
    log = _log(m)
    assert log[0] == "DMAR: DRHD: handling fault status reg 2"
    assert log[1] == ("DMAR: [DMA Read NO_PASID] Request device [01:00.0] fault addr 0x7cd80000 "
                      "[fault reason 0x01] Present bit in root entry is clear")
    assert not any(r.fault for r in m.board.iommu.records)  # type: ignore[attr-defined]


def test_interrupt_remapping_faults_print_the_index() -> None:
    m = machine(LINUX.format(rate="1k/s", reason="0x22", access="write"))
    run(m, 1_100_000)
    assert "[INTR-REMAP] Request device [01:00.0] fault index 0x0 [fault reason 0x22] " \
           "Present field in the IRTE entry is clear" in _log(m)[1]


def test_printing_shares_one_ratelimit_of_ten_per_five_seconds() -> None:
    """dmar.c: one static ratelimit state (burst 10 per 5 s) for the status line and
    every pass of the record loop, the pass that finds no record included: with
    one record per interrupt that is 3 tokens, so 4 status lines and 3 records
    print per interval, then one "callbacks suppressed" line."""
    m = machine(LINUX.format(rate="20/s", reason="0x06", access="read"))
    run(m, 6_000_000_000)
    log = _log(m)
    faults = [line for line in log if "fault addr" in line]
    status = [line for line in log if "handling fault status" in line]
    suppressed = [line for line in log if "callbacks suppressed" in line]
    assert (len(faults), len(status)) == (3 + 3, 4 + 4)
    [line] = suppressed
    assert line.startswith("dmar_fault: ") and int(line.split()[1]) > 200
    assert not any(r.fault for r in m.board.iommu.records)  # type: ignore[attr-defined]


def test_triage_diagnoses_the_simulated_dmesg(tmp_path: Path) -> None:
    dmesg = tmp_path / "dmesg.txt"
    runner = CliRunner()
    res = runner.invoke(cli, ["run", "dmar-fault", "--duration", "60ms", "--dmesg", str(dmesg)])
    assert res.exit_code == 0, res.output
    assert dmesg.read_text().startswith("[    0.00")
    res = runner.invoke(cli, ["triage", str(dmesg), "--json"])
    assert res.exit_code == 0, res.output
    found = {(f["device"], f["reason_code"], f["access"]) for f in json.loads(res.output)["findings"]}
    assert found == {("01:00.0", "0x6", "read"), ("02:00.0", "0x5", "write")}


def test_windows_ivt_handle_interrupt_bug_checks_0xe6_and_triage_reads_it(tmp_path: Path) -> None:
    dmesg = tmp_path / "crash.txt"
    runner = CliRunner()
    res = runner.invoke(cli, ["run", "windows-dma-violation", "--dmesg", str(dmesg), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["duration_ns"] < 21_000_000, "the bug check stops the machine"
    assert [w["kind"] for w in report["warnings"]][:2] == ["bugcheck", "stopped"]
    res = runner.invoke(cli, ["triage", str(dmesg), "--json"])
    [finding] = json.loads(res.output)["findings"]
    assert finding["code"] == "0xe6" and finding["in_ivt_handle_interrupt"]
    assert finding["violation"]["code"] == "0x26"
    # the page the device wrote after its driver unmapped it, VT-d reason 0x05 (a write)
    page = int(report["iommu_faults"][0]["first"]["address"], 16) >> 12
    assert finding["parameters"][2:] == [f"{page:#x}", "0x5"]


def test_triage_reads_the_nobody_cared_report_of_a_simulated_storm(tmp_path: Path) -> None:
    dmesg = tmp_path / "storm.txt"
    runner = CliRunner()
    res = runner.invoke(cli, ["run", "shared-line-storm", "--duration", "300ms", "--dmesg", str(dmesg)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["triage", str(dmesg), "--json"])
    [finding] = json.loads(res.output)["findings"]
    assert finding == {"kind": "irq-storm", "irq": 17, "disabled": True, "handlers": [
        {"function": "ehci_hcd_usb2_interrupt", "module": "ehci_hcd"},
        {"function": "snd_hda_intel_interrupt", "module": "snd_hda_intel"}]}
