"""What every IOMMU vendor's remapping hardware shares: the domain each
requester is attached to, the walk of a DMA through that domain's page table,
and the interrupt-remapping table.

A requester is named by its 16-bit PCI requester id (bus[15:8], dev[7:3],
fn[2:0]): the VT-d source id, the AMD-Vi DeviceID, the SMMUv3 StreamID of a PCI
device behind an identity ``iommu-map``.  Outcomes are vendor-neutral; each
vendor's unit (VT-d ``hw.iommu``, AMD-Vi ``hw.amd_iommu``, SMMUv3
``hw.smmu_v3``) turns a failed one into its own record in ``record``, and
``on_fault`` (when set) then hears of it: the unit knows no policy.

Sources: VT-d specification, "Root Entry", "Context Entry" (a root entry per
bus, a context entry per device; Linux allocates a bus's context table on the
first attach and never frees it, so a detached device finds its root entry
present and its context entry clear), "Interrupt Remapping Table Entry"
(128-bit IRTE: bit 0 P, bits 23:16 vector, 63:32 destination, 79:64 SID with
SVT; bit 15 IM selects the posted format: ``hw.posted.PostedIrte``, which the
hypervisor keeps, not this table).
"""

from __future__ import annotations

from collections.abc import Callable

from irqlab.hw.device import Signal
from irqlab.hw.iopgtable import IOMMU_READ, IOMMU_WRITE, PAGE_SHIFT, Domain
from irqlab.hw.msi import MsixTable

NO_ROOT = 1  # the bus's root entry is not present (VT-d)
NO_CONTEXT = 2  # no context entry / device table entry / stream table entry
NOT_PRESENT = 3  # the leaf entry is not present: R = W = 0
NO_PERMISSION = 4  # present, but not for this access
IR_INDEX = 5  # interrupt index beyond the remapping table
IR_NOT_PRESENT = 6  # the IRTE's present bit is clear
IR_SID = 7  # the request's source id is not the one the IRTE names

IR_OUTCOMES = frozenset({IR_INDEX, IR_NOT_PRESENT, IR_SID})
#: Linux INTR_REMAP_TABLE_ENTRIES (``drivers/iommu/intel/irq_remapping.c``)
IRT_ENTRIES = 65536

#: (outcome, requester id, address or interrupt index, write, recorded) of a
#: fault; ``recorded`` is False when the vendor's log dropped it (full, compressed)
FaultHook = Callable[[int, int, int, bool, bool], None]


def source_id(bus: int, dev: int = 0, fn: int = 0) -> int:
    """PCI requester id: bus[15:8], device[7:3], function[2:0]."""
    return (bus & 0xFF) << 8 | (dev & 0x1F) << 3 | (fn & 7)


def bdf(sid: int) -> str:
    """``%02x:%02x.%d`` of a requester id."""
    return f"{sid >> 8:02x}:{(sid >> 3) & 0x1F:02x}.{sid & 7}"


class Irte:
    """One interrupt-remapping table entry in remapped format (IM = 0)."""

    __slots__ = ("dest", "present", "sid", "vector")

    def __init__(self, sid: int, dest: int, vector: int) -> None:
        self.present = True
        self.sid = sid  # SVT = 1: verify the request's source id against it
        self.dest = dest
        self.vector = vector


class RemapUnit:
    """The translation structures of one IOMMU and their walks."""

    #: the ``machine.iommu`` value of the vendor's unit
    vendor = ""

    def __init__(self, name: str) -> None:
        self.name = name
        self.buses: set[int] = set()  # buses whose root entry is present
        self.context: dict[int, Domain] = {}
        self.irt: dict[int, Irte] = {}
        self.on_fault: FaultHook | None = None
        self.translated = 0
        self.remapped = 0

    # -- programming (the OS's IOMMU driver) ---------------------------------------------
    def attach(self, sid: int, domain: Domain) -> None:
        """Write the requester's context entry: its DMA now walks ``domain``."""
        self.buses.add(sid >> 8)
        self.context[sid] = domain

    def detach(self, sid: int) -> None:
        """Clear the requester's context entry (the root entry stays)."""
        self.context.pop(sid, None)

    def set_irte(self, index: int, irte: Irte) -> None:
        if not 0 <= index < IRT_ENTRIES:
            raise ValueError(f"IRTE index {index} is beyond the {IRT_ENTRIES}-entry table")
        self.irt[index] = irte

    def clear_irte(self, index: int) -> None:
        """Zero an IRTE (Linux ``clear_entries``): its present bit is clear."""
        irte = self.irt.get(index)
        if irte is not None:
            irte.present = False

    # -- hardware -------------------------------------------------------------------------
    def dma(self, sid: int, iova: int, write: bool) -> int:
        """A DMA of requester ``sid`` at ``iova``: the physical address, or -1
        when the walk faulted (the fault is recorded, the access aborted)."""
        domain = self.context.get(sid)
        if domain is None:
            return self._fault(NO_ROOT if sid >> 8 not in self.buses else NO_CONTEXT, sid, iova, write)
        pte = domain.walk(iova)
        if not pte:
            return self._fault(NOT_PRESENT, sid, iova, write)
        if not pte & (IOMMU_WRITE if write else IOMMU_READ):
            return self._fault(NO_PERMISSION, sid, iova, write)
        self.translated += 1
        return (pte >> 2) << PAGE_SHIFT | iova & ((1 << PAGE_SHIFT) - 1)

    def interrupt(self, sid: int, index: int) -> Irte | None:
        """A remappable-format MSI of ``sid`` with handle ``index``: its IRTE,
        or None when remapping faulted (recorded; the interrupt is blocked)."""
        irte = self.irt.get(index)
        if not 0 <= index < IRT_ENTRIES:
            self._fault(IR_INDEX, sid, index, True)
        elif irte is None or not irte.present:
            self._fault(IR_NOT_PRESENT, sid, index, True)
        elif irte.sid != sid:
            self._fault(IR_SID, sid, index, True)
        else:
            self.remapped += 1
            return irte
        return None

    def _fault(self, outcome: int, sid: int, address: int, write: bool) -> int:
        recorded = self.record(outcome, sid, address, write)
        if self.on_fault is not None:
            self.on_fault(outcome, sid, address, write, recorded)
        return -1

    def record(self, outcome: int, sid: int, address: int, write: bool) -> bool:
        """The vendor's fault record of a failed walk (``address`` is the
        interrupt index for the ``IR_*`` outcomes); False when it was dropped."""
        raise NotImplementedError

    def fault_code(self, outcome: int, write: bool) -> int:
        """The code of the vendor's record of a failed walk (VT-d fault reason,
        AMD-Vi event type, SMMUv3 event id)."""
        raise NotImplementedError


class RemappedMsiSignal(Signal):
    """An MSI-X vector written in the remappable format: each message is
    looked up in IRTE[``index``] before it reaches the local APIC, and a
    failed lookup blocks it.  The table keeps the IRTE's destination decoded
    in its route (hardware keeps the handle there and reads the IRTE), so
    masking and the Pending Bit Array behave as for any MSI-X vector (a
    message held while masked is sent on unmask without a second lookup: a
    simplification).
    """

    __slots__ = ("index", "sid", "table", "unit", "vector")

    def __init__(self, table: MsixTable, vector: int, unit: RemapUnit, sid: int, index: int) -> None:
        self.table = table
        self.vector = vector
        self.unit = unit
        self.sid = sid
        self.index = index

    def raise_(self) -> None:
        table = self.table
        if table.masked[self.vector]:
            table.signal(self.vector)  # held in the PBA
        elif self.unit.interrupt(self.sid, self.index) is not None:
            table.signal(self.vector)
