"""Logic-analyzer view of a run (``--vcd FILE``): a Value Change Dump
(IEEE 1364-2005 section 18) with timescale 1 ns, written with ``pyvcd``; it
opens in GTKWave, Surfer and PulseView.  Only standard ``wire``/``reg``
variables and pyvcd's printable identifiers are used, and every variable name
is unique without its scope, because PulseView (libsigrok's VCD input) drops
scopes and reads 1-bit signals only.

Signals (module ``irqlab``, one sub-module per IRQ and per CPU, each name
prefixed with it: ``irq24_line``):

* ``irqN.line``: the interrupt line as a device drives it.  A level line goes
  high at the device's assert and low when a handler of the line returns
  handled (the driver quieted the device); an edge line or MSI is a 1 ns pulse
  per assert.
* ``irqN.handler``: a "handler running" pin as a driver toggling a GPIO at the
  entry and exit of its action would show it (low between the actions of a
  shared line).
* per vector, the controller's own pending and in-service bits, from its
  ``IRQ_STATE`` events (the hardware model reports each change: set at
  delivery, moved at acknowledge, cleared at EOI or deactivation), under the
  CPU whose interface holds them and in the chip's terms (:data:`CHIP_TERMS`):
  ``cpuN.vecV_irr`` / ``cpuN.vecV_isr`` on the x86 local APIC,
  ``cpuN.intidI_pending`` / ``_active`` on the GIC (an SPI under its target
  CPU), ``cpuN.excE_pending`` / ``_active`` on the NVIC.
* ``cpuN.context``: 2-bit register: 0 task, 1 softirq, 2 hardirq (a vector
  or an interrupt handler), the innermost context of the CPU; the same as two
  1-bit pins ``cpuN.in_softirq`` and ``cpuN.in_hardirq`` for PulseView.

A VCD header must declare every signal before the first change, and signals
appear as the run goes: changes are spooled in time order to a temporary file
(a small heap holds the pulse ends still in the future) and replayed through
pyvcd at :meth:`close`, so memory stays constant however long the run.  The
simulator's events come in time order; a change stamped before one already
spooled is written at the spooled time and counted in ``unmatched``.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import IO, Any

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    IRQ_STATE,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    VECTOR_ENTRY,
    VECTOR_EXIT,
)
from irqlab.report.sink import TextSink

TASK, SOFTIRQ, HARDIRQ = 0, 1, 2
"""Values of ``cpuN.context``."""

PULSE_NS = 1
"""Width of an edge or MSI assert on ``irqN.line``."""

IRQ_PINS = ("line", "handler")

CHIP_TERMS: dict[str, tuple[str, str, str]] = {
    "APIC": ("vec", "irr", "isr"),  # Intel SDM vol. 3 10.8.4: IRR and ISR bits per vector
    "GICv3": ("intid", "pending", "active"),  # Arm IHI 0069 4.1.2: interrupt states
    "NVIC": ("exc", "pending", "active"),  # Armv7-M ARM B1.5.2: exception states
}
"""Per chip (``IrqController.name``): the id prefix of its interrupts and the
names of their pending and in-service bits."""


class VcdWriter(TextSink):
    """Event sink: ``feed`` has the signature of :meth:`IrqStats.feed`.
    ``level_irqs`` are the IRQs whose line is level-triggered; ``chip`` names
    the controller whose ``IRQ_STATE`` events it draws (:data:`CHIP_TERMS`)."""

    #: asks the machine for the controller's IRQ_STATE events (machine.run.Sink)
    controller_state = True

    def __init__(self, path_or_file: str | Path | IO[str], cpus: int,
                 level_irqs: Collection[int] = (), title: str = "irqlab",
                 chip: str = "APIC") -> None:
        super().__init__(path_or_file)
        self.cpus = cpus
        self.title = title
        self.level_irqs = frozenset(level_irqs)
        self.terms = CHIP_TERMS[chip]
        #: controller bits seen: (cpu, intid) -> pending | active << 1
        self._ctrl: dict[tuple[int, int], int] = {}
        self.unmatched = 0
        #: changes not yet spooled: (ts, sequence, scope, var, value)
        self._heap: list[tuple[int, int, str, str, int]] = []
        self._seq = 0
        self._spooled_ts = 0
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="ascii")  # noqa: SIM115
        self._irqs: set[int] = set()
        self._stack: dict[int, list[int]] = {}  # cpu -> contexts, innermost last

    def _set(self, ts: int, scope: str, var: str, value: int) -> None:
        heapq.heappush(self._heap, (ts, self._seq, scope, var, value))
        self._seq += 1

    def _drain(self, before: int) -> None:
        """Spool, in time order, every change stamped before ``before``."""
        heap, write = self._heap, self._spool.write
        while heap and heap[0][0] < before:
            ts, _, scope, var, value = heapq.heappop(heap)
            if ts < self._spooled_ts:
                self.unmatched += 1
                ts = self._spooled_ts
            self._spooled_ts = ts
            write(f"{ts} {scope} {var} {value}\n")

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        """Record the signal changes of one event."""
        self._drain(ts_ns)
        if kind == IRQ_RAISE:
            scope = self._irq(irq)
            self._set(ts_ns, scope, "line", 1)
            if irq not in self.level_irqs:
                self._set(ts_ns + PULSE_NS, scope, "line", 0)
            return
        if cpu < 0:
            self.unmatched += 1
            return
        self.cpus = max(self.cpus, cpu + 1)
        if kind == IRQ_STATE:
            self._controller(ts_ns, cpu, irq, value)
        elif kind == IRQ_ENTRY:
            self._set(ts_ns, self._irq(irq), "handler", 1)
            self._enter(ts_ns, cpu, HARDIRQ)
        elif kind == IRQ_EXIT:
            if irq not in self._irqs:
                self.unmatched += 1
                return
            scope = self._irq(irq)
            self._set(ts_ns, scope, "handler", 0)
            if value and irq in self.level_irqs:
                self._set(ts_ns, scope, "line", 0)
            self._leave(ts_ns, cpu)
        elif kind in (VECTOR_ENTRY, SOFTIRQ_ENTRY):
            self._enter(ts_ns, cpu, HARDIRQ if kind == VECTOR_ENTRY else SOFTIRQ)
        elif kind in (VECTOR_EXIT, SOFTIRQ_EXIT):
            self._leave(ts_ns, cpu)
        # SOFTIRQ_RAISE changes no signal

    def _controller(self, ts: int, cpu: int, intid: int, bits: int) -> None:
        """The controller's bits of ``intid`` on ``cpu``: a change of either is an edge."""
        old = self._ctrl.get((cpu, intid), 0)
        self._ctrl[cpu, intid] = bits
        scope = f"cpu{cpu}"
        prefix, pending, active = self.terms
        for bit, name in ((1, pending), (2, active)):
            if (old ^ bits) & bit:
                self._set(ts, scope, f"{prefix}{intid}_{name}", int(bool(bits & bit)))

    def _irq(self, irq: int) -> str:
        self._irqs.add(irq)
        return f"irq{irq}"

    def _enter(self, ts: int, cpu: int, context: int) -> None:
        self._stack.setdefault(cpu, []).append(context)
        self._context(ts, cpu, context)

    def _leave(self, ts: int, cpu: int) -> None:
        stack = self._stack.get(cpu)
        if not stack:
            self.unmatched += 1
            return
        stack.pop()
        self._context(ts, cpu, stack[-1] if stack else TASK)

    def _context(self, ts: int, cpu: int, context: int) -> None:
        scope = f"cpu{cpu}"
        self._set(ts, scope, "context", context)
        self._set(ts, scope, "in_softirq", int(context == SOFTIRQ))
        self._set(ts, scope, "in_hardirq", int(context == HARDIRQ))

    def close(self) -> None:
        """Declare the signals seen, write every change in time order, close."""
        from vcd import VCDWriter

        writer = VCDWriter(self._out, timescale="1 ns", date="", version="irqlab",
                           comment=f"{self.title}; cpuN.context: 0 task, 1 softirq, 2 hardirq")
        variables: dict[tuple[str, str], Any] = {}
        for irq in sorted(self._irqs):
            for var in IRQ_PINS:
                variables[f"irq{irq}", var] = writer.register_var(
                    f"irqlab.irq{irq}", f"irq{irq}_{var}", "wire", size=1, init=0)
        for cpu in range(self.cpus):
            variables[f"cpu{cpu}", "context"] = writer.register_var(
                f"irqlab.cpu{cpu}", f"cpu{cpu}_context", "reg", size=2, init=TASK)
            for var in ("in_softirq", "in_hardirq"):
                variables[f"cpu{cpu}", var] = writer.register_var(
                    f"irqlab.cpu{cpu}", f"cpu{cpu}_{var}", "wire", size=1, init=0)
        prefix, pending, active = self.terms
        for cpu, intid in sorted(self._ctrl):
            for bit in (pending, active):
                var = f"{prefix}{intid}_{bit}"
                variables[f"cpu{cpu}", var] = writer.register_var(
                    f"irqlab.cpu{cpu}", f"cpu{cpu}_{var}", "wire", size=1, init=0)
        self._drain(1 << 63)
        self._spool.seek(0)
        for line in self._spool:
            ts, scope, var, value = line.split()
            writer.change(variables[scope, var], int(ts), int(value))
        writer.close()
        self._spool.close()
        super().close()
