"""Devices and their signals (irqlab.hw.device): level, edge, MSI, shared wires."""

from __future__ import annotations

from irqlab.hw.apic import Apic
from irqlab.hw.arrivals import Periodic, Replay
from irqlab.hw.controller import LineSink
from irqlab.hw.device import Device, EdgeSignal, LevelSignal, MsiSignal, Signal, VectorSignal, Wire
from irqlab.hw.ioapic import IoApic
from irqlab.hw.msi import MsixTable, compose
from irqlab.sim.engine import Engine

PIN, VEC = 16, 0x61


class Pins(LineSink):
    """A controller input that records what the wire does."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool, int | None]] = []
        self.level = False

    def set_line(self, hwirq: int, level: bool, cpu: int | None = None) -> None:
        self.calls.append((hwirq, level, cpu))
        self.level = level


def level_device(wire: Wire, name: str = "dev") -> Device:
    return Device(Engine(), name, LevelSignal(wire), None)


def test_level_line_stays_asserted_until_the_handler_clears_the_status() -> None:
    pins = Pins()
    dev = level_device(Wire(pins, PIN))
    dev.request()
    dev.request()
    assert pins.calls == [(PIN, True, None)], "a busy device does not raise again"
    assert dev.service(1) == 1
    assert pins.level and dev.status == 1
    assert dev.service(5) == 1, "only what is pending can be serviced"
    assert pins.calls[-1] == (PIN, False, None) and dev.status == 0
    assert (dev.raised, dev.served) == (2, 2)


def test_servicing_an_idle_device_does_not_touch_the_line() -> None:
    pins = Pins()
    dev = level_device(Wire(pins, PIN))
    assert dev.service() == 0
    assert pins.calls == []


def test_shared_wire_is_wired_or() -> None:
    pins = Pins()
    wire = Wire(pins, PIN)
    a, b = level_device(wire, "a"), level_device(wire, "b")
    a.request()
    b.request()
    assert pins.calls == [(PIN, True, None)]
    a.service()
    assert wire.level and pins.level, "b still holds the shared line"
    b.service()
    assert not wire.level and pins.calls[-1] == (PIN, False, None)


def test_edge_is_one_pulse_per_request() -> None:
    pins = Pins()
    dev = Device(Engine(), "edge", EdgeSignal(Wire(pins, PIN)), None)
    for _ in range(3):
        dev.request()
    assert pins.calls == [(PIN, True, None), (PIN, False, None)] * 3
    assert dev.status == 3
    dev.service(3)
    assert len(pins.calls) == 6, "an edge device has nothing to drop"


def test_no_edge_on_a_line_another_device_holds_high() -> None:
    pins = Pins()
    wire = Wire(pins, PIN)
    level_device(wire).request()
    Device(Engine(), "edge", EdgeSignal(wire), None).request()
    assert pins.calls == [(PIN, True, None)]


def test_stuck_line_stays_asserted_whatever_the_devices_do() -> None:
    pins = Pins()
    wire = Wire(pins, PIN)
    dev = level_device(wire)
    wire.stick()
    assert pins.calls == [(PIN, True, None)] and wire.level
    dev.request()
    dev.service()
    assert pins.calls == [(PIN, True, None)], "the line never drops"
    Device(Engine(), "edge", EdgeSignal(wire), None).request()
    assert len(pins.calls) == 1


def test_stuck_level_pin_storms_through_the_ioapic() -> None:
    apic = Apic(1)
    io = IoApic(apic)
    io.program(PIN, VEC, 0, level=True)
    wire = Wire(io, PIN)
    dev = level_device(wire)
    dev.request()
    wire.stick()
    for _ in range(5):
        assert apic.acknowledge(0) == VEC
        dev.service()  # the driver clears its device ...
        apic.eoi(0)  # ... but the pin is still high at the EOI
    assert io.rte[PIN].sent == 6 and apic.pending(0) == [VEC]


def test_banked_wire_passes_its_cpu() -> None:
    pins = Pins()
    level_device(Wire(pins, 30, cpu=2)).request()
    assert pins.calls == [(30, True, 2)]


def test_msi_device_sends_one_message_per_request() -> None:
    apic = Apic(1)
    table = MsixTable(apic, 1)
    table.program(0, *compose(0, 0x41))
    table.unmask(0)
    dev = Device(Engine(), "nic", MsiSignal(table, 0), None)
    dev.request()
    dev.request()
    assert table.sent == 2 and apic.pending(0) == [0x41]
    assert apic.lapics[0].coalesced == 1


def test_vector_signal_raises_in_its_cpus_local_apic() -> None:
    apic = Apic(2)
    Device(Engine(), "timer1", VectorSignal(apic, 1, 0xEC), None).request()
    assert apic.pending(1) == [0xEC] and apic.pending(0) == []


def test_arrivals_drive_requests_and_raises_are_traced() -> None:
    engine = Engine()
    pins = Pins()
    trace: list[tuple[int, int, int]] = []

    class Sink:
        enabled = True

        def irq_raise(self, ts_ns: int, cpu: int, irq: int) -> None:
            trace.append((ts_ns, cpu, irq))

    dev = Device(engine, "dev", LevelSignal(Wire(pins, PIN)), Replay([100, 250, 900]),
                 keep_timestamps=True, sink=Sink())
    dev.irq, dev.cpu = 16, 1
    dev.start()
    engine.run(until_ns=300)
    assert dev.status == 2 and list(dev.timestamps or ()) == [100, 250]
    assert trace == [(100, 1, 16)], "one raise while the line is held"
    dev.service()
    assert list(dev.timestamps or ()) == [250], "the oldest request is serviced first"
    engine.run(until_ns=1_000)
    assert dev.raised == 3 and len(trace) == 1


def test_a_plain_python_signal_that_says_level_is_treated_as_level() -> None:
    """A user's Signal subclass may declare ``level = True`` as a class attribute;
    the (possibly compiled) device must see it as the built-in LevelSignal does."""

    class Counted(Signal):
        level = True

        def __init__(self) -> None:
            self.raises = 0

        def raise_(self) -> None:
            self.raises += 1

    signal = Counted()
    engine = Engine()
    dev = Device(engine, "dev", signal, Periodic(100))
    dev.start()
    engine.run(until_ns=1_000)
    assert (signal.raises, dev.status) == (1, 10), "a busy level device raises once"
