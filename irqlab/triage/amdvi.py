"""AMD-Vi event-log lines (``drivers/iommu/amd/iommu.c`` ``iommu_print_event``).

Recognised: the current ``amdgpu 0000:03:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT
domain=0x0010 address=0x64a7f000 flags=0x0020]`` (device from the ``pci_err`` prefix),
the unknown-device form with ``device=0000:03:00.0`` or the older ``device=03:00.0``,
and the pre-``KERN_CONT`` split form where ``AMD-Vi: Event logged [`` ends one line and
``IO_PAGE_FAULT device=... flags=0x0010]`` starts the next (re-joined by the caller).

``reason_code`` is the event type (``event[1] >> 28``: 0x2 = IO_PAGE_FAULT, table from
``amd_iommu_types.h``) and ``reason`` spells out the flags.  Flag bits are the event's
bits 16..27: I 0x008, PR 0x010, RW 0x020, TR 0x100 as Linux defines them
(``EVENT_FLAG_*``); GN 0x001, NX 0x002, US 0x004, PE 0x040, RZ 0x080 from the AMD
IOMMU specification's IO_PAGE_FAULT event layout.
"""

from __future__ import annotations

import re

from irqlab.triage.findings import IommuFault

EVENT_TYPES: dict[str, tuple[int, str]] = {
    "ILLEGAL_DEV_TABLE_ENTRY": (0x1, "illegal device table entry"),
    "IO_PAGE_FAULT": (0x2, "I/O page fault"),
    "DEV_TAB_HARDWARE_ERROR": (0x3, "hardware error reading the device table"),
    "PAGE_TAB_HARDWARE_ERROR": (0x4, "hardware error reading a page table"),
    "ILLEGAL_COMMAND_ERROR": (0x5, "illegal command in the command buffer"),
    "COMMAND_HARDWARE_ERROR": (0x6, "hardware error reading the command buffer"),
    "IOTLB_INV_TIMEOUT": (0x7, "device IOTLB invalidation timed out"),
    "INVALID_DEVICE_REQUEST": (0x8, "invalid device request"),
    "INVALID_PPR_REQUEST": (0x9, "invalid peripheral page request"),
    "RMP_PAGE_FAULT": (0xD, "SEV-SNP reverse-map (RMP) page fault"),
    "RMP_HW_ERROR": (0xE, "SEV-SNP reverse-map (RMP) hardware error"),
}

FLAG_GN, FLAG_NX, FLAG_US, FLAG_I = 0x001, 0x002, 0x004, 0x008
FLAG_PR, FLAG_RW, FLAG_PE, FLAG_RZ, FLAG_TR = 0x010, 0x020, 0x040, 0x080, 0x100

_FLAG_WORDS: tuple[tuple[int, str], ...] = (
    (FLAG_PE, "permission denied"),
    (FLAG_RZ, "reserved bit set in a page-table entry"),
    (FLAG_I, "interrupt request"),
    (FLAG_TR, "ATS translation request"),
    (FLAG_GN, "guest (PASID) access"),
    (FLAG_NX, "execute access"),
    (FLAG_US, "user-mode access"),
)
_NO_ACCESS = frozenset({"ILLEGAL_COMMAND_ERROR", "COMMAND_HARDWARE_ERROR", "IOTLB_INV_TIMEOUT"})

KEYWORDS = ("Event logged", "IO_PAGE_FAULT")
_START = re.compile(r"Event logged \[")
_CUT = re.compile(r"Event logged\s{0,8}\[?\s{0,8}$")  # a mailer broke the line here
# Repeats are bounded by the longest event the kernel prints: linear in any line.
_EVENT = re.compile(r"Event logged \[\s{0,8}(?P<name>[A-Z_]{1,32})(?P<fields>[^\][]{0,400})\]")
_FIELD = re.compile(r"\b(\w{1,16})=([0-9A-Fa-fx:.]{1,24})")
_PDEV = re.compile(r"(?P<pdev>[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]):\s{0,8}"
                   r"(?:AMD-Vi:\s{0,8})?Event logged")


def describe_flags(name: str, flags: int) -> str:
    """Human text for the event's flags (page presence first for page faults)."""
    words = []
    if name == "IO_PAGE_FAULT":
        words.append("page present" if flags & FLAG_PR else "page not present")
    words += [word for bit, word in _FLAG_WORDS if flags & bit]
    return ", ".join(words)


class AmdViParser:
    """Turns AMD-Vi ``Event logged`` lines into :class:`IommuFault` (vendor ``amd``)."""

    active = False

    def incomplete(self, line: str) -> bool:
        start = _START.search(line)
        if start is not None:
            return "]" not in line[start.end():]
        return _CUT.search(line) is not None

    def starts(self, line: str) -> bool:
        return _START.search(line) is not None or _CUT.search(line) is not None

    def feed(self, line: str) -> list[IommuFault]:
        event = _EVENT.search(line)
        if event is None or event["name"] not in EVENT_TYPES:
            return []
        name = event["name"]
        code, meaning = EVENT_TYPES[name]
        fields = dict(_FIELD.findall(event["fields"]))
        device = fields.get("device")
        if device is None:
            pdev = _PDEV.search(line)
            device = pdev["pdev"] if pdev else None
        flags = _int(fields.get("flags"))
        access = None
        if flags is not None and name not in _NO_ACCESS and not flags & FLAG_I:
            access = "write" if flags & FLAG_RW else "read"
        detail = describe_flags(name, flags) if flags is not None else ""
        reason = f"{name}: {meaning}" + (f" ({detail})" if detail else "")
        return [IommuFault("amd", device, access, _int(fields.get("address")), code, reason)]

    def flush(self) -> list[IommuFault]:
        return []


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None
