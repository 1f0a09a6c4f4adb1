"""Property tests: no parser, and no whole scan, lets an exception escape."""

from __future__ import annotations

import io
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irqlab.triage import amdvi, dmar, dumpfile, smmu, storm, text, windows
from irqlab.triage.diagnose import _CANDIDATES, Triage, TriageError, _wanted
from irqlab.triage.text import Lines, normalise

# Fragments of real lines, so generated text reaches deep into the parsers.
FRAGMENTS = [
    "DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7cd80000",
    " [fault reason 0x01] Present bit in root entry is clear", "DMAR:[fault reason 05] ",
    "[VT-D]DMAR: reason 06 - ", "INTR-REMAP: Request device [[f0:1f.0] fault index ",
    "AMD-Vi: Event logged [", "IO_PAGE_FAULT device=24:00.0 domain=0x0003 address=0x",
    " flags=0x0010]", "arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402, ",
    "iova=0x9ffff000, fsynr=0x200021, cbfrsynra=0x880, cb=3", "FSR    = 00000402 [TF], SID=0x",
    "FSYNR0 = 00000010 [WNR]", "irq 16: nobody cared", "handlers:", "[<00000000f1d6cb74>] ",
    "usb_hcd_irq [usbcore]", "Disabling IRQ #", "DRIVER_VERIFIER_DMA_VIOLATION (e6)",
    "Arg1: 0000000000000026,", "BUGCHECK_P4: ", "BugCheck E6, {26, ", "}",
    "The bugcheck was: 0x000000e6 (", ")", " : nt!KeBugCheckEx", "00000000`000000e6 ",
    "IvtHandleInterrupt", "Stop code: ", "What failed: ", "dmar_fault: 9 callbacks suppressed",
    "> ", "\r", "\n", " ", "0x", "ffffffffffffffffffff", "`", "[", "]", ":", ",",
]
fragment_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=40).map(
    "".join)
PARSERS = (windows.WindowsParser, dmar.DmarParser, amdvi.AmdViParser, smmu.SmmuParser,
           storm.StormParser)


@settings(max_examples=150, deadline=None)
@given(st.lists(fragment_text, max_size=12))
def test_every_parser_survives_any_lines(lines):
    for make in PARSERS:
        parser = make()
        for line in lines:
            parser.incomplete(line)
            parser.starts(line)
            parser.feed(normalise(line))
        parser.flush()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000) | fragment_text.map(str.encode))
def test_whole_scan_survives_any_bytes(data):
    """Only the documented TriageError (a clear message) may leave a scan."""
    run = Triage()
    try:
        run.scan_stream(io.BytesIO(data), "fuzz")
    except TriageError as exc:
        assert exc.source == "fuzz" and str(exc)
    for finding in run.close().to_json()["findings"]:
        assert finding["kind"] in ("windows-bugcheck", "iommu-fault", "irq-storm")


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([b"PAGEDUMP", b"PAGEDU64", b"MDMP", b""]), st.binary(max_size=0x2100))
def test_dump_header_only_raises_dump_error(signature, rest):
    data = signature + rest
    try:
        header = dumpfile.parse_header(data)
    except dumpfile.DumpError:
        return
    assert 0 <= header.code <= 0xFFFFFFFF and len(header.parameters) == 4


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000), st.binary(max_size=50))
def test_lines_lose_no_newline(data, head):
    lines, count, ended = Lines(io.BytesIO(data), head), 0, True
    while lines.next_piece() is not None:
        count += ended  # a piece after an ended one starts a line
        ended = lines.ended
    whole = head + data
    assert count == whole.count(b"\n") + (0 if whole.endswith(b"\n") or not whole else 1)


# --- long lines, many lines, block boundaries (issue 10 section 8, issue 12) ---

JUNK = st.sampled_from(["a", " ", "0", "A_", "> ", ":", "x=1 ", "\x00", "é", "[", ")"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(fragment_text, JUNK, st.integers(0, 40_000)), max_size=6),
       st.sampled_from([7, 300, 1 << 20]), st.sampled_from([16, 1 << 14]))
def test_skipping_never_passes_over_a_wanted_piece(parts, block, max_line):
    """``Lines.skip`` on raw bytes lands on every piece the text filter wants."""
    data = "\n".join(frag + junk * count + frag for frag, junk, count in parts).encode()
    with patch.object(text, "BLOCK", block), patch.object(text, "MAX_LINE", max_line):
        every = [piece for piece in Lines(io.BytesIO(data)) if _wanted(piece)]
        lines, reached = Lines(io.BytesIO(data)), []
        while lines.skip(_CANDIDATES):
            piece = lines.next_piece()
            assert piece is not None
            if _wanted(piece):
                reached.append(piece)
    assert reached == every


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(FRAGMENTS[:20]), JUNK, st.integers(1 << 15, 1 << 18))
def test_a_record_inside_a_long_line_of_junk_is_still_read(frag, junk, count):
    """A fault line after 32-256 kB of junk on the same line is found as if alone."""
    fault = "DMAR: [DMA Read] Request device [00:02.0] fault addr 1000 [fault reason 06] x"
    run = Triage()
    run.scan_stream(io.BytesIO(((frag + junk) * (count // 8) + "\n" + fault + "\n").encode()),
                    "long")
    found = run.close().to_json()["findings"]
    assert [f["address"] for f in found if f["kind"] == "iommu-fault"][-1:] == ["0x1000"]


@settings(max_examples=5, deadline=None)
@given(st.integers(1_000, 20_000), st.integers(1, 300))
def test_many_faults_and_many_handlers_keep_count_and_order(faults, handlers):
    lines = [f"DMAR: [DMA Write] Request device [{i // 256:02x}:{i % 32:02x}.{i % 8}] fault "
             f"addr {i:x}000 [fault reason 05] PTE Write access is not set" for i in range(faults)]
    lines += ["irq 16: nobody cared (try booting with the \"irqpoll\" option)", "handlers:"]
    lines += [f"[<{i:016x}>] handler_{i}+0x0/0x10 [mod_{i}]" for i in range(handlers)]
    lines.append("Disabling IRQ #16")
    run = Triage()
    run.scan_stream(io.BytesIO("\n".join(lines).encode()), "many")
    found = run.close().to_json()["findings"]
    storms = [f for f in found if f["kind"] == "irq-storm"]
    assert sum(f["count"] for f in found if f["kind"] == "iommu-fault") == faults
    assert [h["function"] for h in storms[0]["handlers"]] == [f"handler_{i}" for i in range(handlers)]
