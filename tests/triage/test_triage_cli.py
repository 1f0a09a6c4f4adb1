"""The ``irqlab triage`` command: JSON contract, exit codes, bad input."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from irqlab.cli import cli

HEX = re.compile(r"^0x(?:0|[1-9a-f][0-9a-f]*)$")
KEYS = {
    "windows-bugcheck": {"kind", "code", "name", "parameters", "violation",
                         "in_ivt_handle_interrupt", "faulting_frame", "module", "bucket_id",
                         "explanation", "next_steps"},
    "iommu-fault": {"kind", "vendor", "device", "access", "address", "reason_code", "reason",
                    "count", "iommu", "registers"},
    "irq-storm": {"kind", "irq", "handlers", "disabled"},
}


def invoke(*args, stdin=None):
    return CliRunner().invoke(cli, ["triage", *args], input=stdin)


def test_json_keys_and_hex_format_over_all_fixtures(fixtures_dir):
    result = invoke("--json", *sorted(str(p) for p in fixtures_dir.iterdir()))
    assert result.exit_code == 0
    findings = json.loads(result.stdout)["findings"]
    assert {f["kind"] for f in findings} == set(KEYS)
    for finding in findings:
        assert set(finding) == KEYS[finding["kind"]]
        hexes = [finding.get(k) for k in ("code", "address", "reason_code")]
        hexes += finding.get("parameters") or []
        assert all(HEX.match(h) for h in hexes if h is not None), finding


def test_text_output_is_a_short_diagnosis(fixtures_dir):
    result = invoke(str(fixtures_dir / "windbg_e6_analyze.txt"))
    assert result.exit_code == 0
    assert result.stdout.startswith("[1] Windows bug check 0xe6 DRIVER_VERIFIER_DMA_VIOLATION")
    assert "Next steps:" in result.stdout and len(result.stdout.splitlines()) < 40


def test_stdin_dash(fixtures_dir):
    text = (fixtures_dir / "nobody_cared.txt").read_text()
    result = invoke("--json", "-", stdin=text)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"][0]["irq"] == 16


def test_nothing_found_exits_1(tmp_path):
    quiet = tmp_path / "quiet.log"
    quiet.write_text("[    0.000000] Linux version 6.5.0\n[    1.0] all good\n")
    result = invoke("--json", str(quiet))
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"findings": []}


def test_empty_file_is_noted_exit_1(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = invoke(str(empty))
    assert result.exit_code == 1
    assert f"{empty}: empty input" in result.stdout


def test_binary_garbage_is_noted_exit_1(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 64)
    result = invoke(str(garbage))
    assert result.exit_code == 1
    assert "binary data without crash text" in result.stdout


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_unreadable_path_exit_2_without_traceback(tmp_path, fixtures_dir, make):
    path = tmp_path / "nope"
    if make == "directory":
        path.mkdir()
    result = invoke(str(path), str(fixtures_dir / "smmu.txt"))
    assert result.exit_code == 2
    assert f"Error: {path}: cannot read" in result.stderr
    assert "Traceback" not in result.output
    assert "IOMMU fault (arm)" in result.stdout  # the readable input is still reported


def test_truncated_dump_header_exit_2(tmp_path):
    dump = tmp_path / "MEMORY.DMP"
    dump.write_bytes(b"PAGEDU64" + b"\x00" * 100)
    result = invoke("--json", str(dump))
    assert result.exit_code == 2
    assert f"{dump}: truncated crash dump header" in result.stderr
    assert "Traceback" not in result.output


def test_files_argument_required():
    assert invoke().exit_code == 2
