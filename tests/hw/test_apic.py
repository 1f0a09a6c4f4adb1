"""x86 local APIC (irqlab.hw.apic): one test per architectural behaviour
(Intel SDM Vol. 3A, APIC chapter; QEMU hw/intc/apic.c)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irqlab.hw.apic import (
    ESR_RECEIVE_ILLEGAL_VECTOR,
    LINUX_INIT_TPR,
    SPURIOUS_APIC_VECTOR,
    Apic,
    ApicRegister,
)
from irqlab.hw.controller import IrqController


def make(cpus: int = 1, **kw: object) -> tuple[Apic, list[int]]:
    apic = Apic(cpus, **kw)  # type: ignore[arg-type]
    notified: list[int] = []
    apic.attach(notified.append)
    return apic, notified


def take(apic: Apic, cpu: int = 0) -> int:
    assert apic.deliverable(cpu)
    return apic.acknowledge(cpu)


def test_controller_identity() -> None:
    ctl: IrqController = Apic(2, entry_ns=200, exit_ns=150)
    assert (ctl.name, ctl.spurious, ctl.ack_before_entry) == ("APIC", 0xFF, True)
    assert (ctl.entry_ns(1, False), ctl.exit_ns(1, True)) == (200, 150)


@pytest.mark.parametrize("vector", [0, 2, 15])
def test_vectors_below_16_are_illegal_and_set_esr(vector: int) -> None:
    apic, notified = make()
    assert not apic.accept(0, vector, False)
    assert apic.pending(0) == []
    assert apic.lapics[0].esr & ESR_RECEIVE_ILLEGAL_VECTOR
    assert notified == []


def test_vector_16_is_legal_but_held_off_by_the_linux_tpr() -> None:
    apic, _ = make()
    assert apic.lapics[0].tpr == 0x10  # apic.c: "accept all except vectors 0-31"
    assert apic.accept(0, 16, False)
    assert apic.lapics[0].esr == 0
    assert not apic.deliverable(0), "class 1 is not above TPR class 1"


def test_arrival_sets_irr_and_notifies_its_cpu() -> None:
    apic, notified = make(cpus=2)
    assert apic.accept(1, 0x41, False)
    assert apic.pending(1) == [0x41] and apic.pending(0) == []
    assert notified == [1]


def test_within_a_class_the_higher_vector_wins() -> None:
    apic, _ = make()
    for v in (0x41, 0x4E, 0x43):
        apic.accept(0, v, False)
    order = []
    for _ in range(3):
        order.append(take(apic))
        apic.eoi(0)
    assert order == [0x4E, 0x43, 0x41]


@pytest.mark.parametrize(("low", "high"), [(0x4F, 0x50), (0x3F, 0x41), (0x21, 0xEC)])
def test_higher_class_preempts_an_in_service_vector(low: int, high: int) -> None:
    apic, _ = make()
    apic.accept(0, low, False)
    take(apic)
    apic.accept(0, high, False)
    assert apic.lapics[0].ppr() == low & 0xF0
    assert take(apic) == high
    assert apic.in_service(0) == [high, low]


def test_same_class_does_not_preempt_an_in_service_vector() -> None:
    apic, _ = make()
    apic.accept(0, 0x41, False)
    take(apic)
    apic.accept(0, 0x4F, False)  # higher vector, same class 4
    assert not apic.deliverable(0)
    apic.eoi(0)
    assert take(apic) == 0x4F


@pytest.mark.parametrize(("tpr", "vector", "delivered"), [
    (0x40, 0x4F, False), (0x40, 0x50, True), (0x4F, 0x50, True), (0x50, 0x5F, False),
    (0x00, 0x10, True),
])
def test_tpr_gates_classes_at_or_below_it(tpr: int, vector: int, delivered: bool) -> None:
    apic, notified = make()
    apic.set_tpr(0, tpr)
    assert notified == [], "nothing pending: the CPU is not interrupted"
    apic.accept(0, vector, False)
    assert apic.deliverable(0) is delivered
    assert notified == ([0] if delivered else []), "the CPU is told only of what it can take"
    assert apic.lapics[0].ppr() == tpr


def test_a_lower_arrival_does_not_interrupt_again() -> None:
    apic, notified = make()
    apic.accept(0, 0x61, False)
    apic.accept(0, 0x51, False)  # below the request already raised
    assert notified == [0]


def test_lowering_the_tpr_releases_a_held_vector() -> None:
    apic, notified = make()
    apic.set_tpr(0, 0x60)
    apic.accept(0, 0x55, False)
    assert not apic.deliverable(0)
    notified.clear()
    apic.set_tpr(0, LINUX_INIT_TPR)
    assert notified == [0]
    assert take(apic) == 0x55


def test_ppr_is_the_higher_of_tpr_and_isr_class() -> None:
    apic, _ = make()
    apic.set_tpr(0, 0x35)
    apic.accept(0, 0x62, False)
    take(apic)
    assert apic.lapics[0].ppr() == 0x60
    apic.eoi(0)
    assert apic.lapics[0].ppr() == 0x35


def test_eoi_clears_the_highest_isr_bit_whatever_is_written() -> None:
    apic, notified = make()
    apic.accept(0, 0x31, False)
    take(apic)
    apic.accept(0, 0x71, False)
    take(apic)
    apic.accept(0, 0x51, False)  # held back by 0x71 in service
    notified.clear()
    apic.eoi(0, intid=0x31)  # the value written does not select a vector
    assert apic.in_service(0) == [0x31]
    assert notified == [0], "0x71 ended: 0x51 now preempts 0x31"
    assert take(apic) == 0x51
    apic.eoi(0)
    notified.clear()
    apic.eoi(0)
    assert notified == [], "nothing pending: the CPU is not interrupted"
    assert apic.in_service(0) == []


def test_one_irr_and_one_isr_bit_per_vector_further_arrivals_coalesce() -> None:
    apic, notified = make()
    assert apic.accept(0, 0x41, False)
    take(apic)
    assert apic.accept(0, 0x41, False), "a second instance may wait in IRR while one is in service"
    assert not apic.accept(0, 0x41, False)
    assert not apic.accept(0, 0x41, False)
    lapic = apic.lapics[0]
    assert lapic.coalesced == 2
    assert (apic.pending(0), apic.in_service(0)) == ([0x41], [0x41])
    assert notified == [0], "the second waits behind the first in service: no new interrupt"


def test_acknowledge_with_nothing_deliverable_returns_spurious_and_needs_no_eoi() -> None:
    apic, _ = make()
    assert apic.acknowledge(0) == SPURIOUS_APIC_VECTOR == 0xFF
    assert apic.in_service(0) == []
    apic.accept(0, 0x41, False)
    apic.set_tpr(0, 0x50)  # the vector was withdrawn from delivery before INTA
    assert apic.acknowledge(0) == SPURIOUS_APIC_VECTOR
    assert apic.in_service(0) == [] and apic.pending(0) == [0x41]


def test_missing_eoi_blocks_its_class_and_below_on_that_cpu_only() -> None:
    apic, _ = make(cpus=2)
    apic.accept(0, 0x41, False)
    assert take(apic) == 0x41  # ... and no EOI ever comes
    for v in (0x40, 0x4F, 0x35, 0x21):
        apic.accept(0, v, False)
        assert not apic.deliverable(0), f"{v:#x} must stay blocked behind 0x41"
    apic.accept(0, 0x51, False)
    assert take(apic) == 0x51
    apic.eoi(0)  # EOI of 0x51 leaves 0x41 in service
    assert apic.in_service(0) == [0x41]
    assert not apic.deliverable(0)
    assert apic.pending(0) == [0x4F, 0x40, 0x35, 0x21]
    apic.accept(1, 0x40, False)
    assert take(apic, 1) == 0x40, "the other CPU is not affected"


@pytest.mark.parametrize("edge_vector", [0x62, 0x61], ids=["another-vector", "same-vector"])
def test_level_eoi_is_broadcast_to_the_ioapics_edge_eoi_is_not(edge_vector: int) -> None:
    """Same vector: TMR follows the trigger of the latest acceptance."""
    apic, _ = make()
    heard: list[int] = []
    apic.add_eoi_listener(heard.append)
    apic.accept(0, 0x61, True)
    take(apic)
    apic.eoi(0)
    apic.accept(0, edge_vector, False)
    take(apic)
    apic.eoi(0)
    assert heard == [0x61]


def test_suppress_eoi_broadcast_keeps_the_level_eoi_local() -> None:
    apic, _ = make(cpus=2)
    heard: list[int] = []
    apic.add_eoi_listener(heard.append)
    apic.lapics[0].suppress_eoi_broadcast = True
    for cpu in (0, 1):
        apic.accept(cpu, 0x61, True)
        take(apic, cpu)
        apic.eoi(cpu)
    assert heard == [0x61], "only CPU1, which does not suppress, broadcasts"
    assert apic.in_service(0) == []


def test_eoi_with_nothing_in_service_does_nothing() -> None:
    apic, notified = make()
    heard: list[int] = []
    apic.add_eoi_listener(heard.append)
    apic.eoi(0)
    assert (heard, notified, apic.in_service(0)) == ([], [], [])


def test_messages_are_routed_by_apic_id() -> None:
    apic, _ = make(cpus=2, apic_ids=[0, 2])
    assert apic.accept_by_id(2, 0x41, False)
    assert apic.pending(1) == [0x41]
    assert not apic.accept_by_id(1, 0x41, False), "no local APIC has id 1: the message is lost"
    assert apic.pending(0) == []


def test_apic_ids_must_match_the_cpu_count() -> None:
    with pytest.raises(ValueError, match="apic_ids has 1 entries for 2 CPUs"):
        Apic(2, apic_ids=[0])


def test_a_register_is_the_sdm_words_byte_by_byte() -> None:
    reg = ApicRegister()
    for v in (0x20, 0x3F, 0x41, 0xEC, 0xFF):
        reg.set(v)
    assert len(reg.words) == 32 and all(0 <= b <= 0xFF for b in reg.words)
    sdm_words = [int.from_bytes(bytes(reg.words[4 * i:4 * i + 4]), "little") for i in range(8)]
    assert sdm_words == [0, 1 | 1 << 31, 1 << 1, 0, 0, 0, 0, 1 << 12 | 1 << 31]
    assert reg.highest() == 0xFF and reg.vectors() == [0xFF, 0xEC, 0x41, 0x3F, 0x20]
    reg.clear(0xFF)
    reg.clear(0xEC)
    assert reg.highest() == 0x41, "an emptied word no longer counts"


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 255)), max_size=60))
def test_a_register_behaves_as_one_256_bit_integer(ops: list[tuple[bool, int]]) -> None:
    reg, model = ApicRegister(), 0
    for on, v in ops:
        if on:
            reg.set(v)
            model |= 1 << v
        else:
            reg.clear(v)
            model &= ~(1 << v)
        assert reg.highest() == model.bit_length() - 1
        assert (v in reg) == bool(model >> v & 1)
    assert sum(w << (8 * i) for i, w in enumerate(reg.words)) == model
