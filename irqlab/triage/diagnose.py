"""Orchestration: read each input once, run every parser over it, fold, and explain.

An input is a Windows crash-dump header (recognised by its signature) or text.  Text
is streamed in blocks: a search over the raw bytes (:mod:`irqlab.triage.candidates`)
finds the lines a parser could want (a superset of the keyword filter), everything
else is passed over undecoded; candidates and a little context after each (for
re-wrapped continuations) are decoded, normalised, re-joined and fed to all parsers.
Parsers that are mid-record (``active``) see every line.  Memory therefore grows with
the number of distinct findings, not with the input.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from irqlab import vtd
from irqlab.progress import reading
from irqlab.triage import amdvi, dmar, dumpfile, smmu, storm, windows
from irqlab.triage.bugcheck import DMA_VIOLATION
from irqlab.triage.candidates import Candidates
from irqlab.triage.findings import BugCheck, Finding, Findings, IommuFault, IrqStorm
from irqlab.triage.text import Lines, normalise, rejoin

HEAD = 0x2000
CONTEXT_LINES = 3
BINARY_PROBE = 4096
TITLE_TAIL = 96  # longer than any "NAME (code)" bug-check title

# "<func>: N callbacks suppressed" (lib/ratelimit.c) from the IOMMU fault printers.
_SUPPRESSED_TEXT = "callbacks suppressed"
_SUPPRESSED = re.compile(r"\b(?P<func>\w{1,64}): (?P<n>\d{1,10}) " + _SUPPRESSED_TEXT)

KEYWORDS = (*windows.KEYWORDS, *dmar.KEYWORDS, *amdvi.KEYWORDS, *smmu.KEYWORDS,
            *storm.KEYWORDS, _SUPPRESSED_TEXT)
# Two searches, not one alternation: re keeps its fast literal scan for the keywords.
_KEYWORDS = re.compile("|".join(re.escape(k) for k in KEYWORDS))
_TITLE_HINT = re.compile(windows.TITLE_HINT)
# On raw bytes, a superset of _wanted: every keyword, "NAME (code)" of any title, and a
# NUL (decoding drops NULs, so a keyword may hide around one).
_CANDIDATES = Candidates(KEYWORDS)


def _wanted(line: str) -> bool:
    """Could any parser care about this raw line?"""
    if _KEYWORDS.search(line):
        return True
    line = line.rstrip()
    # A title sits at the end of its line: look at the tail only, so that a search
    # over a long line of capitals stays linear.
    return line.endswith(")") and _TITLE_HINT.search(line[-TITLE_TAIL:]) is not None


_SUPPRESSING: tuple[tuple[str, str], ...] = (
    ("dmar_fault", "intel"),
    ("amd_iommu_report_page_fault", "amd"),
    ("iommu_print_event", "amd"),
    ("smmu_context_fault", "arm"),
)


class TriageError(Exception):
    """An input that cannot be read; ``source`` names it."""

    def __init__(self, message: str, source: str) -> None:
        super().__init__(message)
        self.source = source


class LineParser(Protocol):
    @property
    def active(self) -> bool: ...
    def incomplete(self, line: str) -> bool: ...
    def starts(self, line: str) -> bool: ...
    def feed(self, line: str) -> list[BugCheck] | list[IommuFault] | list[IrqStorm]: ...
    def flush(self) -> list[BugCheck] | list[IommuFault] | list[IrqStorm]: ...


class Triage:
    """Accumulates findings over any number of inputs."""

    def __init__(self) -> None:
        self.findings = Findings()
        self.notes: list[str] = []

    def scan_path(self, path: str) -> None:
        """Scan a file, or standard input for ``-``; :class:`TriageError` if unreadable."""
        if path == "-":
            self.scan_stream(sys.stdin.buffer, "<stdin>")
            return
        try:
            with Path(path).open("rb") as stream, reading(stream, f"reading {path}") as counted:
                self.scan_stream(counted, path)
        except OSError as exc:
            raise TriageError(f"cannot read: {exc.strerror or exc}", path) from None

    def scan_stream(self, stream: BinaryIO, source: str) -> None:
        head = stream.read(HEAD)
        if not head:
            self.notes.append(f"{source}: empty input")
            return
        if dumpfile.is_dump(head):
            self._scan_dump(head, source)
            return
        before = len(self.findings)
        self._scan_text(Lines(stream, head))
        if len(self.findings) == before and b"\x00" in head[:BINARY_PROBE]:
            self.notes.append(f"{source}: binary data without crash text")

    def _scan_dump(self, head: bytes, source: str) -> None:
        try:
            header = dumpfile.parse_header(head)
        except dumpfile.DumpError as exc:
            raise TriageError(str(exc), source) from None
        self.findings.add(BugCheck(header.code, list(header.parameters),
                                   origin=f"crash dump header, {header.dump_kind}"))

    def _scan_text(self, lines: Lines) -> None:
        win = windows.WindowsParser()
        parsers: tuple[LineParser, ...] = (
            win, dmar.DmarParser(), amdvi.AmdViParser(), smmu.SmmuParser(), storm.StormParser())
        touched: list[Finding] = []

        def incomplete(line: str) -> bool:
            return any(p.incomplete(line) for p in parsers)

        def starts(line: str) -> bool:
            return any(p.starts(line) for p in parsers)

        def relevant() -> Iterator[str]:
            """Candidate lines, the context after them, and every line a parser waits on.

            While none of these is due, ``lines.skip`` passes over the bytes to the next
            candidate without decoding them.
            """
            context = 0
            while context or any(p.active for p in parsers) or lines.skip(_CANDIDATES):
                line = lines.next_piece()
                if line is None:
                    return
                if _wanted(line):
                    context = CONTEXT_LINES
                elif context:
                    context -= 1
                elif not any(p.active for p in parsers):
                    continue
                yield normalise(line)

        def add(found: list[BugCheck] | list[IommuFault] | list[IrqStorm]) -> None:
            for finding in found:
                record = self.findings.add(finding)
                if isinstance(record, BugCheck) and record.code == DMA_VIOLATION \
                        and record not in touched:
                    touched.append(record)

        for _, line in rejoin(enumerate(relevant()), incomplete, starts):
            # the literal first: the pattern alone would be tried at every position
            suppressed = _SUPPRESSED.search(line) if _SUPPRESSED_TEXT in line else None
            if suppressed is not None:
                vendor = next((v for f, v in _SUPPRESSING if f in suppressed["func"]), None)
                if vendor is not None:
                    self.findings.add_suppressed(vendor, int(suppressed["n"]))
                continue
            for parser in parsers:
                add(parser.feed(line))
        for parser in parsers:
            add(parser.flush())
        if win.saw_ivt:  # "IvtHandleInterrupt" mentioned anywhere in this input
            for record in touched:
                if isinstance(record, BugCheck):
                    record.in_ivt_handle_interrupt = True

    def close(self) -> Findings:
        self.findings.close()
        return self.findings


# --- text output -----------------------------------------------------------------

_WRAP = 88


def _para(text: str, indent: str = "    ") -> list[str]:
    return textwrap.wrap(text, _WRAP, initial_indent=indent, subsequent_indent=indent)


def _steps(steps: list[str]) -> list[str]:
    lines = ["    Next steps:"]
    for step in steps:
        lines += textwrap.wrap(step, _WRAP, initial_indent="      - ",
                               subsequent_indent="        ")
    return lines


def _bugcheck_text(bc: BugCheck) -> list[str]:
    data = bc.to_json()
    params = ", ".join(p or "?" for p in data["parameters"])
    lines = [f"Windows bug check {data['code']} {data['name']} ({params})  [{bc.origin}]"]
    where = [f"{label}: {value}" for label, value in (
        ("frame", bc.faulting_frame), ("module", bc.module), ("bucket", bc.bucket_id)) if value]
    if where:
        lines.append("    " + "   ".join(where))
    return [*lines, *_para(data["explanation"]), *_steps(data["next_steps"])]


def _fault_advice(fault: IommuFault) -> list[str]:
    device = fault.device or "the device"
    steps = []
    if fault.vendor in ("intel", "amd") and fault.device:
        steps.append(f"Identify it: lspci -vv -s {fault.device} (driver in use, firmware).")
    elif fault.vendor == "arm":
        steps.append("Find the master behind the stream ID in the device tree "
                     "(iommus = <&smmu ID>) or ACPI IORT.")
    reason = fault.reason.lower()
    if "root entry" in reason or "context entry" in reason:
        steps.append(f"{device} did DMA while not attached to any IOMMU domain: typically "
                     "firmware DMA (missing RMRR), a device left running across kexec/boot, "
                     "or a driver that started DMA before binding.")
    elif fault.reason_code is not None and fault.vendor == "intel" \
            and vtd.is_irq_remap(fault.reason_code):
        steps.append("An interrupt-remapping fault: the device sent an MSI the remapping "
                     "table does not allow; update firmware/driver, report with the IRTE index.")
    else:
        steps.append(f"The driver of {device} let it DMA to an address it had not mapped "
                     "(or had already unmapped): update the driver and firmware, then "
                     "report it upstream with this log.")
    workaround = "iommu=pt"
    if fault.vendor == "intel" and fault.device in ("00:02.0", "0000:00:02.0"):
        workaround = "intel_iommu=igfx_off (Intel iGPU) or iommu=pt"
    steps.append(f"As a test only, booting with {workaround} should silence it; that hides "
                 "the fault, it does not fix it.")
    return steps


def _fault_text(fault: IommuFault) -> list[str]:
    data = fault.to_json()
    where = "index" if fault.vendor == "intel" and fault.access is None else "address"
    count = f"{fault.count} time{'s' if fault.count != 1 else ''}"
    if fault.suppressed:
        count += f", {fault.suppressed} of them rate-limited by the kernel"
    head = (f"IOMMU fault ({fault.vendor}) from {fault.device or 'unknown device'}: "
            f"{fault.access or 'access'} at {where} {data['address'] or '?'}")
    return [head, *_para(f"Reason {data['reason_code'] or '?'}: {fault.reason}. "
                         f"Seen {count}."), *_steps(_fault_advice(fault))]


def _storm_text(irq: IrqStorm) -> list[str]:
    handlers = ", ".join(f"{h.function} [{h.module}]" if h.module else h.function
                         for h in irq.handlers) or "not in the log"
    state = "the kernel disabled the line" if irq.disabled else "line not reported disabled"
    return [
        f"Interrupt storm on IRQ {irq.irq}: nobody handled it; {state}",
        *_para(f"Handlers on the line: {handlers}. The kernel saw more than 99,900 of "
               "100,000 interrupts go unhandled (kernel/irq/spurious.c)."),
        *_steps([
            f"grep '^ *{irq.irq}:' /proc/interrupts to see which devices share the line; "
            "the asserting device is often one whose driver is not loaded.",
            "Check that each listed handler's driver recognises its device's interrupt "
            "status; update BIOS (IRQ routing) and those drivers.",
            "Workarounds for testing: boot with irqpoll, or pci=nomsi / noapic to change "
            "routing.",
        ]),
    ]


def render_text(findings: Findings, notes: list[str]) -> str:
    """The short human diagnosis."""
    lines: list[str] = []
    for number, finding in enumerate(findings, 1):
        if isinstance(finding, BugCheck):
            body = _bugcheck_text(finding)
        elif isinstance(finding, IommuFault):
            body = _fault_text(finding)
        else:
            body = _storm_text(finding)
        lines += [f"[{number}] {body[0]}", *body[1:], ""]
    if not findings:
        lines.append("No crash evidence found (no bug check, IOMMU fault or IRQ storm).")
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"

