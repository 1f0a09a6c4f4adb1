"""VT-d fault recording and the fault event (QEMU vtd_report_frcd_fault /
vtd_generate_fault_event; VT-d spec "Translation Faults")."""

from __future__ import annotations

from irqlab.hw import msi
from irqlab.hw.apic import Apic
from irqlab.hw.iommu import FECTL_IP, FSTS_PFO, FSTS_PPF, VtdUnit
from irqlab.hw.remapping import source_id


def unit(records: int = 4) -> tuple[Apic, VtdUnit]:
    apic = Apic(2)
    u = VtdUnit(apic, records=records)
    u.program_fault_event(*msi.compose(1, 0x70))
    u.set_masked(False)
    return apic, u


def test_a_fault_is_recorded_and_raises_the_fault_event_msi() -> None:
    apic, u = unit()
    assert u.dma_fault(source_id(2), 0x7CD80ABC, 0x06, write=False)
    rec = u.records[0]
    assert (rec.fault, rec.read, rec.reason, rec.sid, rec.address) == (True, True, 6, 0x200, 0x7CD80000)
    assert u.fsts & FSTS_PPF and (u.fsts >> 8) & 0xFF == 0
    assert apic.pending(1) == [0x70] and u.events_sent == 1


def test_no_new_event_while_software_has_faults_to_service() -> None:
    _, u = unit()
    u.dma_fault(source_id(1), 0x1000, 6, False)
    u.dma_fault(source_id(2), 0x2000, 5, True)
    assert u.events_sent == 1 and u.records[1].fault and not u.records[1].read


def test_a_second_fault_from_a_source_with_a_pending_record_is_compressed() -> None:
    _, u = unit()
    u.dma_fault(source_id(1), 0x1000, 6, False)
    assert not u.dma_fault(source_id(1), 0x5000, 6, False)
    assert u.dropped_compressed == 1 and not u.records[1].fault


def test_a_full_ring_sets_primary_fault_overflow_and_drops_until_cleared() -> None:
    _, u = unit(records=2)
    assert u.dma_fault(source_id(1), 0, 6, False) and u.dma_fault(source_id(2), 0, 6, False)
    assert not u.dma_fault(source_id(3), 0, 6, False)
    assert u.fsts & FSTS_PFO
    u.clear_record(0)
    assert not u.dma_fault(source_id(4), 0, 6, False), "PFO drops everything until software clears it"
    u.write_fsts(FSTS_PFO)
    assert u.dma_fault(source_id(4), 0, 6, False)


def test_a_masked_event_is_held_pending_and_sent_on_unmask() -> None:
    apic, u = unit()
    u.set_masked(True)
    u.dma_fault(source_id(1), 0, 6, False)
    assert u.fectl & FECTL_IP and apic.pending(1) == []
    u.set_masked(False)
    assert apic.pending(1) == [0x70] and not u.fectl & FECTL_IP


def test_ppf_follows_the_records_and_a_new_fault_after_clearing_raises_a_new_event() -> None:
    _, u = unit()
    u.dma_fault(source_id(1), 0, 6, False)
    u.clear_record(0)
    assert not u.fsts & FSTS_PPF
    u.dma_fault(source_id(1), 0, 6, False)
    assert u.events_sent == 2 and (u.fsts >> 8) & 0xFF == 1
