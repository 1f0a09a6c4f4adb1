"""``irqlab validate``: errors name the file, the field and what was expected;
never a traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli

GOOD = """
[scenario]
name = "t"
[[device]]
name = "nic"
kind = "msix"
arrival = { kind = "poisson", rate = "10k/s" }
"""


def validate(tmp_path: Path, text: str) -> tuple[int, str, Path]:
    path = tmp_path / "s.toml"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert "Traceback" not in res.output
    return res.exit_code, res.output, path


def test_good_scenario_is_ok(tmp_path: Path) -> None:
    code, out, path = validate(tmp_path, GOOD)
    assert code == 0
    assert out.strip() == f"{path}: ok (x86, 2 CPU(s), 1 device(s), 0 fault(s))"


@pytest.mark.parametrize("edit,field,expected", [
    # unknown keys are errors, at any depth
    (("[scenario]", "[scenario]\ncolour = 1"), "scenario.colour", "unknown key"),
    (('kind = "msix"', 'kind = "msix"\nvectros = 2'), "device[0].vectros", "unknown key"),
    # bad units
    (('rate = "10k/s"', 'rate = "10 furlongs"'), "device[0].arrival.rate", "10 furlongs"),
    (('[scenario]', '[scenario]\nduration = "5 weeks"'), "scenario.duration", "5 weeks"),
    # bad literal: the allowed values are listed
    (('kind = "msix"', 'kind = "pci"'), "device[0].kind", "expected 'line' or 'msix', got 'pci'"),
    # wrong type or out of range: what came is shown
    (("[scenario]", "[machine]\ncpus = \"two\"\n[scenario]"), "machine.cpus", "got 'two'"),
    (("[scenario]", "[machine]\nhz = 5\n[scenario]"), "machine.hz", "greater than or equal to 10, got 5"),
    # a rule across fields
    (('kind = "msix"', 'kind = "line"'), "device[0]", "needs 'line'"),
])
def test_errors_name_file_field_and_expectation(tmp_path: Path, edit: tuple[str, str],
                                                field: str, expected: str) -> None:
    code, out, path = validate(tmp_path, GOOD.replace(*edit, 1))
    assert code == 2
    [line] = [ln for ln in out.splitlines() if ln.strip()]
    assert line.startswith(f"Error: {path}: {field}: ")
    assert expected in line


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    code, out, path = validate(tmp_path, GOOD + "\n[machine\n")
    assert code == 2
    assert f"{path}: not valid TOML" in out and "line" in out


def test_unknown_fault_device_is_named(tmp_path: Path) -> None:
    code, out, _ = validate(tmp_path, GOOD + '[[fault]]\nkind = "drop-eoi"\ndevice = "eth9"\n')
    assert code == 2
    assert "fault[0].device: no device named 'eth9'" in out


def test_build_errors_are_reported_as_input_errors(tmp_path: Path) -> None:
    text = GOOD.replace('kind = "msix"', 'kind = "line"\nline = 99')
    code, out, path = validate(tmp_path, text)
    assert code == 2
    assert f"Error: {path}: device 'nic': IO-APIC pin 99 out of range 0-23" in out


def test_missing_python_handler_file_names_the_file_and_field(tmp_path: Path) -> None:
    text = GOOD.replace('kind = "msix"', 'kind = "msix"\nhandler = { python = "nosuch_mod:fn" }')
    code, out, path = validate(tmp_path, text)
    assert code == 2
    assert out.strip() == (f"Error: {path}: device[0].handler.python: 'nosuch_mod:fn': "
                           f"no file {tmp_path / 'nosuch_mod.py'}")


def test_missing_file(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["validate", str(tmp_path / "none.toml")])
    assert res.exit_code == 2
    assert "none.toml: cannot read" in res.output


@pytest.mark.parametrize("name", ["default", "shared-line-storm", "missed-eoi", "gic-arm64",
                                  "nvic-cortex-m4"])
def test_builtins_validate(name: str) -> None:
    res = CliRunner().invoke(cli, ["validate", name])
    assert res.exit_code == 0, res.output


# -- large scenarios: linear work (structural checks; speed is measured in bench/) ------------
def _devices(n: int, arch: str = "x86", cpus: int = 64, extra: str = "") -> str:
    head = f'[machine]\narch = "{arch}"\ncpus = {cpus}\n{extra}[timer]\nenabled = false\n'
    return head + "".join(f'[[device]]\nname = "d{i}"\nkind = "msix"\ncpu = {i % cpus}\n'
                          for i in range(n))


def test_ten_thousand_devices_validate_in_a_subprocess(tmp_path: Path) -> None:
    """The builder compared each device with every earlier one (list.index on
    models: ~50 million comparisons here, many minutes); now a few seconds.
    The timeout is generous: it catches the quadratic path, not a slow machine."""
    path = tmp_path / "many.toml"
    path.write_text(_devices(10_000))
    res = subprocess.run([sys.executable, "-m", "irqlab", "validate", str(path)],
                         capture_output=True, text=True, timeout=240, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("(x86, 64 CPU(s), 10000 device(s), 0 fault(s))")


def test_more_devices_than_one_pci_segment_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("".join(f'[[device]]\nname = "d{i}"\n' for i in range(65_536)))
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2
    assert res.output == (f"Error: {path}: device: 65,536 devices; a machine holds at most 65,535 "
                          "(the PCI requester ids bus:dev.fn of one segment, which its IOMMU "
                          "tells apart)\n")


def test_duplicate_names_are_found_and_listed_briefly(tmp_path: Path) -> None:
    text = _devices(3_000) + "".join(f'[[device]]\nname = "d{i}"\nkind = "msix"\n'
                                     for i in range(0, 3_000, 100))
    code, out, path = validate(tmp_path, text)
    assert code == 2
    assert out == (f"Error: {path}: device names must be unique: d0, d100, d1000, d1100, d1200 "
                   "and 25 more\n")


def test_building_compares_no_device_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each device's index comes from enumerating them, never from searching
    the list (499,500 model comparisons for 1,000 devices)."""
    from irqlab.machine.build import build
    from irqlab.scenario.schema import DeviceSpec, Scenario

    compared = []
    monkeypatch.setattr(DeviceSpec, "__eq__", lambda self, other: compared.append(1) or self is other)
    spec = Scenario.model_validate(tomllib.loads(_devices(300)))
    m = build(spec)
    assert len(m.devices) == 300
    assert compared == []


def test_every_device_has_its_own_pci_requester_id() -> None:
    """Past 255 devices the bus number wrapped (bus & 0xFF): two devices
    shared a VT-d source id, so a DMA fault was blamed on the wrong one."""
    from irqlab.machine.build import build
    from irqlab.scenario.schema import Scenario

    spec = Scenario.model_validate(tomllib.loads(_devices(600, extra="iommu = true\n")))
    m = build(spec)
    assert len(set(m.sids.values())) == 600
    names = {m.kernel.descs[irqs[0]].chip.name for dev, irqs in m.irqs.items() if dev != "dmar0"}
    assert len(names) == 600
    # behind the IOMMU's interrupt remapping Linux names the MSI domains "IR-..."
    assert {"IR-PCI-MSIX-0000:01:00.0", "IR-PCI-MSIX-0000:ff:00.0", "IR-PCI-MSIX-0000:00:01.0"} <= names


def test_identical_device_specs_get_their_own_bus_numbers() -> None:
    """The same spec twice (as the API allows) got the first one's bus: its
    index was found by searching the list for an equal spec."""
    from irqlab.machine.build import build
    from irqlab.scenario.schema import Scenario

    spec = Scenario.model_validate(tomllib.loads(_devices(1)))
    spec.device.append(spec.device[0])
    m = build(spec)
    chips = [m.kernel.descs[irq].chip.name for irq in m.irqs["d0"]]
    assert chips == ["PCI-MSIX-0000:01:00.0", "PCI-MSIX-0000:02:00.0"]


# -- machine.iommu and the DMA mistakes ------------------------------------------------------
def _iommu(arch: str, iommu: str, more: str = "") -> str:
    return GOOD.replace("[scenario]", f'[machine]\narch = "{arch}"\n{more}iommu = {iommu}\n[scenario]')


@pytest.mark.parametrize("arch,iommu,fault,expected", [
    ("x86", '"arm-smmuv3"', "", "machine.iommu: expected 'intel' or 'amd' or true (intel), got "
                                "'arm-smmuv3': 'arm-smmuv3' is an arm64 IOMMU"),
    ("arm64", '"intel"', "", "machine.iommu: expected 'arm-smmuv3', got 'intel': 'intel' is an x86 "
                             "IOMMU"),
    ("arm64", "true", "", "machine.iommu: expected 'arm-smmuv3', got True"),
    ("arm64", '"arm-smmuv3"', "bad-irte", "'bad-irte' needs interrupt remapping"),
    ("x86", '"amd"', "dma-fault", "'dma-fault' injects a VT-d fault record: it needs machine.iommu "
                                  "= 'intel'"),
    ("x86", "false", "dma-after-unmap", "fault[0]: 'dma-after-unmap' needs machine.iommu"),
    ("x86", '"intel"', "line", "DMA and interrupt remapping are modelled for MSI-X (PCIe) devices"),
    ("win", '"amd"', "", "machine.iommu = 'amd': the Windows fault ISR modelled is "
                         "nt!IvtHandleInterrupt, Intel VT-d's"),
    ("x86", '"intel"', "nic", "'dma-after-unmap' acts on a built-in driver's DMA; 'nic' is a NIC"),
])
def test_iommu_errors_name_the_field(tmp_path: Path, arch: str, iommu: str, fault: str,
                                     expected: str) -> None:
    text = _iommu("x86" if arch == "win" else arch, iommu, 'os = "windows"\n' if arch == "win" else "")
    if fault == "line":
        text = text.replace('kind = "msix"', 'kind = "line"\nline = 5')
        fault = "no-context-entry"
    if fault == "nic":
        text += "[device.nic]\n"
        fault = "dma-after-unmap"
    if fault:
        text += f'[[fault]]\nkind = "{fault}"\ndevice = "nic"\n'
    code, out, path = validate(tmp_path, text)
    assert code == 2
    [line] = [ln for ln in out.splitlines() if ln.strip()]
    assert line.startswith(f"Error: {path}: ") and expected in line


@pytest.mark.parametrize("arch,iommu", [("x86", "true"), ("x86", '"intel"'), ("x86", '"amd"'),
                                        ("arm64", '"arm-smmuv3"'), ("x86", "false")])
def test_iommu_values_accepted(tmp_path: Path, arch: str, iommu: str) -> None:
    code, out, _ = validate(tmp_path, _iommu(arch, iommu))
    assert code == 0, out


def test_every_dma_mistake_is_a_fault_kind() -> None:
    from typing import get_args

    from irqlab.scenario.schema import DMA_MISTAKES, FaultSpec

    assert set(DMA_MISTAKES) <= set(get_args(FaultSpec.model_fields["kind"].annotation))


def test_dma_mistake_on_an_assigned_device_is_refused(tmp_path: Path) -> None:
    text = ('[machine]\narch = "x86"\ncpus = 2\niommu = "intel"\n'
            '[[vm]]\nname = "g"\nvcpus = 1\npin = [1]\n'
            '[[device]]\nname = "vf0"\nkind = "msix"\nassign = "g"\n'
            '[[fault]]\nkind = "bad-irte"\ndevice = "vf0"\n')
    code, out, path = validate(tmp_path, text)
    assert code == 2
    assert out.strip() == (f"Error: {path}: fault[0]: 'bad-irte' acts on a host driver's DMA; 'vf0' "
                           "is assigned to guest 'g'")
