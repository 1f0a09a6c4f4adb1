"""x86 MSI / MSI-X (irqlab.hw.msi): message format (arch/x86/include/asm/msi.h,
QEMU apic_send_msi) and the MSI-X table's mask and Pending Bit Array."""

from __future__ import annotations

import pytest

from irqlab.hw.apic import Apic
from irqlab.hw.msi import MsiError, MsixTable, compose, decode


@pytest.mark.parametrize(("dest", "vector"), [(0, 0x21), (1, 0x41), (0x5A, 0xEC), (0xFF, 0xFF)])
def test_address_carries_the_apic_id_in_bits_19_12_and_data_the_vector(dest: int,
                                                                      vector: int) -> None:
    address, data = compose(dest, vector)
    assert address >> 20 == 0xFEE
    assert (address >> 12) & 0xFF == dest
    assert address & 0xFFF == 0, "physical destination, compatibility format, no hint"
    assert data & 0xFF == vector and data >> 8 == 0, "fixed delivery, edge"
    assert decode(address, data) == (dest, vector, False)


def test_linux_style_message_decodes() -> None:
    # CPU with APIC id 3, vector 0x22: address 0xfee03000, data 0x0022 (lspci -vv)
    assert decode(0xFEE03000, 0x0022) == (3, 0x22, False)
    assert decode(0xFEE03000, 0x8122) == (3, 0x22, True), "lowest priority, level trigger"


def test_compose_lowest_priority_sets_data_bits_10_8() -> None:
    assert compose(2, 0x41, delivery_mode=1)[1] == 0x141


@pytest.mark.parametrize(
    ("address", "data", "problem"),
    [
        (0xFED03000, 0x22, "not in the 0xFEExxxxx window"),
        (0x00003000, 0x22, "not in the 0xFEExxxxx window"),
        (0xFEE00010, 0x22, "remappable format"),
        (0xFEE03004, 0x22, "logical destination mode"),
        (0xFEE03000, 0x422, r"delivery mode 4 \(NMI\)"),
        (0xFEE03000, 0x722, r"delivery mode 7 \(ExtINT\)"),
    ],
)
def test_messages_the_model_cannot_deliver_are_refused(address: int, data: int,
                                                       problem: str) -> None:
    with pytest.raises(MsiError, match=problem):
        decode(address, data)


@pytest.mark.parametrize(
    ("dest", "vector", "mode", "problem"),
    [(256, 0x41, 0, "APIC id 256"), (-1, 0x41, 0, "APIC id -1"), (0, 256, 0, "vector 256"),
     (0, 0x41, 3, "delivery mode 3 is reserved")],
)
def test_compose_refuses_fields_that_do_not_fit(dest: int, vector: int, mode: int,
                                                problem: str) -> None:
    with pytest.raises(MsiError, match=problem):
        compose(dest, vector, mode)


def make(vectors: int, cpus: int = 2, apic_ids: list[int] | None = None) -> tuple[Apic, MsixTable]:
    apic = Apic(cpus, apic_ids=apic_ids)
    return apic, MsixTable(apic, vectors)


def test_program_refuses_an_invalid_message() -> None:
    _, table = make(1)
    with pytest.raises(MsiError, match="remappable"):
        table.program(0, 0xFEE00010, 0x41)
    assert table.address[0] == 0


def test_vectors_come_up_masked_and_unmask_sends_the_pending_message() -> None:
    apic, table = make(1)
    table.program(0, *compose(0, 0x41))
    table.signal(0)
    assert table.pending[0] and table.sent == 0 and apic.pending(0) == []
    table.unmask(0)
    assert not table.pending[0] and table.sent == 1
    assert apic.pending(0) == [0x41]


def test_masked_signals_leave_one_pending_bit() -> None:
    apic, table = make(1)
    table.program(0, *compose(0, 0x41))
    table.unmask(0)
    table.mask(0)
    for _ in range(3):
        table.signal(0)
    table.unmask(0)
    assert table.sent == 1
    table.unmask(0)  # nothing pending any more
    assert table.sent == 1 and apic.lapics[0].coalesced == 0


def test_unmasked_signal_is_sent_at_once_with_no_pending_bit() -> None:
    apic, table = make(1)
    table.program(0, *compose(1, 0x41))
    table.unmask(0)
    table.signal(0)
    assert table.sent == 1 and not table.pending[0]
    assert apic.pending(1) == [0x41] and 0x41 not in apic.lapics[1].tmr


def test_each_vector_goes_to_its_own_cpu_and_vector() -> None:
    apic, table = make(3, cpus=3, apic_ids=[0, 2, 4])
    routes = [(0, 0x41), (4, 0x42), (2, 0x41)]  # (APIC id, vector): CPUs 0, 2, 1
    for i, (dest, vector) in enumerate(routes):
        table.program(i, *compose(dest, vector))
        table.unmask(i)
    table.signal(1)
    assert (apic.pending(0), apic.pending(1), apic.pending(2)) == ([], [], [0x42])
    table.signal(2)
    assert apic.pending(1) == [0x41] and apic.pending(0) == []


def test_message_to_an_absent_apic_id_is_lost() -> None:
    apic, table = make(2, cpus=2)
    table.program(0, *compose(7, 0x41))
    table.unmask(0)
    table.unmask(1)  # never programmed
    table.signal(0)
    table.signal(1)
    assert table.sent == 2
    assert apic.pending(0) == apic.pending(1) == []
