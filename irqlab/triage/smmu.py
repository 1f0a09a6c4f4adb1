"""Arm SMMU (v1/v2, ``arm-smmu``) context-fault lines.

Recognised (``drivers/iommu/arm/arm-smmu/arm-smmu.c`` ``arm_smmu_context_fault`` and
the nvidia/qcom variants): ``arm-smmu 15000000.iommu: Unhandled context fault:
fsr=0x402, iova=0x9ffff000, fsynr=0x200021, cbfrsynra=0x880, cb=3`` (older kernels
lack ``cbfrsynra``), and the 6.11+ register dump ``FSR    = 00000402 [Format=2 TF],
SID=0x880`` / ``FSYNR0 = 00200021 [S1CBNDX=32 PNU PLVL=1]``, which follows the
"Unhandled" line or, in 6.11, stands alone.

Field choices: ``device`` is the SMMU as printed (a context fault names no client
device); the client is the stream ID, ``CBFRSYNRA[15:0]``, given in ``reason`` with the
context bank.  ``reason_code`` is the FSR fault bits (``fsr & ARM_SMMU_CB_FSR_FAULT``,
without the FORMAT field) and ``reason`` names them.  ``access`` is FSYNR0.WNR (bit 4:
write).  Bit layout from ``arm-smmu.h``.
"""

from __future__ import annotations

import re

from irqlab.triage.findings import IommuFault

FSR_BITS: tuple[tuple[int, str, str], ...] = (
    (1 << 1, "TF", "translation fault"),
    (1 << 2, "AFF", "access flag fault"),
    (1 << 3, "PF", "permission fault"),
    (1 << 4, "EF", "external fault"),
    (1 << 5, "TLBMCF", "TLB match conflict fault"),
    (1 << 6, "TLBLKF", "TLB lock fault"),
    (1 << 7, "ASF", "address size fault"),
    (1 << 8, "UUT", "unsupported upstream transaction"),
    (1 << 30, "SS", "context stalled"),
    (1 << 31, "MULTI", "multiple faults"),
)
FSR_FAULT = sum(bit for bit, _, _ in FSR_BITS)
FSYNR0_WNR = 1 << 4
FSYNR0_PTWF = 1 << 10
SID_MASK = 0xFFFF

KEYWORDS = ("context fault", "FSR", "FSYNR0")
_UNHANDLED = re.compile(
    r"(?P<dev>[\w.:-]+):\s*Unhandled context fault: fsr=0x(?P<fsr>[0-9a-fA-F]+),\s*"
    r"iova=0x(?P<iova>[0-9a-fA-F]+),\s*fsynr=0x(?P<fsynr>[0-9a-fA-F]+),\s*"
    r"(?:cbfrsynra=0x(?P<cbfrsynra>[0-9a-fA-F]+),\s*)?cb=(?P<cb>\d+)"
)
_FSR = re.compile(r"(?P<dev>[\w.:-]+):\s*FSR\s+=\s+(?P<fsr>[0-9a-fA-F]{8})\s+\[[^\]]*\],\s*"
                  r"SID=0x(?P<sid>[0-9a-fA-F]+)")
_FSYNR0 = re.compile(r"(?P<dev>[\w.:-]+):\s*FSYNR0\s+=\s+(?P<fsynr>[0-9a-fA-F]{8})\b")
_START = re.compile(r"Unhandled context fault:|:\s*FSR\s+=|:\s*FSYNR0\s+=")


def fault_reason(fsr: int, fsynr: int | None, stream: int | None, cb: int | None) -> str:
    """Names of the FSR fault bits, then walk, stream ID and context bank if known."""
    words = [f"{text} ({name})" for bit, name, text in FSR_BITS if fsr & bit]
    parts = ["; ".join(words) if words else "no fault bit set"]
    if fsynr is not None and fsynr & FSYNR0_PTWF:
        parts.append("during a page-table walk")
    if stream is not None:
        parts.append(f"stream ID {stream:#x}")
    if cb is not None:
        parts.append(f"context bank {cb}")
    return ", ".join(parts)


class SmmuParser:
    """Turns SMMU context-fault reports into :class:`IommuFault` (vendor ``arm``)."""

    def __init__(self) -> None:
        self._explained: str | None = None  # device whose register dump we already have
        self._held: tuple[str, int, int] | None = None  # (device, fsr, sid) from FSR line

    @property
    def active(self) -> bool:
        return self._held is not None

    def incomplete(self, line: str) -> bool:
        return "Unhandled context fault:" in line and _UNHANDLED.search(line) is None

    def starts(self, line: str) -> bool:
        return _START.search(line) is not None

    def feed(self, line: str) -> list[IommuFault]:
        match = _UNHANDLED.search(line)
        if match is not None:
            out = self.flush()
            fsr, fsynr = int(match["fsr"], 16), int(match["fsynr"], 16)
            cbfrsynra = match["cbfrsynra"]
            stream = int(cbfrsynra, 16) & SID_MASK if cbfrsynra else None
            self._explained = match["dev"]
            out.append(IommuFault(
                "arm", match["dev"], "write" if fsynr & FSYNR0_WNR else "read",
                int(match["iova"], 16), fsr & FSR_FAULT,
                fault_reason(fsr, fsynr, stream, int(match["cb"]))))
            return out
        fsr_line = _FSR.search(line)
        if fsr_line is not None:
            if fsr_line["dev"] == self._explained:
                return []
            out = self.flush()
            self._held = (fsr_line["dev"], int(fsr_line["fsr"], 16),
                          int(fsr_line["sid"], 16) & SID_MASK)
            return out
        fsynr_line = _FSYNR0.search(line)
        if fsynr_line is not None and fsynr_line["dev"] == self._explained:
            self._explained = None
            return []
        if fsynr_line is not None and self._held and self._held[0] == fsynr_line["dev"]:
            device, fsr, sid = self._held
            self._held = None
            fsynr = int(fsynr_line["fsynr"], 16)
            return [IommuFault("arm", device, "write" if fsynr & FSYNR0_WNR else "read", None,
                               fsr & FSR_FAULT, fault_reason(fsr, fsynr, sid, None))]
        return self.flush()

    def flush(self) -> list[IommuFault]:
        """An FSR line whose FSYNR0 never came: access unknown."""
        if self._held is None:
            return []
        device, fsr, sid = self._held
        self._held = None
        return [IommuFault("arm", device, None, None, fsr & FSR_FAULT,
                           fault_reason(fsr, None, sid, None))]
