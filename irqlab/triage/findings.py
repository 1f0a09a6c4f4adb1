"""Finding records, folding of repeats, and the ``--json`` shape.

Three kinds, each a plain record; :class:`Findings` keeps them in order of first
appearance and folds repeats:

* ``windows-bugcheck`` (:class:`BugCheck`): one crash.  Reports of the same crash seen
  through several windows (a WinDbg analysis, the Event Viewer line, a bare stop-code
  name) merge when the code matches and no known parameter disagrees.
* ``iommu-fault`` (:class:`IommuFault`): folded by vendor, device, access and reason;
  the first address is kept and ``count`` grows.
* ``irq-storm`` (:class:`IrqStorm`): folded by IRQ number; handler lists are united.

Hex strings are lower case with ``0x`` and no leading zeros (:func:`hexstr`).  These
keys are a contract with other tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from irqlab.triage import bugcheck


def hexstr(value: int | None) -> str | None:
    """``0x``-prefixed lower-case hex without leading zeros, or None."""
    return None if value is None else f"{value:#x}"


@dataclass(slots=True)
class BugCheck:
    """A Windows bug check.  ``parameters`` always has four slots (None = unknown)."""

    code: int
    parameters: list[int | None] = field(default_factory=lambda: [None] * 4)
    faulting_frame: str | None = None
    module: str | None = None
    bucket_id: str | None = None
    in_ivt_handle_interrupt: bool = False
    origin: str = "text"
    name: str | None = None  # as printed, for codes missing from our table
    kind: str = "windows-bugcheck"

    def compatible(self, other: BugCheck) -> bool:
        """Same code and no parameter known to both that differs."""
        return self.code == other.code and all(
            a is None or b is None or a == b
            for a, b in zip(self.parameters, other.parameters, strict=True)
        )

    def absorb(self, other: BugCheck) -> None:
        """Fill what this record lacks from another report of the same crash."""
        self.parameters = [
            a if a is not None else b
            for a, b in zip(self.parameters, other.parameters, strict=True)
        ]
        self.faulting_frame = self.faulting_frame or other.faulting_frame
        self.module = self.module or other.module
        self.bucket_id = self.bucket_id or other.bucket_id
        self.name = self.name or other.name
        self.in_ivt_handle_interrupt |= other.in_ivt_handle_interrupt
        if other.origin not in self.origin.split(" + "):
            self.origin = f"{self.origin} + {other.origin}"

    def to_json(self) -> dict[str, Any]:
        info = bugcheck.lookup(self.code)
        name = info.name if self.code in bugcheck.BUGCHECKS else self.name or info.name
        violation = bugcheck.violation(self.code, self.parameters[0])
        return {
            "kind": self.kind,
            "code": hexstr(self.code),
            "name": name,
            "parameters": [hexstr(p) for p in self.parameters],
            "violation": None if violation is None
            else {"code": hexstr(violation.code), "meaning": violation.meaning},
            "in_ivt_handle_interrupt": self.in_ivt_handle_interrupt,
            "faulting_frame": self.faulting_frame,
            "module": self.module,
            "bucket_id": self.bucket_id,
            "explanation": bugcheck.explain(self),
            "next_steps": bugcheck.next_steps(self),
        }


@dataclass(slots=True)
class IommuFault:
    """One IOMMU translation fault (folded: ``count`` occurrences).

    ``device`` is the faulting master (PCI address, device name, or ``sid 0x..`` for an
    Arm stream ID), ``iommu`` the IOMMU instance that reported it when the log names it,
    and ``registers`` the raw values printed beside the decoded reason (first occurrence).
    ``suppressed`` counts faults the kernel's rate limit did not print but announced
    with "callbacks suppressed"; they are part of ``count``.
    """

    vendor: str
    device: str | None
    access: str | None
    address: int | None
    reason_code: int | None
    reason: str
    count: int = 1
    suppressed: int = 0
    iommu: str | None = None
    registers: dict[str, str] = field(default_factory=dict)
    kind: str = "iommu-fault"

    def fold_key(self) -> tuple[object, ...]:
        return (self.kind, self.vendor, self.device, self.access, self.reason_code, self.reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "vendor": self.vendor,
            "device": self.device,
            "access": self.access,
            "address": hexstr(self.address),
            "reason_code": hexstr(self.reason_code),
            "reason": self.reason,
            "count": self.count,
            "iommu": self.iommu,
            "registers": dict(self.registers),
        }


class Handler(NamedTuple):
    """An irqaction handler as printed by ``__report_bad_irq``: symbol and module."""

    function: str
    module: str | None


@dataclass(slots=True)
class IrqStorm:
    """An ``irq N: nobody cared`` report and/or ``Disabling IRQ #N``."""

    irq: int
    handlers: list[Handler] = field(default_factory=list)
    disabled: bool = False
    reports: int = 1
    kind: str = "irq-storm"

    def fold_key(self) -> tuple[object, ...]:
        return (self.kind, self.irq)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "irq": self.irq,
            "handlers": [{"function": h.function, "module": h.module} for h in self.handlers],
            "disabled": self.disabled,
        }


Finding = BugCheck | IommuFault | IrqStorm


class Findings:
    """Ordered, folded collection.  Memory grows with distinct findings only."""

    def __init__(self) -> None:
        self._items: list[Finding] = []
        self._index: dict[tuple[object, ...], Finding] = {}
        self._unclaimed: dict[str, int] = {}
        self._bugchecks: list[BugCheck] = []

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._items)

    def add(self, finding: Finding) -> Finding:
        """Fold ``finding`` in; returns the record that now carries it."""
        if isinstance(finding, BugCheck):
            return self._add_bugcheck(finding)
        if isinstance(finding, IommuFault) and finding.vendor in self._unclaimed:
            extra = self._unclaimed.pop(finding.vendor)
            finding.count += extra
            finding.suppressed += extra
        key = finding.fold_key()
        known = self._index.get(key)
        if known is None:
            self._index[key] = finding
            self._items.append(finding)
            return finding
        if isinstance(known, IommuFault) and isinstance(finding, IommuFault):
            known.count += finding.count
            known.suppressed += finding.suppressed
        elif isinstance(known, IrqStorm) and isinstance(finding, IrqStorm):
            known.handlers.extend(h for h in finding.handlers if h not in known.handlers)
            known.disabled |= finding.disabled
            if finding.handlers:  # a bare "Disabling IRQ #N" is not a second report
                known.reports += finding.reports
        return known

    def add_suppressed(self, vendor: str, missed: int) -> None:
        """Credit ``missed`` rate-limited faults to the next fault this vendor prints.

        ``___ratelimit`` prints "<func>: N callbacks suppressed" just before the next
        message it lets through, so the following fault is the best attribution.
        """
        self._unclaimed[vendor] = self._unclaimed.get(vendor, 0) + missed

    def close(self) -> None:
        """Give suppressed counts nobody claimed to the vendor's last fault."""
        for vendor, missed in self._unclaimed.items():
            for item in reversed(self._items):
                if isinstance(item, IommuFault) and item.vendor == vendor:
                    item.count += missed
                    item.suppressed += missed
                    break
        self._unclaimed.clear()

    def _add_bugcheck(self, finding: BugCheck) -> BugCheck:
        for item in self._bugchecks:
            if item.compatible(finding):
                item.absorb(finding)
                return item
        self._bugchecks.append(finding)
        self._items.append(finding)
        return finding

    def to_json(self) -> dict[str, Any]:
        return {"findings": [item.to_json() for item in self._items]}
