"""Bare-metal dispatch (irqlab.os.baremetal) over the x86 controller path:
the smallest consumer of the controller models, and the benchmark's core."""

from __future__ import annotations

from irqlab.hw.apic import Apic
from irqlab.hw.arrivals import Arrivals, Poisson, Replay
from irqlab.hw.device import Device, LevelSignal, Wire
from irqlab.hw.gic import GicV3
from irqlab.hw.ioapic import IoApic
from irqlab.os.baremetal import BareMetal, ServeOne
from irqlab.sim.engine import Engine
from irqlab.sim.rng import stream

SERVICE_NS = 1_000


def machine(*devices: tuple[int, int, Arrivals], cpus: int = 1) -> tuple[Engine, BareMetal, list[Device]]:
    """Level devices (vector, cpu, arrivals) on IO-APIC pins 16.., each request served in 1 us."""
    engine = Engine()
    apic = Apic(cpus)
    ioapic = IoApic(apic)
    core = BareMetal(engine, apic, cpus)
    out = []
    for d, (vector, cpu, source) in enumerate(devices):
        ioapic.program(16 + d, vector, cpu, level=True)
        dev = Device(engine, f"dev{d}", LevelSignal(Wire(ioapic, 16 + d)), source,
                     keep_timestamps=True)
        core.install(cpu, vector, ServeOne(dev, SERVICE_NS))
        dev.start()
        out.append(dev)
    return engine, core, out


def test_same_class_requests_wait_and_the_higher_vector_goes_first() -> None:
    # low (0x40) at 0, high (0x41) at 100, low again at 200: the high one does not
    # preempt the running low one (same class) but is served before the second low.
    engine, core, (low, high) = machine((0x40, 0, Replay([0, 200])), (0x41, 0, Replay([100])))
    engine.run()
    assert (low.served, high.served) == (2, 1)
    assert high.waited_ns == 1_000 - 100
    assert low.waited_ns == 0 + (2_000 - 200)
    assert engine.now == 3_000 and core.taken == [3]


def test_a_level_line_with_requests_left_is_delivered_again_at_the_eoi() -> None:
    engine, core, (dev,) = machine((0x41, 0, Replay([0, 10, 20])))
    engine.run()
    assert dev.served == 3 and dev.waited_ns == 0 + 990 + 1_980
    assert core.taken == [3] and not core.busy[0]


def test_the_reference_model_meets_the_m_d_1_priority_waits() -> None:
    """bench/reference_model.py at 100,000 requests: Cobham's mean waits
    0.4286 us (high) and 1.0714 us (low), lambda 0.3/us per class, S = 1 us."""
    engine, _, devs = machine(*((0x41 if d < 2 else 0x40, d % 2, Poisson(300_000, stream(1, f"arrivals:dev{d}")))
                                for d in range(4)), cpus=2)
    engine.run(until_ns=85_000_000)
    high, low = devs[:2], devs[2:]
    assert sum(d.served for d in devs) > 100_000
    p0 = sum(d.waited_ns for d in high) / sum(d.served for d in high) / 1000
    p1 = sum(d.waited_ns for d in low) / sum(d.served for d in low) / 1000
    assert abs(p0 - 0.3 / 0.7) / (0.3 / 0.7) < 0.03
    assert abs(p1 - 0.3 / (0.7 * 0.4)) / (0.3 / (0.7 * 0.4)) < 0.03


def test_a_gic_core_serves_intids_above_255() -> None:
    """The vector table grows to the highest id installed: GIC SPIs run up to 1019."""
    engine = Engine()
    gic = GicV3(1, entry_ns=0, exit_ns=0)
    core = BareMetal(engine, gic, 1)
    gic.route(300, 0)
    gic.enable(300)
    dev = Device(engine, "spi300", LevelSignal(Wire(gic, 300)), Replay([0, 50]), keep_timestamps=True)
    core.install(0, 300, ServeOne(dev, SERVICE_NS))
    dev.start()
    engine.run()
    assert dev.served == 2 and dev.waited_ns == 0 + 950
    assert core.taken == [2]
