"""A short simulated run shared by the export tests: its events, and its report
as ``irqlab run`` builds it (with the rate timeline the pictures need)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.rates import RateTimeline
from irqlab.analysis.report import Report
from irqlab.events import Event
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.runner import simulation_report
from irqlab.scenario.loader import load


@dataclass
class Run:
    machine: Any
    events: list[Event]
    report: Report


class _Collect:
    controller_state = True  # the controller's IRQ_STATE events too (as --vcd asks)

    def __init__(self) -> None:
        self.events: list[Event] = []

    def feed(self, *ev: Any) -> None:
        self.events.append(Event(*ev))


def simulated(scenario: str, duration_ns: int, seed: int = 1) -> Run:
    spec, _ = load(scenario)
    machine = build(spec, seed)
    stats, timeline, collect = IrqStats(spec.machine.cpus), RateTimeline(), _Collect()
    simulate(machine, duration_ns, [stats, timeline, collect])
    report = simulation_report(machine, stats)
    report.timeline = timeline
    return Run(machine, collect.events, report)
