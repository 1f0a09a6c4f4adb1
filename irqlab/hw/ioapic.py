"""x86 IO-APIC: 24 redirection-table entries (pins), edge or level.

Sources: Intel 82093AA IO-APIC datasheet; QEMU ``hw/intc/ioapic.c``
(``ioapic_set_irq``, ``ioapic_service``, ``ioapic_eoi_broadcast``) and
``include/hw/i386/ioapic_internal.h`` (RTE bits: vector 7:0, remote IRR bit 14,
trigger bit 15, mask bit 16, destination 63:56).

* Level pin: asserting sets the pin's IRR; if Remote IRR is clear and the pin
  is unmasked the message is sent and Remote IRR set.  While Remote IRR is set
  nothing more is sent ("guest should be still working on previous one") until
  the local APIC's EOI broadcast for the pin's vector clears it; a pin still
  asserted then is redelivered at once.
* Edge pin: an assertion while the pin is masked is ignored, so the edge is
  lost (QEMU follows the 82093AA datasheet).
* Unmasking a level pin that is asserted with Remote IRR clear delivers it.

QEMU's storm guard (delay after 10,000 back-to-back redeliveries) is an
emulator artefact, not hardware behaviour, and is not modelled.
"""

from __future__ import annotations

from typing import Final, final

from irqlab.hw.apic import Apic, EoiSink
from irqlab.hw.controller import LineSink

IOAPIC_NUM_PINS: Final = 24  # QEMU IOAPIC_NUM_PINS


@final
class Rte:
    """One redirection-table entry and the state of its pin."""

    __slots__ = ("dest", "level_trig", "line", "lost_edges", "masked", "remote_irr", "sent", "vector")

    def __init__(self) -> None:
        self.vector = 0
        self.dest = 0  # destination CPU index
        self.level_trig = False
        self.masked = True  # RTEs come up masked
        self.remote_irr = False
        self.line = False  # the wire's level at the pin
        self.lost_edges = 0
        self.sent = 0


@final
class IoApic(LineSink, EoiSink):
    """One IO-APIC whose messages go to the local APICs of ``apic``."""

    __slots__ = ("apic", "pins", "pins_of_vector", "rte")

    @property
    def name(self) -> str:
        return "IO-APIC"

    def __init__(self, apic: Apic, pins: int = IOAPIC_NUM_PINS) -> None:
        self.apic = apic
        self.pins = pins
        self.rte = [Rte() for _ in range(pins)]
        #: the pins programmed with each vector (0-255), for the EOI broadcast
        self.pins_of_vector: list[list[Rte]] = [[] for _ in range(256)]
        apic.add_eoi_listener(self)

    def program(self, pin: int, vector: int, dest_cpu: int, level: bool, masked: bool = False) -> None:
        """Write the pin's RTE.  Switching to edge clears Remote IRR."""
        self._check(pin)
        if not 0 <= vector <= 0xFF:
            raise ValueError(f"IO-APIC vector {vector:#x} out of range 0-0xff (RTE bits 7:0)")
        rte = self.rte[pin]
        old = self.pins_of_vector[rte.vector]
        if rte in old:
            old.remove(rte)
        self.pins_of_vector[vector].append(rte)
        rte.vector = vector
        rte.dest = dest_cpu
        rte.level_trig = level
        if not level:
            rte.remote_irr = False
        rte.masked = masked
        self._service(rte)

    def set_line(self, hwirq: int, level: bool, cpu: int | None = None) -> None:
        """The device drives the pin's wire (QEMU ioapic_set_irq)."""
        rte = self.rte[hwirq]
        was = rte.line
        rte.line = level
        if rte.level_trig:
            if level:
                self._service(rte)
        elif level and not was:
            if rte.masked:
                rte.lost_edges += 1
            else:
                rte.sent += 1
                self.apic.accept(rte.dest, rte.vector, False)

    def _service(self, rte: Rte) -> None:
        if rte.level_trig and rte.line and not rte.masked and not rte.remote_irr:
            rte.remote_irr = True
            rte.sent += 1
            self.apic.accept(rte.dest, rte.vector, True)

    def eoi(self, vector: int) -> None:
        """EOI broadcast from a local APIC (QEMU ioapic_eoi_broadcast)."""
        for rte in self.pins_of_vector[vector]:
            if rte.level_trig and rte.remote_irr:
                # Remote IRR cleared; a pin still asserted is redelivered at once (_service).
                rte.remote_irr = False
                self._service(rte)

    def mask(self, pin: int) -> None:
        self.rte[pin].masked = True

    def unmask(self, pin: int) -> None:
        rte = self.rte[pin]
        rte.masked = False
        self._service(rte)

    def set_affinity(self, pin: int, cpu: int) -> None:
        self.rte[pin].dest = cpu

    def _check(self, pin: int) -> None:
        if not 0 <= pin < self.pins:
            raise ValueError(f"IO-APIC pin {pin} out of range 0-{self.pins - 1}")
