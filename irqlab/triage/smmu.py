"""Arm SMMU faults: SMMUv1/v2 context faults and SMMUv3 event-queue records.

SMMUv2 (``drivers/iommu/arm/arm-smmu/arm-smmu.c`` ``arm_smmu_context_fault`` and the
nvidia/qcom variants): ``arm-smmu 15000000.iommu: Unhandled context fault:
fsr=0x402, iova=0x9ffff000, fsynr=0x200021, cbfrsynra=0x880, cb=3`` (4.x lacks
``cbfrsynra``, 3.x also ``fsr``), and the 6.11+ register dump ``FSR    = 00000402
[Format=2 TF], SID=0x880`` / ``FSYNR0 = 00200021 [S1CBNDX=32 PNU PLVL=1]``, which
follows the "Unhandled" line or, in 6.11, stands alone.  ``reason_code`` is the FSR
fault bits (``fsr & ARM_SMMU_CB_FSR_FAULT``, without FORMAT) and ``reason`` names them;
``access`` is FSYNR0.WNR (bit 4: write).  Bit layout from ``arm-smmu.h``.

SMMUv3 (``arm-smmu-v3.c`` ``arm_smmu_dump_raw_event`` / ``arm_smmu_dump_event``):
``event 0x10 received:`` and the record's four dwords (``\\t0x%016llx``), decoded as
``EVTQ_0_ID`` [7:0], ``EVTQ_0_SID`` [63:32], ``EVTQ_1_RnW`` bit 35, ``EVTQ_2_ADDR``
(the input address of the translation-class faults 0x10..0x13); kernels from 6.14
add ``event: F_TRANSLATION client: 0000:01:00.0 sid: 0x100 ssid: 0x0 iova: 0x...``,
which names the client device.  Event names: SMMUv3 architecture (IHI 0070) 7.3.

Every finding names the faulting master, never the SMMU: the client device when the
log names it, else its stream ID (``sid 0x880``: ``CBFRSYNRA[15:0]`` or the event's
SID).  The SMMU instance goes in ``iommu`` and the raw registers in ``registers``.
Every pattern starts from a literal and bounds its repeats: linear in any line.
"""

from __future__ import annotations

import re

from irqlab.triage.findings import IommuFault
from irqlab.triage.text import guarded

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

# SMMUv3 event record (arm-smmu-v3.h EVTQ_*), IDs and names from IHI 0070 7.3.
EVTQ_DWORDS = 4
EVTQ_1_RNW = 1 << 35
EVENTS: dict[int, tuple[str, str]] = {
    0x01: ("F_UUT", "unsupported upstream transaction"),
    0x02: ("C_BAD_STREAMID", "stream ID out of range or not configured"),
    0x03: ("F_STE_FETCH", "external abort fetching the stream table entry"),
    0x04: ("C_BAD_STE", "invalid stream table entry"),
    0x05: ("F_BAD_ATS_TREQ", "ATS translation request not allowed"),
    0x06: ("F_STREAM_DISABLED", "transaction from a disabled stream"),
    0x07: ("F_TRANSL_FORBIDDEN", "translated (ATS) transaction forbidden by the STE"),
    0x08: ("C_BAD_SUBSTREAMID", "substream ID out of range or not configured"),
    0x09: ("F_CD_FETCH", "external abort fetching the context descriptor"),
    0x0A: ("C_BAD_CD", "invalid context descriptor"),
    0x0B: ("F_WALK_EABT", "external abort during a page-table walk"),
    0x10: ("F_TRANSLATION", "translation fault"),
    0x11: ("F_ADDR_SIZE", "address size fault"),
    0x12: ("F_ACCESS", "access flag fault"),
    0x13: ("F_PERMISSION", "permission fault"),
    0x20: ("F_TLB_CONFLICT", "TLB conflict"),
    0x21: ("F_CFG_CONFLICT", "configuration cache conflict"),
    0x24: ("E_PAGE_REQUEST", "speculative page request"),
    0x25: ("F_VMS_FETCH", "external abort fetching the VMS"),
}
_BY_NAME = {name: code for code, (name, _) in EVENTS.items()}
_ADDRESSED = frozenset({0x10, 0x11, 0x12, 0x13})

KEYWORDS = ("context fault", "FSR", "FSYNR0", "received:", "client:")
_UNHANDLED = "Unhandled context fault:"
_LAST_FIELD = re.compile(r"\bcb=\d")  # every version prints the context bank last
_DEV_TAIL = re.compile(r"(?P<dev>[\w.:,@-]{1,64}):\s{0,4}$")
_FIELDS = re.compile(r"\b(?P<key>fsr|iova|far|fsynr|cbfrsynra|cb)=(?P<value>(?:0x)?[0-9a-fA-F]{1,16})")
_FSR = re.compile(r":\s{0,4}FSR\s{1,8}=\s{1,8}(?P<fsr>[0-9a-fA-F]{8})\s{1,8}\[[^\][]{0,80}\],\s{0,4}"
                  r"SID=0x(?P<sid>[0-9a-fA-F]{1,8})")
_FSYNR0 = re.compile(r":\s{0,4}FSYNR0\s{1,8}=\s{1,8}(?P<fsynr>[0-9a-fA-F]{8})\b")
_V3_RAW = re.compile(r":\s{0,4}event 0x(?P<id>[0-9a-fA-F]{2}) received:")
_V3_DWORD = re.compile(r":\s{1,8}0x(?P<dw>[0-9a-fA-F]{16})\s{0,8}$")
_V3_DECODED = re.compile(
    r":\s{0,4}event: (?P<name>[A-Z_]{1,24}) client: (?P<client>\S{1,64}|\(unassigned sid\))"
    r" sid: 0x(?P<sid>[0-9a-fA-F]{1,8}) ssid: 0x(?P<ssid>[0-9a-fA-F]{1,8})"
    r"(?: iova: 0x(?P<iova>[0-9a-fA-F]{1,16}))?")
_START = re.compile(r"Unhandled context fault:|:\s{0,4}FSR\s{1,8}=|:\s{0,4}FSYNR0\s{1,8}="
                    r"|event 0x[0-9a-fA-F]{2} received:|:\s{0,4}event: [A-Z_]{1,24} client:")


def _device_before(line: str, end: int) -> str | None:
    """The device name printed just before ``end`` (``dev_err``'s ``name: `` prefix)."""
    match = _DEV_TAIL.search(line, max(0, end - 72), end)
    return match["dev"] if match else None


def _master(sid: int | None, client: str | None = None) -> str | None:
    if client is not None and not client.startswith("("):
        return client
    return None if sid is None else f"sid {sid:#x}"


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


def event_reason(event: int, sid: int | None) -> str:
    name, text = EVENTS.get(event, (f"event {event:#04x}", "unknown event"))
    return f"{name}: {text}" + ("" if sid is None else f", stream ID {sid:#x}")


def _hex(token: str) -> int:
    return int(token, 16)


class SmmuParser:
    """Turns SMMU fault reports into :class:`IommuFault` (vendor ``arm``)."""

    def __init__(self) -> None:
        self._explained: str | None = None  # SMMU whose v2 register dump we already have
        self._held: tuple[str | None, int, int] | None = None  # (smmu, fsr, sid) of an FSR line
        self._event: tuple[str | None, int, list[int]] | None = None  # v3 (smmu, id, dwords)

    @property
    def active(self) -> bool:
        return self._held is not None or self._event is not None

    def incomplete(self, line: str) -> bool:
        at = line.find(_UNHANDLED)
        return at >= 0 and _LAST_FIELD.search(line, at, at + 240) is None

    def starts(self, line: str) -> bool:
        return _START.search(line) is not None

    def feed(self, line: str) -> list[IommuFault]:
        at = line.find(_UNHANDLED)
        if at >= 0:
            return [*self.flush(), *self._context_fault(line, at)]
        if self._event is not None:
            dword = _V3_DWORD.search(line)
            if dword is not None and len(self._event[2]) < EVTQ_DWORDS:
                self._event[2].append(_hex(dword["dw"]))
                return []
        decoded = guarded(_V3_DECODED, "event: ", line)
        if decoded is not None:
            return self._decoded_event(line, decoded)
        raw = guarded(_V3_RAW, " received:", line)
        if raw is not None:
            out = self.flush()
            self._event = (_device_before(line, raw.start() + 1), _hex(raw["id"]), [])
            return out
        fsr_line = guarded(_FSR, "FSR", line)
        if fsr_line is not None:
            smmu = _device_before(line, fsr_line.start() + 1)
            if smmu is not None and smmu == self._explained:
                return []
            out = self.flush()
            self._held = (smmu, _hex(fsr_line["fsr"]), _hex(fsr_line["sid"]) & SID_MASK)
            return out
        fsynr_line = guarded(_FSYNR0, "FSYNR0", line)
        if fsynr_line is not None:
            smmu = _device_before(line, fsynr_line.start() + 1)
            if smmu is not None and smmu == self._explained:
                self._explained = None
                return []
            if self._held is not None and self._held[0] == smmu:
                return [self._register_dump(_hex(fsynr_line["fsynr"]))]
        return self.flush()

    def flush(self) -> list[IommuFault]:
        """Emit what is held: an FSR line without FSYNR0, or a v3 record."""
        out = []
        if self._held is not None:
            out.append(self._register_dump(None))
        if self._event is not None:
            smmu, event, dwords = self._event
            self._event = None
            out.append(self._raw_event(smmu, event, dwords))
        return out

    def _context_fault(self, line: str, at: int) -> list[IommuFault]:
        fields = {m["key"]: m["value"] for m in _FIELDS.finditer(line, at, at + 240)}
        if "fsynr" not in fields and "fsr" not in fields:
            return []
        smmu = _device_before(line, at)
        self._explained = smmu
        fsr = _hex(fields["fsr"]) if "fsr" in fields else None
        fsynr = _hex(fields["fsynr"]) if "fsynr" in fields else None
        sid = _hex(fields["cbfrsynra"]) & SID_MASK if "cbfrsynra" in fields else None
        cb = int(fields["cb"]) if fields.get("cb", "").isdigit() else None
        iova = fields.get("iova", fields.get("far"))
        reason = (fault_reason(fsr, fsynr, sid, cb) if fsr is not None
                  else ", ".join(p for p in ("fault status not printed",
                                             None if cb is None else f"context bank {cb}") if p))
        return [IommuFault(
            "arm", _master(sid), None if fsynr is None else
            "write" if fsynr & FSYNR0_WNR else "read",
            None if iova is None else _hex(iova), None if fsr is None else fsr & FSR_FAULT,
            reason, iommu=smmu, registers=fields)]

    def _register_dump(self, fsynr: int | None) -> IommuFault:
        assert self._held is not None
        smmu, fsr, sid = self._held
        self._held = None
        registers = {"fsr": f"{fsr:#x}", "sid": f"{sid:#x}"}
        if fsynr is not None:
            registers["fsynr0"] = f"{fsynr:#x}"
        access = None if fsynr is None else "write" if fsynr & FSYNR0_WNR else "read"
        return IommuFault("arm", _master(sid), access, None, fsr & FSR_FAULT,
                          fault_reason(fsr, fsynr, sid, None), iommu=smmu, registers=registers)

    def _raw_event(self, smmu: str | None, event: int, dwords: list[int],
                   client: str | None = None) -> IommuFault:
        sid = dwords[0] >> 32 if dwords else None
        access = None
        if len(dwords) > 1 and event in _ADDRESSED:
            access = "read" if dwords[1] & EVTQ_1_RNW else "write"
        address = dwords[2] if len(dwords) > 2 and event in _ADDRESSED else None
        registers = {"event": f"{event:#04x}"}
        registers.update((f"dword{i}", f"{dw:#018x}") for i, dw in enumerate(dwords))
        return IommuFault("arm", _master(sid, client), access, address, event,
                          event_reason(event, sid), iommu=smmu, registers=registers)

    def _decoded_event(self, line: str, decoded: re.Match[str]) -> list[IommuFault]:
        """The 6.14+ decoded line: completes the raw record just read, or stands alone."""
        event = _BY_NAME.get(decoded["name"])
        sid = _hex(decoded["sid"])
        pending, self._event = self._event, None
        if pending is not None and (event is None or pending[1] == event):
            return [self._raw_event(pending[0], pending[1], pending[2], decoded["client"])]
        out = [] if pending is None else [self._raw_event(*pending)]
        code = event if event is not None else 0
        reason = (event_reason(event, sid) if event is not None
                  else f"{decoded['name']}: unknown event, stream ID {sid:#x}")
        iova = decoded["iova"]
        out.append(IommuFault(
            "arm", _master(sid, decoded["client"]), None, None if iova is None else _hex(iova),
            code, reason, iommu=_device_before(line, decoded.start() + 1),
            registers={"sid": f"{sid:#x}", "ssid": f"0x{decoded['ssid']}"}))
        return out
