"""Bare-metal dispatch: what firmware without an operating system does.

Each CPU takes the highest deliverable interrupt from its controller
(``IrqController.acknowledge``), runs the service routine of that vector from
its vector table for the routine's cost, then ends the interrupt (x86 EOI
write, GIC EOIR, NVIC exception return).  No flow handlers, descriptors,
softirqs or nesting: the smallest faithful consumer of the controller models,
used where only the controller path matters (e.g. ``bench/reference_model.py``).
"""

from __future__ import annotations

from typing import final

from mypy_extensions import mypyc_attr

from irqlab.hw.controller import IrqController, NotifySink
from irqlab.hw.device import Device
from irqlab.sim.engine import Engine, Timer


@mypyc_attr(allow_interpreted_subclasses=True)
class Isr:
    """A service routine: ``serve(cpu, vector)`` runs it and returns its CPU
    time in ns (a method of a class, so compiled dispatch calls it natively)."""

    __slots__ = ()

    def serve(self, cpu: int, vector: int) -> int:
        raise NotImplementedError


class ServeOne(Isr):
    """The simplest driver: each interrupt services the device's oldest request
    in ``cost_ns`` (a level line drops when the last one is cleared)."""

    __slots__ = ("cost_ns", "device")

    def __init__(self, device: Device, cost_ns: int) -> None:
        self.device = device
        self.cost_ns = cost_ns

    def serve(self, cpu: int, vector: int) -> int:
        self.device.service(1)
        return self.cost_ns


@final
class CpuSlot:
    """One CPU's dispatch state: its vector table (indexed by vector, up to the
    highest installed), whether it is serving, the vector in service, the
    interrupts taken and the controller's entry plus exit cost."""

    __slots__ = ("active", "busy", "cpu", "overhead_ns", "table", "taken")

    def __init__(self, cpu: int, overhead_ns: int) -> None:
        self.cpu = cpu
        self.overhead_ns = overhead_ns
        self.table: list[Isr | None] = []
        self.busy = False
        self.active = 0
        self.taken = 0


class BareMetal(NotifySink, Timer):
    __slots__ = ("_spurious", "cpus", "ctrl", "engine")

    def __init__(self, engine: Engine, ctrl: IrqController, cpus: int) -> None:
        self.engine = engine
        self.ctrl = ctrl
        self._spurious = ctrl.spurious
        self.cpus = [CpuSlot(c, ctrl.entry_ns(c, False) + ctrl.exit_ns(c, False)) for c in range(cpus)]
        ctrl.attach(self)  # a NotifySink: the controller calls ``notify`` natively

    @property
    def busy(self) -> list[bool]:
        """Whether each CPU is serving an interrupt."""
        return [slot.busy for slot in self.cpus]

    @property
    def taken(self) -> list[int]:
        """Interrupts taken by each CPU."""
        return [slot.taken for slot in self.cpus]

    def install(self, cpu: int, vector: int, isr: Isr) -> None:
        """Put ``isr`` in ``cpu``'s vector table."""
        table = self.cpus[cpu].table
        if vector >= len(table):
            table.extend([None] * (vector + 1 - len(table)))
        table[vector] = isr

    def notify(self, cpu: int) -> None:
        slot = self.cpus[cpu]
        if not slot.busy and self.ctrl.deliverable(cpu):
            self._take(slot)

    def _take(self, slot: CpuSlot) -> None:
        cpu = slot.cpu
        vector = self.ctrl.acknowledge(cpu)
        if vector == self._spurious:
            return  # withdrawn before acknowledge: no EOI
        slot.busy = True
        slot.active = vector
        slot.taken += 1
        table = slot.table
        isr = table[vector] if vector < len(table) else None
        cost = slot.overhead_ns + (isr.serve(cpu, vector) if isr is not None else 0)
        engine = self.engine
        engine.at_timer(engine.now + cost, self, slot)

    def fire(self, slot: CpuSlot) -> None:
        """``slot``'s interrupt is served (the engine's call): EOI."""
        slot.busy = False
        self.ctrl.eoi(slot.cpu, slot.active)  # notifies: the next one is taken at once
