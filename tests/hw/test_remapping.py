"""IOMMU translation structures (hw/iopgtable.py, hw/remapping.py) and each
vendor's record of a failed walk: VT-d fault reasons, AMD-Vi event log
entries, SMMUv3 event queue records."""

from __future__ import annotations

import pytest

from irqlab.hw import msi, remapping
from irqlab.hw.amd_iommu import (
    EVENT_FLAG_I,
    EVENT_FLAG_PE,
    EVENT_FLAG_PR,
    EVENT_FLAG_RW,
    MMIO_STATUS_EVT_INT,
    MMIO_STATUS_EVT_OVERFLOW,
    AmdIommu,
)
from irqlab.hw.apic import Apic
from irqlab.hw.iommu import VtdUnit
from irqlab.hw.iopgtable import IOMMU_READ, IOMMU_WRITE, Domain, MapError
from irqlab.hw.remapping import Irte, source_id
from irqlab.hw.smmu_v3 import EVTQ_1_RNW, SmmuV3

SID = source_id(1, 0, 0)


def _attached(unit: remapping.RemapUnit, prot: int = IOMMU_WRITE) -> Domain:
    dom = Domain(7)
    dom.map(0xFFFFF000, 0x1_2345_6000, 0x1000, prot)
    unit.attach(SID, dom)
    return dom


def test_page_table_maps_whole_pages_with_their_permission() -> None:
    dom = Domain(1)
    dom.map(0x10000, 0x80000, 0x2000, IOMMU_READ)
    assert dom.walk(0x11FFF) >> 2 == 0x81
    assert dom.walk(0x11FFF) & 3 == IOMMU_READ
    assert dom.walk(0x12000) == 0
    with pytest.raises(MapError, match="EEXIST"):
        dom.map(0x11000, 0x90000, 0x1000, IOMMU_WRITE)
    with pytest.raises(MapError, match="page aligned"):
        dom.map(0x10800, 0x90000, 0x1000, IOMMU_WRITE)
    assert dom.unmap(0x10000, 0x3000) == 0x2000  # the third page was never mapped
    assert dom.walk(0x10000) == 0


def test_walk_translates_and_names_each_failure() -> None:
    unit = VtdUnit(Apic(1))
    seen: list[tuple[int, int, int, bool, bool]] = []
    unit.on_fault = lambda *f: seen.append(f)
    assert unit.dma(SID, 0xFFFFF123, True) == -1  # nothing attached on bus 1: root entry clear
    dom = _attached(unit)
    assert unit.dma(SID, 0xFFFFF123, True) == 0x1_2345_6123
    assert unit.translated == 1
    assert unit.dma(SID, 0xFFFFF123, False) == -1  # mapped for device writes only
    assert unit.dma(SID, 0xFFFFE000, True) == -1  # not mapped
    dom.unmap(0xFFFFF000, 0x1000)
    unit.detach(SID)
    assert unit.dma(SID, 0xFFFFF000, True) == -1  # detached: the root entry stays
    assert [(s[0], s[2]) for s in seen] == [
        (remapping.NO_ROOT, 0xFFFFF123), (remapping.NO_PERMISSION, 0xFFFFF123),
        (remapping.NOT_PRESENT, 0xFFFFE000), (remapping.NO_CONTEXT, 0xFFFFF000)]


def test_vtd_records_carry_the_spec_fault_reasons() -> None:
    unit = VtdUnit(Apic(1), records=16)
    unit.dma(SID, 0x1000, False)  # 0x01 root entry clear
    _attached(unit)
    unit.dma(source_id(1, 1, 0), 0x1000, False)  # same bus, no context entry: 0x02
    unit.dma(source_id(2, 0, 0), 0x1000, False)  # other bus: 0x01
    for rec in unit.records:
        rec.fault = False  # software serviced them: no compression of the next ones
    unit.dma(SID, 0xFFFFF000, False)  # read of a write-only page: 0x06
    unit.records[3].fault = False
    unit.dma(SID, 0x5000, True)  # write to an absent page: 0x05
    got = [(r.reason, r.read) for r in unit.records[:5]]
    assert got == [(0x01, True), (0x02, True), (0x01, True), (0x06, True), (0x05, False)]


def test_interrupt_remapping_blocks_bad_entries_with_ir_reasons() -> None:
    unit = VtdUnit(Apic(2), records=16)
    unit.set_irte(3, Irte(SID, dest=1, vector=0x41))
    irte = unit.interrupt(SID, 3)
    assert irte is not None and (irte.dest, irte.vector) == (1, 0x41)
    assert unit.interrupt(source_id(2), 3) is None  # SID verification: 0x26
    unit.records[0].fault = False
    unit.clear_irte(3)
    assert unit.interrupt(SID, 3) is None  # present bit clear: 0x22
    unit.records[1].fault = False
    assert unit.interrupt(SID, remapping.IRT_ENTRIES) is None  # beyond the table: 0x21
    assert [r.reason for r in unit.records[:3]] == [0x26, 0x22, 0x21]
    assert unit.records[1].address >> 48 == 3  # FI[63:48] holds the interrupt index


def test_remapped_msi_reaches_the_apic_only_through_a_valid_irte() -> None:
    apic = Apic(2)
    unit = VtdUnit(apic)
    table = msi.MsixTable(apic, 1)
    table.program(0, *msi.compose(1, 0x51))
    table.unmask(0)
    unit.set_irte(0, Irte(SID, dest=1, vector=0x51))
    sig = remapping.RemappedMsiSignal(table, 0, unit, SID, 0)
    sig.raise_()
    assert table.sent == 1 and unit.remapped == 1
    unit.clear_irte(0)
    sig.raise_()
    assert table.sent == 1 and unit.recorded == 1  # blocked, and recorded as a fault


def test_amd_event_log_entries_and_interrupt() -> None:
    apic = Apic(1)
    unit = AmdIommu(apic, entries=4)
    unit.program_fault_event(*msi.compose(0, 0x60))
    unit.dma(SID, 0x1000, True)  # no DTE: domain 0
    assert unit.held and unit.events_sent == 0  # the MSI comes up masked
    unit.set_masked(False)
    assert unit.events_sent == 1
    _attached(unit, IOMMU_READ)
    unit.dma(SID, 0xFFFFF000, True)  # present, read-only: PR | PE | RW
    unit.set_irte(0, Irte(SID, 0, 0x60))
    unit.clear_irte(0)
    unit.interrupt(SID, 0)
    assert unit.events_sent == 1  # EventLogInt still set: no new MSI
    assert unit.log[:3] == [
        (SID, EVENT_FLAG_RW << 16 | 0x2 << 28, 0x1000, 0),
        (SID, 7 | (EVENT_FLAG_PR | EVENT_FLAG_PE | EVENT_FLAG_RW) << 16 | 0x2 << 28, 0xFFFFF000, 0),
        (SID, 7 | EVENT_FLAG_I << 16 | 0x2 << 28, 0xFEE00000, 0)]
    assert unit.dma(SID, 0x9000, False) == -1  # the fourth entry would make the ring full
    assert unit.status == MMIO_STATUS_EVT_INT | MMIO_STATUS_EVT_OVERFLOW
    assert (unit.recorded, unit.dropped_overflow) == (3, 1)
    unit.write_status(MMIO_STATUS_EVT_INT)
    unit.head = unit.tail
    unit.dma(SID, 0x9000, False)
    assert unit.events_sent == 2  # 0 -> 1 again


def test_smmu_event_records_and_queue() -> None:
    pulses: list[int] = []
    smmu = SmmuV3(lambda: pulses.append(1), entries=2)
    smmu.dma(SID, 0x4000, False)
    assert smmu.pop() == (0x04 | SID << 32, EVTQ_1_RNW, 0, 0)  # C_BAD_STE: no address
    _attached(smmu)
    smmu.dma(SID, 0xFFFFF000, False)  # write-only page, read: F_PERMISSION
    smmu.dma(SID, 0x8000, True)  # absent page, write: F_TRANSLATION
    assert len(pulses) == smmu.events_sent == 2  # once per empty -> non-empty
    assert smmu.dma(SID, 0x8000, True) == -1 and smmu.dropped_overflow == 1 and smmu.overflow
    assert smmu.recorded == 3
    assert smmu.pop() == (0x13 | SID << 32, EVTQ_1_RNW | 2 << 40, 0xFFFFF000, 0)
    assert smmu.pop() == (0x10 | SID << 32, 2 << 40, 0x8000, 0)
    assert smmu.pop() is None
