"""Shared helpers of the kernel-layer tests: machines from small scenario
TOML strings, and an event recorder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.kernel.action import HandlerContext
from irqlab.machine.build import Machine, build
from irqlab.machine.run import simulate
from irqlab.scenario.loader import parse


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
