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
* ``PendSignal``: a Cortex-M system exception pended in the NVIC (SysTick).
* ``LpiSignal``: a GICv3 LPI written through the ITS (the arm64 form of MSI).

Hardware knows nothing of Linux IRQ numbers or event kinds: a device built
with a ``sink`` reports each raise to it (``irq_raise``) with the IRQ number
the machine gave it, and the sink turns it into an ``IRQ_RAISE`` event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol, final

from mypy_extensions import mypyc_attr

from irqlab.hw.apic import Apic
from irqlab.hw.arrivals import NO_ARRIVAL, Arrivals
from irqlab.hw.controller import LineSink
from irqlab.hw.gic import GicV3
from irqlab.hw.msi import MsixTable
from irqlab.hw.nvic import Nvic
from irqlab.sim.engine import Engine, Timer


@final
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


@mypyc_attr(allow_interpreted_subclasses=True)
class Signal:
    """How a device asks for service."""

    __slots__ = ()

    @property
    def level(self) -> bool:
        """Whether a raise is only visible when the device goes from idle to busy
        (a property, so that a plain-Python subclass's ``level = True`` is seen
        by compiled code too)."""
        return False

    def raise_(self) -> None:
        raise NotImplementedError

    def quiesce(self) -> None:
        """The last request was serviced (a level line drops; nothing else to withdraw)."""


class LevelSignal(Signal):
    __slots__ = ("wire",)

    @property
    def level(self) -> bool:
        return True

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def raise_(self) -> None:
        self.wire.assert_()

    def quiesce(self) -> None:
        self.wire.deassert()


class EdgeSignal(Signal):
    __slots__ = ("wire",)

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def raise_(self) -> None:
        self.wire.pulse()


class MsiSignal(Signal):
    __slots__ = ("index", "table")

    def __init__(self, table: MsixTable, index: int) -> None:
        self.table = table
        self.index = index

    def raise_(self) -> None:
        self.table.signal(self.index)


class VectorSignal(Signal):
    """A vector sourced inside the local APIC of one CPU (LVT timer, IPI)."""

    __slots__ = ("apic", "cpu", "vector")

    def __init__(self, apic: Apic, cpu: int, vector: int) -> None:
        self.apic = apic
        self.cpu = cpu
        self.vector = vector

    def raise_(self) -> None:
        self.apic.accept(self.cpu, self.vector, False)


class PendSignal(Signal):
    """A system exception pended in the NVIC (SysTick counting down to zero)."""

    __slots__ = ("exc", "nvic")

    def __init__(self, nvic: Nvic, exc: int) -> None:
        self.nvic = nvic
        self.exc = exc

    def raise_(self) -> None:
        self.nvic.set_pending(self.exc)


class LpiSignal(Signal):
    """A GICv3 LPI written through the ITS (the arm64 form of MSI): the ITS
    picks the redistributor (``GicV3.map_lpi`` / ``move_lpi``)."""

    __slots__ = ("gic", "intid")

    def __init__(self, gic: GicV3, intid: int) -> None:
        self.gic = gic
        self.intid = intid

    def raise_(self) -> None:
        self.gic.its_translate(self.intid)


class RaiseSink(Protocol):
    """Where a device reports that it raised its signal (the machine's
    tracepoints), while ``enabled``: hardware knows no event kinds, only this
    call."""

    enabled: bool

    def irq_raise(self, ts_ns: int, cpu: int, irq: int) -> None: ...


@final
class Device(Timer):
    """A request source with a status register, driving one signal.

    Arrivals at a level-signalled device that already has requests pending
    change nothing anyone can see until the driver looks at the device, so
    they are not scheduled as events: they are drawn (from the same stream, in
    the same order) when ``status`` is read or ``service`` runs.  This skips
    about half the events of a busy level line and changes no result.
    """

    __slots__ = (
        "_next_at",
        "_raised",
        "_stamp",
        "_status",
        "_unstamp",
        "arrivals",
        "cpu",
        "engine",
        "irq",
        "name",
        "served",
        "signal",
        "sink",
        "timestamps",
        "waited_ns",
    )

    def __init__(self, engine: Engine, name: str, signal: Signal, arrivals: Arrivals | None,
                 keep_timestamps: bool = False, sink: RaiseSink | None = None) -> None:
        self.engine = engine
        self.name = name
        self.signal = signal
        self.arrivals = arrivals
        self._status = 0
        self._next_at = -1  # next arrival not yet counted (lazy level arrivals), -1 = none
        self._raised = 0
        self.served = 0
        #: arrival-to-service time summed over the serviced requests (when timestamps are kept)
        self.waited_ns = 0
        self.irq = -1
        self.cpu = 0
        self.sink = sink
        #: arrival time of each pending request, oldest first (when kept)
        self.timestamps: deque[int] | None = None
        self._stamp: Callable[[int], None] | None = None
        self._unstamp: Callable[[], int] | None = None
        if keep_timestamps:
            self.keep_timestamps()

    def keep_timestamps(self) -> None:
        """From now on keep the arrival time of each pending request (``timestamps``)
        and sum arrival-to-service waits (``waited_ns``)."""
        if self.timestamps is None:
            self.timestamps = deque()
            # Bound once: called for every request.
            self._stamp = self.timestamps.append
            self._unstamp = self.timestamps.popleft

    @property
    def status(self) -> int:
        """Requests not yet serviced."""
        if 0 <= self._next_at <= self.engine.now:
            self._catch_up()
        return self._status

    @property
    def raised(self) -> int:
        """Requests raised so far."""
        if 0 <= self._next_at <= self.engine.now:
            self._catch_up()
        return self._raised

    def start(self) -> None:
        """Schedule the first arrival."""
        if self.arrivals is not None:
            gap = self.arrivals.next_gap()
            if gap != NO_ARRIVAL:
                self.engine.at_timer(self.engine.now + gap, self)

    def fire(self, _: object) -> None:
        """An arrival (the engine's call: a device is the Timer of its arrivals)."""
        engine = self.engine
        now = engine.now
        was = self._status
        self._status = was + 1
        self._raised += 1
        if self._stamp is not None:
            self._stamp(now)
        signal = self.signal
        level = signal.level
        if not (was and level):
            sink = self.sink
            if sink is not None and sink.enabled:
                sink.irq_raise(now, self.cpu, self.irq)
            signal.raise_()
        arrivals = self.arrivals
        if arrivals is None:  # never: only a device with a source has arrivals
            return
        gap = arrivals.next_gap()
        if gap == NO_ARRIVAL:
            return
        if level and self._status:
            self._next_at = now + gap  # counted lazily while the device is busy
        else:
            engine.at_timer(now + gap, self)

    def _catch_up(self) -> None:
        """Count the lazily deferred arrivals up to now (inclusive)."""
        now = self.engine.now
        nxt = self._next_at
        arrivals = self.arrivals
        if arrivals is None:  # never: only a device with a source defers arrivals
            return
        stamp = self._stamp
        n = 0
        while 0 <= nxt <= now:
            n += 1
            if stamp is not None:
                stamp(nxt)
            gap = arrivals.next_gap()
            nxt = -1 if gap == NO_ARRIVAL else nxt + gap
        self._next_at = nxt
        self._status += n
        self._raised += n

    def request(self, n: int = 1) -> None:
        """``n`` new requests; the signal is raised (once, for a level line)."""
        if n <= 0:
            return
        if 0 <= self._next_at <= self.engine.now:
            self._catch_up()
        was = self._status
        self._status = was + n
        self._raised += n
        if self.timestamps is not None:
            self.timestamps.extend([self.engine.now] * n)
        signal = self.signal
        if signal.level and was:
            return
        sink = self.sink
        if sink is not None and sink.enabled:
            sink.irq_raise(self.engine.now, self.cpu, self.irq)
        signal.raise_()

    def service(self, n: int = 1) -> int:
        """The driver clears up to ``n`` requests; returns how many it took."""
        nxt = self._next_at
        if 0 <= nxt <= self.engine.now:
            self._catch_up()
        status = self._status
        took = n if n < status else status
        self._status = status = status - took
        unstamp = self._unstamp
        if unstamp is not None:
            now = self.engine.now
            for _ in range(took):
                self.waited_ns += now - unstamp()
        self.served += took
        if took and not status:
            self.signal.quiesce()
            nxt = self._next_at
            if nxt >= 0:  # idle again: the next arrival is an event once more
                self._next_at = -1
                self.engine.at_timer(nxt, self)
        return took
