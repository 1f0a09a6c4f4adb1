"""Logic-analyzer view of a run (``--vcd FILE``): a Value Change Dump
(IEEE 1364-2005 section 18) with timescale 1 ns, written with ``pyvcd``; it
opens in GTKWave, Surfer and PulseView.  Only standard ``wire``/``reg``
variables and pyvcd's printable identifiers are used, and every variable name
is unique without its scope, because PulseView (libsigrok's VCD input) drops
scopes and reads 1-bit signals only.

Signals (module ``irqlab``, one sub-module per IRQ and per CPU, each name
prefixed with it: ``irq24_line``), all derived from the event stream:

* ``irqN.line``: the interrupt line as a device drives it.  A level line goes
  high at the device's assert and low when a handler of the line returns
  handled (the driver quieted the device); an edge line or MSI is a 1 ns pulse
  per assert.
* ``irqN.pending``: asserted and not yet taken, from the assert to the entry of
  the interrupt's first action: the controller's pending bit as the CPU sees
  it (IRR on x86, pending on GIC and NVIC).  The controller's own set/clear
  instants (delivery, acknowledge, EOI) are not in the event stream, so the
  bit is shown from the assert, not from delivery.
* ``irqN.in_service``: from the first action's entry to the last action's exit
  of one interrupt (in service, ISR on x86 / active on GIC and NVIC, as seen
  from the handler side).
* ``irqN.handler``: a "handler running" pin as a driver toggling a GPIO at the
  entry and exit of its action would show it (low between the actions of a
  shared line).
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

IRQ_PINS = ("line", "pending", "in_service", "handler")


class VcdWriter(TextSink):
    """Event sink: ``feed`` has the signature of :meth:`IrqStats.feed`.
    ``level_irqs`` are the IRQs whose line is level-triggered."""

    def __init__(self, path_or_file: str | Path | IO[str], cpus: int,
                 level_irqs: Collection[int] = (), title: str = "irqlab") -> None:
        super().__init__(path_or_file)
        self.cpus = cpus
        self.title = title
        self.level_irqs = frozenset(level_irqs)
        self.unmatched = 0
        #: changes not yet spooled: (ts, sequence, scope, var, value)
        self._heap: list[tuple[int, int, str, str, int]] = []
        self._seq = 0
        self._spooled_ts = 0
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="ascii")  # noqa: SIM115
        self._irqs: set[int] = set()
        self._pending: set[int] = set()
        self._open: dict[int, int] = {}  # irq -> actions running (over all CPUs)
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
            if irq not in self._pending:  # set again while in service (IRR and ISR both set)
                self._pending.add(irq)
                self._set(ts_ns, scope, "pending", 1)
            return
        if cpu < 0:
            self.unmatched += 1
            return
        self.cpus = max(self.cpus, cpu + 1)
        if kind == IRQ_ENTRY:
            scope = self._irq(irq)
            if irq in self._pending:
                self._pending.discard(irq)
                self._set(ts_ns, scope, "pending", 0)
            if not self._open.get(irq):
                self._set(ts_ns, scope, "in_service", 1)
            self._open[irq] = self._open.get(irq, 0) + 1
            self._set(ts_ns, scope, "handler", 1)
            self._enter(ts_ns, cpu, HARDIRQ)
        elif kind == IRQ_EXIT:
            if not self._open.get(irq):
                self.unmatched += 1
                return
            scope = self._irq(irq)
            self._open[irq] -= 1
            self._set(ts_ns, scope, "handler", 0)
            if value and irq in self.level_irqs:
                self._set(ts_ns, scope, "line", 0)
            if not self._open[irq]:
                self._set(ts_ns, scope, "in_service", 0)
            self._leave(ts_ns, cpu)
        elif kind in (VECTOR_ENTRY, SOFTIRQ_ENTRY):
            self._enter(ts_ns, cpu, HARDIRQ if kind == VECTOR_ENTRY else SOFTIRQ)
        elif kind in (VECTOR_EXIT, SOFTIRQ_EXIT):
            self._leave(ts_ns, cpu)
        # SOFTIRQ_RAISE changes no signal

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
        self._drain(1 << 63)
        self._spool.seek(0)
        for line in self._spool:
            ts, scope, var, value = line.split()
            writer.change(variables[scope, var], int(ts), int(value))
        writer.close()
        self._spool.close()
        super().close()
