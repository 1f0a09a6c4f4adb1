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

from irqlab.hw.apic import Apic

IOAPIC_NUM_PINS = 24  # QEMU IOAPIC_NUM_PINS


class IoApic:
    """One IO-APIC whose messages go to the local APICs of ``apic``."""

    name = "IO-APIC"

    __slots__ = (
        "apic", "dest", "level_trig", "line", "lost_edges", "masked", "pins", "pins_of_vector",
        "remote_irr", "sent", "vector",
    )

    def __init__(self, apic: Apic, pins: int = IOAPIC_NUM_PINS) -> None:
        self.apic = apic
        self.pins = pins
        self.vector = [0] * pins
        self.dest = [0] * pins  # destination CPU index
        self.level_trig = [False] * pins
        self.masked = [True] * pins  # RTEs come up masked
        self.remote_irr = [False] * pins
        self.line = [False] * pins
        self.lost_edges = [0] * pins
        self.sent = [0] * pins
        self.pins_of_vector: dict[int, list[int]] = {}
        apic.add_eoi_listener(self.eoi)

    def program(self, pin: int, vector: int, dest_cpu: int, level: bool, masked: bool = False) -> None:
        """Write the pin's RTE.  Switching to edge clears Remote IRR."""
        self._check(pin)
        old = self.pins_of_vector.get(self.vector[pin])
        if old is not None and pin in old:
            old.remove(pin)
        self.pins_of_vector.setdefault(vector, []).append(pin)
        self.vector[pin] = vector
        self.dest[pin] = dest_cpu
        self.level_trig[pin] = level
        if not level:
            self.remote_irr[pin] = False
        self.masked[pin] = masked
        self._service(pin)

    def set_line(self, pin: int, level: bool, cpu: int | None = None) -> None:
        """The device drives the pin's wire (QEMU ioapic_set_irq)."""
        was = self.line[pin]
        self.line[pin] = level
        if self.level_trig[pin]:
            if level and not self.masked[pin] and not self.remote_irr[pin]:
                self.remote_irr[pin] = True  # _service(), inlined
                self.sent[pin] += 1
                self.apic.accept(self.dest[pin], self.vector[pin], True)
        elif level and not was:
            if self.masked[pin]:
                self.lost_edges[pin] += 1
            else:
                self.sent[pin] += 1
                self.apic.accept(self.dest[pin], self.vector[pin], False)

    def _service(self, pin: int) -> None:
        if self.level_trig[pin] and self.line[pin] and not self.masked[pin] and not self.remote_irr[pin]:
            self.remote_irr[pin] = True
            self.sent[pin] += 1
            self.apic.accept(self.dest[pin], self.vector[pin], True)

    def eoi(self, vector: int) -> None:
        """EOI broadcast from a local APIC (QEMU ioapic_eoi_broadcast)."""
        for pin in self.pins_of_vector.get(vector, ()):
            if self.level_trig[pin] and self.remote_irr[pin]:
                # Remote IRR cleared; a pin still asserted is redelivered at once (_service).
                if self.line[pin] and not self.masked[pin]:
                    self.sent[pin] += 1
                    self.apic.accept(self.dest[pin], self.vector[pin], True)
                else:
                    self.remote_irr[pin] = False

    def mask(self, pin: int) -> None:
        self.masked[pin] = True

    def unmask(self, pin: int) -> None:
        self.masked[pin] = False
        self._service(pin)

    def set_affinity(self, pin: int, cpu: int) -> None:
        self.dest[pin] = cpu

    def _check(self, pin: int) -> None:
        if not 0 <= pin < self.pins:
            raise ValueError(f"IO-APIC pin {pin} out of range 0-{self.pins - 1}")
