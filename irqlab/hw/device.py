"""Devices: request sources behind an interrupt signal.

A device keeps a status register counting requests not yet serviced.  Its
signal is one of:

* ``LevelSignal``: a level-sensitive wire held asserted while any request is
  pending; it drops only when the handler services the last one (so a driver
  that never clears its device keeps the line asserted: an interrupt storm).
  Several devices on one ``Wire`` are wired-OR (a shared line).
* ``EdgeSignal``: one pulse (rising edge) per request.
* ``MsiSignal``: one MSI/MSI-X message per request (x86 address/data format).
* ``VectorSignal``: a local-APIC-sourced vector (LVT timer, IPIs) on one CPU.

Hardware knows nothing of Linux IRQ numbers; ``trace`` is set by the machine
so that raises appear in the event stream as ``IRQ_RAISE`` for that IRQ.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol

from irqlab.events import IRQ_RAISE
from irqlab.hw.apic import Apic
from irqlab.hw.arrivals import Arrivals
from irqlab.hw.msi import MsixTable
from irqlab.sim.engine import Engine


class LineSink(Protocol):
    def set_line(self, hwirq: int, level: bool, cpu: int | None = None) -> None: ...


class Wire:
    """A physical interrupt line into a controller input, wired-OR of its drivers."""

    __slots__ = ("cpu", "drivers", "hwirq", "sink", "stuck")

    def __init__(self, sink: LineSink, hwirq: int, cpu: int | None = None) -> None:
        self.sink = sink
        self.hwirq = hwirq
        self.cpu = cpu  # banked per-CPU inputs (GIC PPI)
        self.drivers = 0
        self.stuck = False

    @property
    def level(self) -> bool:
        return self.drivers > 0 or self.stuck

    def assert_(self) -> None:
        self.drivers += 1
        if self.drivers == 1 and not self.stuck:
            self.sink.set_line(self.hwirq, True, self.cpu)

    def deassert(self) -> None:
        if self.drivers == 0:
            return
        self.drivers -= 1
        if self.drivers == 0 and not self.stuck:
            self.sink.set_line(self.hwirq, False, self.cpu)

    def pulse(self) -> None:
        if self.drivers == 0 and not self.stuck:  # no edge on a line already held high
            self.sink.set_line(self.hwirq, True, self.cpu)
            self.sink.set_line(self.hwirq, False, self.cpu)

    def stick(self) -> None:
        """Fault: the line is stuck asserted whatever the devices do."""
        if not self.stuck:
            self.stuck = True
            if self.drivers == 0:
                self.sink.set_line(self.hwirq, True, self.cpu)


class Signal(Protocol):
    #: whether a raise is only visible when the device goes from idle to busy
    level: bool

    def raise_(self) -> None: ...
    def quiesce(self) -> None: ...


class LevelSignal:
    level = True
    __slots__ = ("wire",)

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def raise_(self) -> None:
        self.wire.assert_()

    def quiesce(self) -> None:
        self.wire.deassert()


class EdgeSignal:
    level = False
    __slots__ = ("wire",)

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def raise_(self) -> None:
        self.wire.pulse()

    def quiesce(self) -> None:
        return None


class MsiSignal:
    level = False
    __slots__ = ("index", "table")

    def __init__(self, table: MsixTable, index: int) -> None:
        self.table = table
        self.index = index

    def raise_(self) -> None:
        self.table.signal(self.index)

    def quiesce(self) -> None:
        return None


class VectorSignal:
    """A vector sourced inside the local APIC of one CPU (LVT timer, IPI)."""

    level = False
    __slots__ = ("apic", "cpu", "vector")

    def __init__(self, apic: Apic, cpu: int, vector: int) -> None:
        self.apic = apic
        self.cpu = cpu
        self.vector = vector

    def raise_(self) -> None:
        self.apic.accept(self.cpu, self.vector, False)

    def quiesce(self) -> None:
        return None


TraceSink = Callable[[int, int, int, int, int, str], None]


class Device:
    """A request source with a status register, driving one signal."""

    __slots__ = (
        "arrivals", "cpu", "engine", "irq", "name", "raised", "served", "signal", "status",
        "timestamps", "trace",
    )

    def __init__(self, engine: Engine, name: str, signal: Signal, arrivals: Arrivals | None,
                 keep_timestamps: bool = False) -> None:
        self.engine = engine
        self.name = name
        self.signal = signal
        self.arrivals = arrivals
        self.status = 0
        self.raised = 0
        self.served = 0
        self.irq = -1
        self.cpu = 0
        self.trace: TraceSink | None = None
        #: arrival time of each pending request, oldest first (when kept)
        self.timestamps: deque[int] | None = deque() if keep_timestamps else None

    def start(self) -> None:
        """Schedule the first arrival."""
        if self.arrivals is not None:
            gap = self.arrivals.next_gap()
            if gap is not None:
                self.engine.after(gap, self._arrive)

    def _arrive(self, _: object) -> None:
        # request(1) inlined: this is the simulator's hottest path.
        engine = self.engine
        was = self.status
        self.status = was + 1
        self.raised += 1
        if self.timestamps is not None:
            self.timestamps.append(engine.now)
        signal = self.signal
        if not (was and signal.level):
            if self.trace is not None:
                self.trace(engine.now, self.cpu, IRQ_RAISE, self.irq, 0, "")
            signal.raise_()
        gap = self.arrivals.next_gap()  # type: ignore[union-attr]
        if gap is not None:
            engine.at(engine.now + gap, self._arrive)

    def request(self, n: int = 1) -> None:
        """``n`` new requests; the signal is raised (once, for a level line)."""
        was = self.status
        self.status = was + n
        self.raised += n
        if self.timestamps is not None:
            self.timestamps.extend([self.engine.now] * n)
        signal = self.signal
        if signal.level and was:
            return
        if self.trace is not None:
            self.trace(self.engine.now, self.cpu, IRQ_RAISE, self.irq, 0, "")
        signal.raise_()

    def service(self, n: int = 1) -> int:
        """The driver clears up to ``n`` requests; returns how many it took."""
        took = n if n < self.status else self.status
        self.status -= took
        if self.timestamps is not None:
            for _ in range(took):
                self.timestamps.popleft()
        self.served += took
        if took and not self.status:
            self.signal.quiesce()
        return took
