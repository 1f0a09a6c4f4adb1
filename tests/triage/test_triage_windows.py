"""Windows bug checks from text: WinDbg, Event Viewer, stacks, stop-code names."""

from __future__ import annotations

import pytest

from irqlab.triage import bugcheck

IOMMU_E6 = {
    "kind": "windows-bugcheck",
    "code": "0xe6",
    "name": "DRIVER_VERIFIER_DMA_VIOLATION",
    "violation": {"code": "0x26", "meaning": "IOMMU detected DMA violation"},
}


def test_windbg_analyze_e6_every_field(scan):
    [found] = scan("windbg_e6_analyze.txt")
    assert {k: found[k] for k in IOMMU_E6} == IOMMU_E6
    assert found["parameters"] == ["0x26", "0xffffd08bb1435060", "0x40", "0x6"]
    assert found["in_ivt_handle_interrupt"] is True
    assert found["faulting_frame"] == "nt!IvtHandleInterrupt+1a7"
    assert found["module"] == "ntkrnlmp.exe"
    assert found["bucket_id"] == "0xE6_nt!IvtHandleInterrupt"


def test_e6_explanation_reads_arg4_as_vtd_reason_under_ivt(scan):
    [found] = scan("windbg_e6_analyze.txt")
    assert "Intel VT-d" in found["explanation"]
    assert "PTE Read access is not set" in found["explanation"]  # VT-d FR 0x06
    steps = " ".join(found["next_steps"])
    for needle in ("!devobj 0xffffd08bb1435060", "Kernel DMA Protection", "Thunderbolt",
                   "verifier"):
        assert needle in steps


def test_event_viewer_line_quoted_with_crlf(scan):
    [found] = scan("event_viewer_quoted.txt")
    assert {k: found[k] for k in IOMMU_E6} == IOMMU_E6
    assert found["parameters"] == ["0x26", "0xffffd08bb1435060", "0x40", "0x6"]
    assert found["in_ivt_handle_interrupt"] is False
    assert found["faulting_frame"] is None and found["module"] is None
    assert found["bucket_id"] is None


def test_kebugcheckex_stack_arguments_x64_and_x86(scan):
    e6, d1 = scan("kebugcheckex_stacks.txt")
    assert e6["code"] == "0xe6"
    assert e6["parameters"] == ["0x26", "0xffffd08bb1435060", "0x40", None]  # Arg4 not shown
    assert e6["violation"] == IOMMU_E6["violation"]
    assert e6["in_ivt_handle_interrupt"] is True
    assert d1["code"] == "0xd1" and d1["name"] == "DRIVER_IRQL_NOT_LESS_OR_EQUAL"
    assert d1["parameters"] == ["0x0", "0x2", None, None]


def test_bare_stop_code_name_with_what_failed(scan):
    [found] = scan("stop_code_screen.txt")
    assert found["code"] == "0xe6" and found["name"] == "DRIVER_VERIFIER_DMA_VIOLATION"
    assert found["parameters"] == [None, None, None, None]
    assert found["violation"] is None
    assert found["module"] == "Thunderbolt.sys"
    assert found["in_ivt_handle_interrupt"] is True  # mentioned in the same text


def test_other_bugcheck_named_not_dma(scan):
    [found] = scan("windbg_dpc_watchdog.txt")
    assert found["code"] == "0x133" and found["name"] == "DPC_WATCHDOG_VIOLATION"
    assert found["parameters"] == ["0x0", "0x501", "0x500", "0xfffff8047d4fb320"]
    assert found["violation"] is None and found["in_ivt_handle_interrupt"] is False
    assert found["module"] == "storport.sys"
    assert found["bucket_id"] == "0x133_DPC_storport!RaidpAdapterDpcRoutine"
    assert "DMA" not in found["explanation"]


REQUIRED = (0x0A, 0x1E, 0x3B, 0x50, 0x5A, 0x7E, 0x9F, 0xC4, 0xC9, 0xD1, 0xEF, 0x133, 0x139)


@pytest.mark.parametrize("code", REQUIRED)
def test_required_bugchecks_named_with_parameters_and_never_dma(code):
    info = bugcheck.lookup(code)
    assert info.name in bugcheck.NAMES and bugcheck.NAMES[info.name] == code
    assert len(info.parameters) == 4 and all(info.parameters)
    assert bugcheck.violation(code, 0x26) is None


@pytest.mark.parametrize("code", REQUIRED)
def test_required_bugcheck_from_event_line(scan_text, code):
    [found] = scan_text(f"The bugcheck was: {code:#010x} (0x26, 0x1, 0x2, 0x3).\n")
    assert found["code"] == f"{code:#x}" and found["name"] == bugcheck.lookup(code).name
    assert found["violation"] is None and "IOMMU" not in found["explanation"]


DOCUMENTED_E6 = {*range(0x00, 0x12), *range(0x13, 0x17), 0x18, 0x19, 0x1B, *range(0x1D, 0x27)}


def test_e6_arg1_table_is_complete():
    assert set(bugcheck.E6_VIOLATIONS) == DOCUMENTED_E6


@pytest.mark.parametrize("arg1", sorted(DOCUMENTED_E6))
def test_e6_verifier_violation_reported(scan_text, arg1):
    [found] = scan_text(f"BugCheck E6, {{{arg1:x}, 1, 2, 3}}\n")
    expected = bugcheck.E6_VIOLATIONS[arg1]
    assert found["violation"] == {"code": f"{arg1:#x}", "meaning": expected.meaning}
    assert ("IOMMU" in found["explanation"]) == (arg1 == 0x26)


def test_e6_violation_parameter_meanings_for_iommu_case():
    assert bugcheck.E6_VIOLATIONS[0x26].parameters[0] == "Device object of the faulting device"
