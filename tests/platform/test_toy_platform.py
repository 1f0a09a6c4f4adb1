"""A new controller is three pieces: a hardware model, a platform module and
its scenario variant.  This test defines all three here, registers the
platform, and runs a scenario on it through the one machine builder, touching
no other file."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Literal

import pytest

from irqlab.events import VECTOR_ENTRY, VECTOR_EXIT, CounterRow, CounterSnapshot
from irqlab.hw.controller import LineSink, Notify, no_notify
from irqlab.hw.device import Device, Signal
from irqlab.kernel.chip import IrqChip, eoi_dropped
from irqlab.kernel.cpu import Cpu
from irqlab.kernel.desc import IrqDesc
from irqlab.kernel.flow import FLOWS
from irqlab.kernel.kernel import Kernel
from irqlab.kernel.printk import KernelWarning
from irqlab.machine.build import build
from irqlab.machine.machine import Machine
from irqlab.platform import PLATFORMS, register
from irqlab.platform.base import Board
from irqlab.runner import simulation_report
from irqlab.scenario.loader import parse
from irqlab.scenario.schema import DeviceSpec, MachineBase
from tests.kernel.rig import run

TIMER_ID = 0  # the toy controller's input 0 is its timer; devices use 1..15


# -- 1. the hardware model --------------------------------------------------------------------
class ToyIc(LineSink):
    """One CPU, 16 level inputs, the lowest pending number first, one active
    interrupt at a time, ended by an EOI."""

    name = "TOYIC"
    spurious = 0xFF
    ack_before_entry = True

    def __init__(self) -> None:
        self.level = [False] * 16
        self.pending = [False] * 16
        self.active: int | None = None
        self.notify: Notify = no_notify

    def attach(self, notify: Notify) -> None:
        self.notify = notify

    def set_line(self, hwirq: int, level: bool, cpu: int | None = None) -> None:
        self.level[hwirq] = level
        if level:
            self.pending[hwirq] = True
            self.notify(0)

    def deliverable(self, cpu: int) -> bool:
        return self.active is None and any(self.pending)

    def acknowledge(self, cpu: int) -> int:
        if not self.deliverable(cpu):
            return self.spurious
        self.active = self.pending.index(True)
        self.pending[self.active] = False
        return self.active

    def eoi(self, cpu: int, intid: int) -> None:
        self.active = None
        if self.level[intid]:
            self.pending[intid] = True  # still asserted: taken again
        self.notify(0)

    def deactivate(self, cpu: int, intid: int) -> None:
        return None

    def entry_ns(self, cpu: int, tail_chain: bool) -> int:
        return 100

    def exit_ns(self, cpu: int, tail_chain: bool) -> int:
        return 80


class TimerPulse(Signal):
    """The toy timer: a pulse on input 0."""

    level = False

    def __init__(self, ic: ToyIc) -> None:
        self.ic = ic

    def raise_(self) -> None:
        self.ic.set_line(TIMER_ID, True)
        self.ic.set_line(TIMER_ID, False)

    def quiesce(self) -> None:
        return None


# -- 2. the platform module ---------------------------------------------------------------------
class ToyChip(IrqChip):
    name = "TOYIC"

    def __init__(self, ic: ToyIc) -> None:
        self.ic = ic

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        if not eoi_dropped(d):
            self.ic.eoi(cpu, d.hwirq)


def toy_timer(k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
    k.trace.emit(k.engine.now, cpu.index, VECTOR_ENTRY, -1, vector, "toy_timer")
    k.ctrl.eoi(cpu.index, vector)
    k.irq_stat.inc("TMR", cpu.index)
    cost = k.tick.run_hrtimers(cpu.index)
    if cost:
        yield cost
    k.trace.emit(k.engine.now, cpu.index, VECTOR_EXIT, -1, vector, "toy_timer")


class Toy:
    arch = "toy"

    def board(self, m: Machine) -> Board:
        ic = ToyIc()
        m.timers = [Device(m.engine, "toy-timer", TimerPulse(ic), None)]
        return Board(ic)

    def boot(self, m: Machine) -> None:
        m.kernel.bind_vector(0, TIMER_ID, toy_timer)

    def add_line(self, m: Machine, spec: DeviceSpec, line: int, cpu: int,
                 level: bool) -> tuple[int, LineSink]:
        desc = m.kernel.alloc_irq(line, ToyChip(m.ctrl), line, FLOWS["fasteoi"], "fasteoi", level)
        m.kernel.bind_vector(0, line, desc)
        return line, m.ctrl

    def add_msi(self, m: Machine, spec: DeviceSpec,
                index: int) -> Callable[[int, int], tuple[int, Signal]]:
        raise AssertionError("the toy has no MSI")

    def isr_name(self, device: str) -> str:
        return device

    def finish(self, m: Machine) -> None:
        return None

    def missed_eoi(self, m: Machine) -> list[KernelWarning]:
        ic: ToyIc = m.ctrl
        cpu = m.kernel.cpus[0]
        if ic.active is None or cpu.in_irq or not cpu.irqs_on:
            return []  # nothing active, or it is being taken or handled
        return [KernelWarning("missed-eoi", None, m.engine.now, f"input {ic.active} still active")]

    def spurious_vector(self, k: Kernel, cpu: int, vector: int) -> None:
        return None

    def no_irq_handler(self, k: Kernel, cpu: int, vector: int) -> None:
        k.ctrl.eoi(cpu, vector)
        k.irq_stat.err_count += 1

    def trigger_name(self, d: IrqDesc) -> str:
        return "Level" if d.level else "Edge"

    def arch_show_interrupts(self, k: Kernel, snap: CounterSnapshot) -> None:
        snap.rows["TMR"] = CounterRow(label="TMR", name="Toy timer interrupts",
                                      per_cpu=list(k.irq_stat.counts.get("TMR", [0])))
        snap.rows["Err"] = CounterRow(label="Err", per_cpu=[k.irq_stat.err_count])


# -- 3. its scenario variant ------------------------------------------------------------------
class ToyMachine(MachineBase):
    arch: Literal["toy"] = "toy"
    os: Literal["linux"] = "linux"


SCENARIO = """
[machine]
cpus = 1
hz = 1000
[[device]]
name = "button"
line = 3
arrival = { kind = "periodic", period = "100us" }
handler = { cost = "2us", softirq = "TASKLET", softirq_cost = "1us" }
[[device]]
name = "sensor"
line = 9
arrival = { kind = "poisson", rate = "5k/s" }
handler = { cost = "4us" }
"""


@pytest.fixture
def toy() -> Iterator[Machine]:
    register(Toy())
    spec, _ = parse(SCENARIO, "<toy>")
    spec.machine = ToyMachine(cpus=1, hz=1000)
    yield build(spec, seed=5)
    del PLATFORMS["toy"]


def test_a_scenario_runs_on_a_platform_defined_in_a_test(toy: Machine) -> None:
    rec = run(toy, 20_000_000)
    report = simulation_report(toy, None)
    rows = report.counters.rows  # type: ignore[union-attr]
    assert rows["3"].chip == "TOYIC" and rows["3"].flow == "fasteoi" and rows["3"].name == "button"
    button, sensor = toy.devices["button"][0], toy.devices["sensor"][0]
    assert button.raised == 200  # every 100 us up to 20 ms; the last one at the end
    assert rows["3"].total == button.served == 199
    assert rows["9"].total >= 50 and sensor.served >= sensor.raised - 1
    assert rows["TMR"].total == 20  # the 1 kHz tick through the platform's timer
    tasklet = report.counters.softirqs["TASKLET"][0]  # type: ignore[union-attr]
    assert 0 < tasklet <= 199
    assert report.warnings == [] and rows["Err"].per_cpu == [0]
    # the generic kernel drove the toy chip: each handler ran between entry and exit
    assert len(rec.entries(3)) == len(rec.exits(3)) == 199


def test_the_toy_run_is_reproducible_from_its_seed(toy: Machine) -> None:
    first = run(toy, 5_000_000).events
    spec = toy.spec
    again = run(build(spec, seed=5), 5_000_000).events
    assert first == again and first
