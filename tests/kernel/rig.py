"""Shared helpers of the kernel-layer tests: machines from small scenario
TOML strings, and an event recorder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.hw.apic import Apic
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.chip import IrqChip
from irqlab.kernel.desc import IrqDesc
from irqlab.kernel.flow import FLOWS
from irqlab.kernel.kernel import Kernel
from irqlab.machine.build import Machine, build
from irqlab.machine.run import simulate
from irqlab.platform.x86 import X86
from irqlab.scenario.loader import parse
from irqlab.sim.engine import Engine


class Recorder:
    """Event sink keeping every record as a tuple (ts, cpu, kind, irq, value, name)."""

    def __init__(self) -> None:
        self.events: list[tuple[int, int, int, int, int, str]] = []

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        self.events.append((ts_ns, cpu, kind, irq, value, name))

    def entries(self, irq: int) -> list[tuple[int, int, int, int, int, str]]:
        return [e for e in self.events if e[2] == IRQ_ENTRY and e[3] == irq]

    def exits(self, irq: int) -> list[tuple[int, int, int, int, int, str]]:
        return [e for e in self.events if e[2] == IRQ_EXIT and e[3] == irq]


def machine(toml: str, seed: int | None = None) -> Machine:
    spec, _ = parse(toml, "<test>")
    return build(spec, seed)


def run(m: Machine, duration_ns: int) -> Recorder:
    rec = Recorder()
    simulate(m, duration_ns, [rec])
    return rec


def python_handler(m: Machine, device: str, fn: Callable[[HandlerContext], int]) -> None:
    """Give a built-in driver Python code (as ``handler.python`` would)."""
    m.drivers[device].python = fn


def at(m: Machine, t_ns: int, fn: Callable[[], Any]) -> None:
    """Run ``fn()`` at simulated time ``t_ns``."""
    m.engine.at(t_ns, lambda _: fn())


class RecordingChip(IrqChip):
    """A chip that logs every hardware operation into ``log`` (shared with
    the handlers of the test, so the order of chip ops and handler calls is
    visible)."""

    name = "REC"

    def __init__(self, log: list[str], flags: int = 0, retrigger: bool = True) -> None:
        self.log = log
        self.flags = flags
        self.retrigger = retrigger

    def irq_mask(self, d: IrqDesc) -> None:
        self.log.append("mask")

    def irq_unmask(self, d: IrqDesc) -> None:
        self.log.append("unmask")

    def irq_ack(self, d: IrqDesc, cpu: int) -> None:
        self.log.append("ack")

    def irq_eoi(self, d: IrqDesc, cpu: int) -> None:
        self.log.append("eoi")

    def irq_retrigger(self, d: IrqDesc) -> bool:
        self.log.append("retrigger")
        return self.retrigger


def bare_kernel(cpus: int = 2) -> Kernel:
    """A kernel on an x86 APIC with no devices (descs are added by the test)."""
    return Kernel(Engine(), Apic(cpus), cpus, arch=X86())


def line(k: Kernel, flow: str, log: list[str], *, level: bool, irq: int = 10,
         chip_flags: int = 0) -> IrqDesc:
    """An IRQ on a RecordingChip with the named flow handler."""
    return k.alloc_irq(irq, RecordingChip(log, chip_flags), irq, FLOWS[flow], flow, level)


def drive(k: Kernel, desc: IrqDesc, cpu: int = 0) -> int:
    """Run the flow handler of ``desc`` to completion on ``cpu`` at the current
    time (costs are summed, not simulated); returns the CPU time it took."""
    return sum(desc.handle_irq(k, desc, cpu))
