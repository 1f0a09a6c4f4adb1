"""Drivers' DMA mistakes (machine/dma.py) on each IOMMU vendor: simulate, write
the kernel log, triage it; the diagnosis names the device, the address and the
reason, and ``--json`` links each fault to the driver call behind it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.machine.dma import PHYS_BASE, RX_RING
from tests.triage.conftest import findings_of

ARCH = {"intel": "x86", "amd": "x86", "arm-smmuv3": "arm64"}
SCENARIO = """
[scenario]
name = "dma-{kind}"
seed = 5
[machine]
arch = "{arch}"
cpus = 2
iommu = "{iommu}"
[[device]]
name = "ixgbe"
kind = "msix"
cpu = 1
arrival = {{ kind = "poisson", rate = "20k/s" }}
handler = {{ cost = "1us" }}
[[device]]
name = "nvme"
kind = "msix"
arrival = {{ kind = "periodic", period = "200us" }}
handler = {{ cost = "2us" }}
"""
FAULT = '[[fault]]\nkind = "{kind}"\ndevice = "ixgbe"\nat = "2ms"\n'
#: how each vendor's log names the device (VT-d prints bus:dev.fn; AMD-Vi the
#: pci_err prefix; SMMUv3 6.14+ the client)
DEVICE = {"intel": "01:00.0", "amd": "0000:01:00.0", "arm-smmuv3": "0000:01:00.0"}
#: (reason code, words of the triage reason) per vendor and mistake
REASON = {
    ("intel", "dma-after-unmap"): ("0x5", "PTE Write access is not set"),
    ("intel", "dma-wrong-direction"): ("0x5", "PTE Write access is not set"),
    ("intel", "dma-unmapped-iova"): ("0x5", "PTE Write access is not set"),
    ("intel", "no-context-entry"): ("0x2", "Present bit in context entry is clear"),
    ("intel", "bad-irte"): ("0x22", "Present field in the IRTE entry is clear"),
    ("amd", "dma-after-unmap"): ("0x2", "page not present"),
    ("amd", "dma-wrong-direction"): ("0x2", "page present, permission denied"),
    ("amd", "dma-unmapped-iova"): ("0x2", "page not present"),
    ("amd", "no-context-entry"): ("0x2", "page not present"),
    ("amd", "bad-irte"): ("0x2", "interrupt request"),
    ("arm-smmuv3", "dma-after-unmap"): ("0x10", "F_TRANSLATION"),
    ("arm-smmuv3", "dma-wrong-direction"): ("0x13", "F_PERMISSION"),
    ("arm-smmuv3", "dma-unmapped-iova"): ("0x10", "F_TRANSLATION"),
    ("arm-smmuv3", "no-context-entry"): ("0x4", "C_BAD_STE"),
}
CAUSE = {"dma-after-unmap": "dma_unmap_single", "dma-wrong-direction": "dma_map_single",
         "dma-unmapped-iova": "descriptor write without dma_map_single",
         "no-context-entry": "iommu_detach_device", "bad-irte": "irq_domain_free_irqs"}


def simulate(tmp_path: Path, iommu: str, kind: str | None) -> tuple[dict[str, Any], str, Path]:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.format(kind=kind, arch=ARCH[iommu], iommu=iommu)
                    + (FAULT.format(kind=kind) if kind else ""))
    log = tmp_path / "dmesg.txt"
    res = CliRunner().invoke(cli, ["run", str(path), "--duration", "8ms", "--json", "--dmesg", str(log)])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), log.read_text(), log


@pytest.mark.parametrize(("iommu", "kind"), sorted(REASON))
def test_simulated_fault_log_round_trips_through_triage(tmp_path: Path, iommu: str, kind: str) -> None:
    report, text, log = simulate(tmp_path, iommu, kind)
    links = report["iommu_faults"]
    assert len(links) == 1, links  # one mistake, one folded link (the bystander never faults)
    link = links[0]
    assert (link["device"], link["driver"], link["iommu"]) == ("ixgbe", "ixgbe", iommu)
    assert link["mistake"] == {"kind": kind, "fault": 0} and link["count"] > 1
    first = link["first"]
    assert first["time_ns"] >= 2_000_000
    assert first["cause"]["call"] == CAUSE[kind]

    findings = findings_of(log)
    assert len(findings) == 1, findings
    found = findings[0]
    code, words = REASON[iommu, kind]
    assert found["kind"] == "iommu-fault" and found["device"] == DEVICE[iommu]
    assert found["reason_code"] == code and words in found["reason"]
    if kind == "bad-irte":
        # VT-d prints the IRTE index where the address goes; AMD-Vi the interrupt range
        assert found["address"] == (f"{first['irte_index']:#x}" if iommu == "intel" else "0xfee00000")
        assert found["access"] is None
    elif (iommu, kind) == ("arm-smmuv3", "no-context-entry"):
        assert found["address"] is None  # C_BAD_STE carries no address
    else:
        assert found["address"] == first["address"] and found["access"] == "write"
    if kind == "dma-unmapped-iova":
        assert int(first["address"], 16) > PHYS_BASE  # the buffer's physical address
    if (iommu, kind) == ("amd", "no-context-entry"):
        assert "domain=0x0000" in text  # a detached device reports no domain


def test_after_unmap_links_each_fault_to_the_unmap_of_its_own_iova(tmp_path: Path) -> None:
    report, _, _ = simulate(tmp_path, "intel", "dma-after-unmap")
    [link] = report["iommu_faults"]
    # the device wrote each torn-down buffer once, then had none left
    assert link["count"] == RX_RING == link["recorded"]  # dmar_fault drains each in time
    assert link["first"]["address"] != link["last"]["address"]
    for one in (link["first"], link["last"]):
        assert one["cause"] == {"call": "dma_unmap_single", "time_ns": 2_000_000,
                                "iova": one["address"], "size": 4096,
                                "direction": "DMA_FROM_DEVICE"}


def test_a_repeated_mistake_changes_nothing_and_the_faults_stay_the_first_ones(tmp_path: Path) -> None:
    """A second teardown of a torn-down ring unmaps nothing: the faults are
    still linked to the first [[fault]] and its unmaps, not unmapped twice."""
    once, _, _ = simulate(tmp_path, "intel", "dma-after-unmap")
    path = tmp_path / "twice.toml"
    path.write_text(SCENARIO.format(kind="dma-after-unmap", arch="x86", iommu="intel")
                    + FAULT.format(kind="dma-after-unmap")
                    + FAULT.format(kind="dma-after-unmap").replace('"2ms"', '"3ms"'))
    res = CliRunner().invoke(cli, ["run", str(path), "--duration", "8ms", "--json"])
    assert res.exit_code == 0, res.output
    [link] = json.loads(res.stdout)["iommu_faults"]
    assert link["mistake"] == {"kind": "dma-after-unmap", "fault": 0}
    assert link["count"] == RX_RING
    assert link["last"]["cause"]["time_ns"] == 2_000_000
    assert {k: link[k] for k in ("count", "first", "last")} == {
        k: once["iommu_faults"][0][k] for k in ("count", "first", "last")}


def test_wrong_direction_names_the_to_device_mapping(tmp_path: Path) -> None:
    report, _, _ = simulate(tmp_path, "arm-smmuv3", "dma-wrong-direction")
    cause = report["iommu_faults"][0]["first"]["cause"]
    assert cause["direction"] == "DMA_TO_DEVICE" and cause["time_ns"] >= 2_000_000
    assert report["iommu_faults"][0]["walk"] == "access not permitted by the mapping"


@pytest.mark.parametrize("iommu", ["intel", "amd"])
def test_bad_irte_blocks_the_device_interrupts(tmp_path: Path, iommu: str) -> None:
    clean, _, _ = simulate(tmp_path, iommu, None)
    broken, _, _ = simulate(tmp_path, iommu, "bad-irte")

    def delivered(report: dict[str, Any]) -> int:
        return next(r["total"] for r in report["counters"].values() if r["name"] == "ixgbe")

    assert clean["iommu_faults"] == []
    assert 0 < delivered(broken) < delivered(clean) / 2  # only those before 2 ms arrived
    assert {link["access"] for link in broken["iommu_faults"]} == {"interrupt"}


def test_no_mistake_no_fault_and_remapped_chip_names(tmp_path: Path) -> None:
    report, text, _ = simulate(tmp_path, "intel", None)
    assert report["iommu_faults"] == [] and "DMAR" not in text
    assert {r["chip"] for r in report["counters"].values() if r["name"] in ("ixgbe", "nvme")} == {
        "IR-PCI-MSIX-0000:01:00.0", "IR-PCI-MSIX-0000:02:00.0"}


def test_windows_use_after_unmap_bug_checks_with_the_faulting_page(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["run", "windows-dma-violation", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    first = report["iommu_faults"][0]["first"]
    assert first["cause"]["call"] == "PutScatterGatherList"  # the WDM DMA adapter's unmap
    page = int(first["address"], 16) >> 12
    lines = [e["line"] for e in report["log"]]
    assert f"BugCheck E6, {{26, ffffd08b00100060, {page:x}, 5}}" in lines


def test_vfio_scenario_names_the_vmm_unmap_in_json_and_text() -> None:
    res = CliRunner().invoke(cli, ["run", "vfio-dma-use-after-unmap", "--duration", "25ms", "--json"])
    assert res.exit_code == 0, res.output
    [link] = json.loads(res.stdout)["iommu_faults"]
    assert link["device"] == "vfio_pci" and link["reason"] == "PTE Write access is not set"
    # guest memory stays mapped until the VMM unmaps it: one unmap per posted buffer, at 20 ms
    assert link["first"]["cause"]["call"] == "VFIO_IOMMU_UNMAP_DMA"
    assert link["first"]["cause"]["time_ns"] == 20_000_000 and link["count"] == RX_RING
    res = CliRunner().invoke(cli, ["run", "vfio-dma-use-after-unmap", "--duration", "25ms"])
    table = res.stdout.split("IOMMU faults (each linked to the driver call behind it)\n")[1]
    row = table.splitlines()[2]
    assert row.split()[:2] == ["vfio_pci", "write"]
    assert "VFIO_IOMMU_UNMAP_DMA t=20000.000us" in row and "fault[0] dma-after-unmap" in row
