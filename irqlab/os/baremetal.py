"""Bare-metal dispatch: what firmware without an operating system does.

Each CPU takes the highest deliverable interrupt from its controller
(``IrqController.acknowledge``), runs the service routine of that vector from
its vector table for the routine's cost, then ends the interrupt (x86 EOI
write, GIC EOIR, NVIC exception return).  No flow handlers, descriptors,
softirqs or nesting: the smallest faithful consumer of the controller models,
used where only the controller path matters (e.g. ``bench/reference_model.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from irqlab.hw.controller import IrqController
from irqlab.hw.device import Device
from irqlab.sim.engine import Engine

#: a service routine: called with (cpu, vector), returns its CPU time in ns
Isr = Callable[[int, int], int]


class ServeOne:
    """The simplest driver: each interrupt services the device's oldest request
    in ``cost_ns`` (a level line drops when the last one is cleared)."""

    __slots__ = ("cost_ns", "device")

    def __init__(self, device: Device, cost_ns: int) -> None:
        self.device = device
        self.cost_ns = cost_ns

    def __call__(self, cpu: int, vector: int) -> int:
        self.device.service(1)
        return self.cost_ns


class BareMetal:
    __slots__ = ("_active", "_done_cb", "_entry", "_exit", "_spurious", "busy", "ctrl", "engine",
                 "taken", "vectors")

    def __init__(self, engine: Engine, ctrl: IrqController, cpus: int) -> None:
        self.engine = engine
        self.ctrl = ctrl
        self._spurious = ctrl.spurious
        #: each CPU's vector table, indexed by vector (up to the highest installed)
        self.vectors: list[list[Isr | None]] = [[] for _ in range(cpus)]
        self.busy = [False] * cpus
        self._active = [0] * cpus
        self.taken = [0] * cpus
        self._entry = [ctrl.entry_ns(c, False) for c in range(cpus)]
        self._exit = [ctrl.exit_ns(c, False) for c in range(cpus)]
        self._done_cb = self._done  # bound once: scheduled for every interrupt
        ctrl.attach(self._notify)

    def install(self, cpu: int, vector: int, isr: Isr) -> None:
        """Put ``isr`` in ``cpu``'s vector table."""
        table = self.vectors[cpu]
        if vector >= len(table):
            table.extend([None] * (vector + 1 - len(table)))
        table[vector] = isr

    def _notify(self, cpu: int) -> None:
        if not self.busy[cpu] and self.ctrl.deliverable(cpu):
            self._take(cpu)

    def _take(self, cpu: int) -> None:
        vector = self.ctrl.acknowledge(cpu)
        if vector == self._spurious:
            return  # withdrawn before acknowledge: no EOI
        self.busy[cpu] = True
        self._active[cpu] = vector
        self.taken[cpu] += 1
        table = self.vectors[cpu]
        isr = table[vector] if vector < len(table) else None
        cost = self._entry[cpu] + self._exit[cpu] + (isr(cpu, vector) if isr is not None else 0)
        engine = self.engine
        engine.at(engine.now + cost, self._done_cb, cpu)

    def _done(self, cpu: int) -> None:
        self.busy[cpu] = False
        self.ctrl.eoi(cpu, self._active[cpu])  # notifies: the next one is taken at once
