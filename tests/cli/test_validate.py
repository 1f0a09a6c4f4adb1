"""``irqlab validate``: errors name the file, the field and what was expected;
never a traceback."""

from __future__ import annotations

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
