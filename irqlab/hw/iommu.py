"""Intel VT-d DMA-remapping unit (DRHD): its translation structures
(``hw.remapping``), fault recording and the fault event.

Sources: Intel VT-d specification, "Translation Faults" and the register
descriptions; QEMU ``hw/i386/intel_iommu.c`` (``vtd_report_frcd_fault``,
``vtd_generate_fault_event``) and ``intel_iommu_internal.h``.

* A qualified DMA-remapping fault is written to the next Fault Recording
  Register (a ring of ``CAP.NFR + 1`` records): F, T (1 = read), FR (reason),
  SID (source id bus:dev.fn), FI (the faulting page).
* Dropped instead: any fault while FSTS.PFO (primary fault overflow) is set; a
  fault from a source that already has a pending record ("compression of
  faults"); a fault when the next record is still pending, which sets PFO.
* FSTS.PPF (primary pending fault) is the OR of the records' F bits; FRI
  points at the first pending record.
* The fault event is an MSI (FEADDR/FEDATA) sent only when PPF goes 0 -> 1
  with no other condition already pending; with FECTL.IM set it is held
  (FECTL.IP) and sent when software unmasks.
* Fault reasons of a failed walk (legacy mode, Linux ``dma_remap_fault_reasons``
  and ``irq_remap_fault_reasons``): root entry clear 0x01, context entry clear
  0x02, a leaf entry without the access's permission 0x05 (write) or 0x06 (read),
  whether absent (R = W = 0) or present for the other direction; interrupt
  index beyond the table 0x21, IRTE not present 0x22, source-id verification
  0x26.  An interrupt-remapping record holds the interrupt index in FI[63:48].
"""

from __future__ import annotations

from irqlab.hw import remapping
from irqlab.hw.apic import Apic
from irqlab.hw.msi import decode
from irqlab.hw.remapping import RemapUnit

FSTS_PFO = 1 << 0  # primary fault overflow (RW1C)
FSTS_PPF = 1 << 1  # primary pending fault (RO)
FSTS_IQE = 1 << 4  # invalidation queue error (RW1C)
FSTS_PRO = 1 << 7  # page request overflow (RW1C)
FSTS_FRI_SHIFT = 8  # fault record index, bits 15:8
FECTL_IM = 1 << 31  # interrupt mask
FECTL_IP = 1 << 30  # interrupt pending
PAGE_MASK = ~0xFFF
FI_IR_INDEX_SHIFT = 48  # an interrupt-remapping fault's index in the FI field

#: fault reason of each failed walk (the write / read split for the page entries)
_REASONS = {
    remapping.NO_ROOT: (0x01, 0x01),
    remapping.NO_CONTEXT: (0x02, 0x02),
    remapping.NOT_PRESENT: (0x05, 0x06),
    remapping.NO_PERMISSION: (0x05, 0x06),
    remapping.IR_INDEX: (0x21, 0x21),
    remapping.IR_NOT_PRESENT: (0x22, 0x22),
    remapping.IR_SID: (0x26, 0x26),
}


def fault_reason(outcome: int, write: bool) -> int:
    """The VT-d fault reason of a failed walk."""
    return _REASONS[outcome][0 if write else 1]


class FaultRecord:
    """One Fault Recording Register."""

    __slots__ = ("address", "fault", "read", "reason", "sid")

    def __init__(self) -> None:
        self.fault = False
        self.read = False
        self.reason = 0
        self.sid = 0
        self.address = 0


class VtdUnit(RemapUnit):
    """One DMA-remapping hardware unit: walks, fault records, fault event."""

    vendor = "intel"

    def __init__(self, apic: Apic, name: str = "dmar0", records: int = 8) -> None:
        super().__init__(name)
        self.apic = apic
        self.records = [FaultRecord() for _ in range(records)]
        self.fsts = 0
        self.fectl = FECTL_IM  # the event interrupt comes up masked
        self.feaddr = 0
        self.fedata = 0
        self._next = 0
        self.recorded = 0
        self.dropped_overflow = 0
        self.dropped_compressed = 0
        self.events_sent = 0

    # -- configuration (dmar_msi_write, dmar_msi_unmask) ---------------------------------
    def program_fault_event(self, address: int, data: int) -> None:
        decode(address, data)  # a valid compatibility-format MSI, or a clear error
        self.feaddr = address
        self.fedata = data

    def set_masked(self, masked: bool) -> None:
        """Write FECTL.IM; unmasking sends a held event."""
        if masked:
            self.fectl |= FECTL_IM
            return
        self.fectl &= ~FECTL_IM
        if self.fectl & FECTL_IP:
            self.fectl &= ~FECTL_IP
            self._send()

    # -- hardware ---------------------------------------------------------------------
    def record(self, outcome: int, sid: int, address: int, write: bool) -> bool:
        if outcome in remapping.IR_OUTCOMES:
            address <<= FI_IR_INDEX_SHIFT
        return self.dma_fault(sid, address, fault_reason(outcome, write), write)

    def fault_code(self, outcome: int, write: bool) -> int:
        return fault_reason(outcome, write)

    def dma_fault(self, sid: int, address: int, reason: int, write: bool) -> bool:
        """A translation fault of a DMA request; False when it was not recorded."""
        if self.fsts & FSTS_PFO:
            self.dropped_overflow += 1
            return False
        if any(r.fault and r.sid == sid for r in self.records):
            self.dropped_compressed += 1
            return False
        idx = self._next
        rec = self.records[idx]
        if rec.fault:
            self.fsts |= FSTS_PFO
            self.dropped_overflow += 1
            return False
        rec.fault, rec.read, rec.reason, rec.sid = True, not write, reason & 0xFF, sid
        rec.address = address & PAGE_MASK
        self.recorded += 1
        self._next = (idx + 1) % len(self.records)
        prev = self.fsts
        if prev & FSTS_PPF:
            return True  # software still has faults to service: no new event
        self.fsts = (prev & ~(0xFF << FSTS_FRI_SHIFT)) | idx << FSTS_FRI_SHIFT | FSTS_PPF
        self._fault_event(prev)
        return True

    def _fault_event(self, prev_fsts: int) -> None:
        if prev_fsts & (FSTS_PPF | FSTS_PFO | FSTS_IQE):
            return  # earlier conditions still to be serviced by software
        self.fectl |= FECTL_IP
        if self.fectl & FECTL_IM:
            return
        self.fectl &= ~FECTL_IP
        self._send()

    def _send(self) -> None:
        self.events_sent += 1
        dest, vector, level = decode(self.feaddr, self.fedata)
        self.apic.accept_by_id(dest, vector, level)

    # -- software view ------------------------------------------------------------------
    def clear_record(self, idx: int) -> None:
        """Write 1 to FRCD.F (RW1C); PPF follows the remaining records."""
        self.records[idx].fault = False
        if not any(r.fault for r in self.records):
            self.fsts &= ~FSTS_PPF

    def write_fsts(self, value: int) -> None:
        """RW1C write of FSTS (PFO, IQE, PRO); IP clears when nothing is left."""
        self.fsts &= ~(value & (FSTS_PFO | FSTS_IQE | FSTS_PRO))
        if self.fectl & FECTL_IP and not self.fsts & (FSTS_PFO | FSTS_PPF | FSTS_IQE):
            self.fectl &= ~FECTL_IP
