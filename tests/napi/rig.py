"""Small machines for the NAPI / moderation / personality tests."""

from __future__ import annotations

from collections.abc import Generator

from irqlab.hw.device import Signal
from irqlab.machine.build import Machine, build
from irqlab.scenario.loader import parse
from irqlab.sim.engine import Engine


def machine(toml: str, seed: int = 1) -> Machine:
    spec, _ = parse(toml, "<test>")
    m = build(spec, seed)
    m.kernel.start()
    return m


def drive(engine: Engine, work: Generator[int, None, object]) -> object:
    """Run kernel code outside the simulator, advancing time by each cost."""
    try:
        while True:
            engine.now += work.send(None)
    except StopIteration as stop:
        return stop.value


class Pulses(Signal):
    """A Signal that records when it was raised."""

    level = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.times: list[int] = []

    def raise_(self) -> None:
        self.times.append(self.engine.now)

    def quiesce(self) -> None:
        return None


X86_1CPU = """
[machine]
arch = "x86"
cpus = 1
[timer]
enabled = false
"""
