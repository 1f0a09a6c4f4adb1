"""x86 IO-APIC (irqlab.hw.ioapic): Remote IRR, masking and trigger modes
(82093AA datasheet; QEMU hw/intc/ioapic.c)."""

from __future__ import annotations

import pytest

from irqlab.hw.apic import Apic
from irqlab.hw.ioapic import IOAPIC_NUM_PINS, IoApic

PIN, VEC = 16, 0x61


def make(level: bool, masked: bool = False, cpus: int = 1) -> tuple[Apic, IoApic]:
    apic = Apic(cpus)
    io = IoApic(apic)
    io.program(PIN, VEC, cpus - 1, level, masked=masked)
    return apic, io


def handle(apic: Apic, cpu: int = 0) -> None:
    """The CPU takes the vector and writes EOI."""
    assert apic.acknowledge(cpu) == VEC
    apic.eoi(cpu)


def test_24_pins_that_come_up_masked() -> None:
    apic = Apic(1)
    io = IoApic(apic)
    assert io.pins == IOAPIC_NUM_PINS == 24
    assert all(rte.masked for rte in io.rte)
    with pytest.raises(ValueError, match="IO-APIC pin 24 out of range 0-23"):
        io.program(24, VEC, 0, True)
    with pytest.raises(ValueError, match="IO-APIC vector 0x100 out of range 0-0xff"):
        io.program(0, 0x100, 0, True)


def test_level_pin_sets_remote_irr_and_waits_for_the_eoi() -> None:
    apic, io = make(level=True)
    io.set_line(PIN, True)
    assert io.rte[PIN].remote_irr and io.rte[PIN].sent == 1
    assert apic.pending(0) == [VEC] and VEC in apic.lapics[0].tmr
    assert apic.acknowledge(0) == VEC
    io.set_line(PIN, False)
    io.set_line(PIN, True)  # re-asserted before the EOI: not sent again
    assert io.rte[PIN].sent == 1 and apic.pending(0) == []
    apic.eoi(0)
    assert io.rte[PIN].sent == 2, "still asserted when the EOI arrives: redelivered at once"
    assert io.rte[PIN].remote_irr and apic.pending(0) == [VEC]


def test_level_pin_deasserted_before_the_eoi_is_not_redelivered() -> None:
    apic, io = make(level=True)
    io.set_line(PIN, True)
    assert apic.acknowledge(0) == VEC
    io.set_line(PIN, False)  # the handler cleared the device
    apic.eoi(0)
    assert not io.rte[PIN].remote_irr
    assert io.rte[PIN].sent == 1 and apic.pending(0) == []


def test_remote_irr_stays_set_without_the_eoi_broadcast() -> None:
    apic, io = make(level=True)
    apic.lapics[0].suppress_eoi_broadcast = True
    io.set_line(PIN, True)
    handle(apic)
    assert io.rte[PIN].remote_irr and io.rte[PIN].sent == 1
    io.eoi(VEC)  # directed EOI: the IO-APIC's own EOI register (version 0x20)
    assert io.rte[PIN].sent == 2


def test_eoi_of_another_vector_leaves_remote_irr_alone() -> None:
    apic, io = make(level=True)
    io.set_line(PIN, True)
    apic.acknowledge(0)
    io.eoi(VEC + 1)
    assert io.rte[PIN].remote_irr and io.rte[PIN].sent == 1


def test_edge_asserted_on_a_masked_pin_is_lost() -> None:
    apic, io = make(level=False, masked=True)
    io.set_line(PIN, True)
    io.set_line(PIN, False)
    io.unmask(PIN)
    assert io.rte[PIN].lost_edges == 1
    assert io.rte[PIN].sent == 0 and apic.pending(0) == []


def test_edge_pin_sends_one_message_per_rising_edge() -> None:
    apic, io = make(level=False)
    io.set_line(PIN, True)
    io.set_line(PIN, True)  # still high: no new edge
    assert io.rte[PIN].sent == 1
    handle(apic)
    io.set_line(PIN, False)
    io.set_line(PIN, True)
    assert io.rte[PIN].sent == 2 and not io.rte[PIN].remote_irr
    assert VEC not in apic.lapics[0].tmr


def test_unmasking_an_asserted_level_pin_delivers_it() -> None:
    apic, io = make(level=True, masked=True)
    io.set_line(PIN, True)
    assert io.rte[PIN].sent == 0 and apic.pending(0) == []
    io.unmask(PIN)
    assert io.rte[PIN].sent == 1 and io.rte[PIN].remote_irr
    assert apic.pending(0) == [VEC]


def test_level_eoi_on_a_masked_pin_clears_remote_irr_but_does_not_send() -> None:
    apic, io = make(level=True)
    io.set_line(PIN, True)
    apic.acknowledge(0)
    io.mask(PIN)
    apic.eoi(0)
    assert not io.rte[PIN].remote_irr and io.rte[PIN].sent == 1
    io.unmask(PIN)
    assert io.rte[PIN].sent == 2


def test_switching_to_edge_clears_remote_irr() -> None:
    apic, io = make(level=True)
    apic.lapics[0].suppress_eoi_broadcast = True
    io.set_line(PIN, True)
    handle(apic)
    assert io.rte[PIN].remote_irr
    # Linux __eoi_ioapic_pin on a version 0x11 IO-APIC: masked, flip to edge and back.
    io.program(PIN, VEC, 0, level=False, masked=True)
    assert not io.rte[PIN].remote_irr
    io.program(PIN, VEC, 0, level=True, masked=False)
    assert io.rte[PIN].sent == 2, "the still-asserted line is delivered again"


def test_reprogrammed_vector_follows_the_pin() -> None:
    apic, io = make(level=True)
    io.program(PIN, 0x71, 0, level=True)
    io.set_line(PIN, True)
    assert apic.pending(0) == [0x71]
    apic.acknowledge(0)
    io.eoi(VEC)  # the old vector no longer names this pin
    assert io.rte[PIN].remote_irr
    apic.eoi(0)
    assert io.rte[PIN].sent == 2


def test_messages_go_to_the_programmed_cpu() -> None:
    apic, io = make(level=False, cpus=2)
    io.set_line(PIN, True)
    assert apic.pending(1) == [VEC] and apic.pending(0) == []
    io.set_line(PIN, False)
    io.set_affinity(PIN, 0)
    io.set_line(PIN, True)
    assert apic.pending(0) == [VEC]
