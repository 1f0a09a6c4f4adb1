"""Intel VT-d (DMAR) fault lines (reason texts: :mod:`irqlab.vtd`).

Printed variants recognised (``dmar_fault_do_one`` across kernel versions, and Xen):

* 5.15+: ``DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7cd80000
  [fault reason 0x01] Present bit in root entry is clear`` (also ``PASID 0x1``)
* 5.x:   ``DMAR: [DMA Write] Request device [00:02.0] PASID ffffffff fault addr 6df084000
  [fault reason 05] ...`` and 4.x without PASID; the reason there is ``%02d``, decimal
* 3.x:   ``DMAR:[DMA Write] Request device [00:02.0] fault addr 6df084000`` followed by
  ``DMAR:[fault reason 05] PTE Write access is not set``
* IR:    ``DMAR: [INTR-REMAP] Request device [00:1f.0] fault index 0x16 [fault reason
  0x22] ...`` (the kernel prints the IRTE index in place of the address; so do we)
* pasted with the address redacted, ``fault addr ffxxxxxx``: the reason is kept and
  the address reported unknown, never as the digits that were left
* Xen:   ``(XEN) [VT-D]DMAR:[DMA Read] Request device [0000:00:02.0] fault addr
  7cd80000`` then ``(XEN) [VT-D]DMAR: reason 06 - PTE Read access is not set`` (hex)

When a printed reason text names a table entry, that entry wins over the number, so a
reason printed in a base we guessed wrong still comes out right.
"""

from __future__ import annotations

import re

from irqlab.triage.findings import IommuFault
from irqlab.triage.text import guarded
from irqlab.vtd import UNKNOWN, resolve

KEYWORDS = ("DMAR", "INTR-REMAP", "Request device", "fault reason")
# Every repeat is bounded (by the longest value the kernel prints), so a search costs
# a constant per start position: linear in the line, however it is made.
_HEX = r"(?:0x)?[0-9a-fA-F]{1,16}"
# Pasted logs redact addresses ("fault addr ffxxxxxx"): such an address is unknown.
_ADDR = r"(?P<addr>(?:0x)?[0-9a-fA-FxX*?]{1,16})(?![0-9a-zA-Z])"
_DEVICE = r"\[\[?(?P<device>(?:0x)?[0-9a-fA-F]{1,4}(?::(?:0x)?[0-9a-fA-F]{1,2}){1,2}\.[0-7])\]"
_REQUEST = re.compile(
    r"\[(?P<type>DMA Read|DMA Write|INTR-REMAP)[^\][]{0,32}\]\s{0,8}Request device " + _DEVICE
    + r"(?:\s{1,8}PASID\s{1,8}" + _HEX + r")?\s{1,8}fault (?:addr|index)\s{1,8}" + _ADDR
)
_IR_REQUEST = re.compile(  # 3.x and Xen: "INTR-REMAP: Request device [..] fault index .."
    r"INTR-REMAP: Request device " + _DEVICE + r"\s{1,8}fault index\s{1,8}" + _ADDR
)
_REQUEST_START = re.compile(r"\[(?:DMA Read|DMA Write|INTR-REMAP)[^\][]{0,32}\]\s{0,8}Request device"
                            r"|INTR-REMAP: Request device")
_INLINE_REASON = re.compile(
    r",?\s{0,8}\[fault reason (?P<code>(?:0x)?[0-9a-fA-F]{1,4}h?)\]\s*(?P<text>.*)$"
)
_REASON_LINE = re.compile(
    r"(?:DMAR|INTR-REMAP|UNKNOWN):\s{0,8}(?:\[fault reason (?P<old>[0-9a-fA-F]{1,4})\]"
    r"|reason (?P<xen>[0-9a-fA-F]{1,4}) -)\s*(?P<text>.*)$"
)
# Literals every match of the request and reason patterns holds (cheap guards).
_REQUEST_TEXT, _REASON_TEXT = "Request device", "reason"
# Formats whose reason follows on a line of its own (3.x "DMAR:[", Xen "[VT-D]").
_TWO_LINE = re.compile(r"DMAR:\[|\[VT-D\]|INTR-REMAP: Request")


def _address(token: str) -> int | None:
    """The printed address, or None when it was redacted (``ffxxxxxx``)."""
    digits = token.lower().removeprefix("0x")
    try:
        return int(digits, 16)
    except ValueError:
        return None


def _parse_code(token: str, *, hex_default: bool) -> int:
    token = token.lower()
    if token.startswith("0x"):
        return int(token, 16)
    if token.endswith("h"):
        return int(token[:-1], 16)
    return int(token, 10) if token.isdigit() and not hex_default else int(token, 16)


def _request(line: str) -> re.Match[str] | None:
    """A fault request, of either format."""
    if _REQUEST_TEXT not in line:
        return None
    return _REQUEST.search(line) or _IR_REQUEST.search(line)


class DmarParser:
    """Turns DMAR lines into :class:`IommuFault` records (vendor ``intel``).

    Holds at most one request line whose reason arrives on the next line (3.x, Xen).
    """

    def __init__(self) -> None:
        self._held: IommuFault | None = None

    @property
    def active(self) -> bool:
        return self._held is not None

    def incomplete(self, line: str) -> bool:
        """A request line cut before its reason: wait for the wrapped rest."""
        if not guarded(_REQUEST_START, _REQUEST_TEXT, line) \
                or guarded(_REASON_LINE, _REASON_TEXT, line):
            return False
        match = _request(line)
        if match is None:
            return True
        return not _TWO_LINE.search(line) and not _INLINE_REASON.match(line, match.end())

    def starts(self, line: str) -> bool:
        return bool(guarded(_REQUEST_START, _REQUEST_TEXT, line)
                    or guarded(_REASON_LINE, _REASON_TEXT, line))

    def feed(self, line: str) -> list[IommuFault]:
        out: list[IommuFault] = []
        reason = guarded(_REASON_LINE, _REASON_TEXT, line)
        if reason is not None:
            if self._held is not None:
                token, xen = (reason["old"], False) if reason["old"] else (reason["xen"], True)
                held, self._held = self._held, None
                held.reason_code, held.reason = resolve(
                    _parse_code(token, hex_default=xen), reason["text"])
                out.append(held)
            return out
        match = _request(line)
        if match is None:
            return out
        out.extend(self.flush())
        kind = match.groupdict().get("type") or "INTR-REMAP"
        access = {"DMA Read": "read", "DMA Write": "write"}.get(kind)
        fault = IommuFault("intel", match["device"].replace("0x", ""), access,
                           _address(match["addr"]), None, UNKNOWN)
        inline = _INLINE_REASON.match(line, match.end())
        if inline is None:
            self._held = fault
            return out
        fault.reason_code, fault.reason = resolve(
            _parse_code(inline["code"], hex_default=False), inline["text"])
        out.append(fault)
        return out

    def flush(self) -> list[IommuFault]:
        """A request whose reason line never came: reason unknown."""
        held, self._held = self._held, None
        return [] if held is None else [held]
