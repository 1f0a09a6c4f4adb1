"""Receive livelock (Mogul & Ramakrishnan, "Eliminating receive livelock in an
interrupt-driven kernel", ACM TOCS 15(3), 1997).

With an interrupt per packet and protocol work in a software interrupt, both
above the application in priority, every packet the machine cannot finish
still costs its interrupt and often its protocol work before it is dropped:
past the knee, delivered throughput falls as offered load rises, towards
zero.  NAPI (interrupt masked while polling, polls bounded by budget) stops
spending CPU on packets it will drop (the NIC drops them in the ring) and holds
its peak; static moderation only delays the collapse.

The sweep runs every (mode, offered load) point on its own machine and
reports the knee of each mode: the load at which delivered throughput peaks,
and how far it has fallen at the highest load.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from irqlab.analysis.report import Report, ReportWarning
from irqlab.experiments.rxpath import Point, RxExperiment, run_points
from irqlab.scenario.schema import Rate, Scenario

Mode = Literal["per-packet", "napi", "moderation"]
MODES: tuple[Mode, ...] = ("per-packet", "napi", "moderation")
#: delivered below this fraction of its peak at the top load: the mode livelocked
COLLAPSED = 0.5


class LivelockExperiment(RxExperiment):
    kind: Literal["receive-livelock"]
    loads: list[Rate] = Field(min_length=3)
    modes: list[Mode] = Field(default_factory=lambda: list(MODES), min_length=1)
    #: rx-usecs of the "moderation" mode
    rx_usecs: int = Field(50, ge=1)


def knees(results: list[dict]) -> list[ReportWarning]:
    """One note per mode: where delivered throughput peaks and what is left of
    it at the highest offered load."""
    out = []
    modes = dict.fromkeys(r["mode"] for r in results)
    for mode in modes:
        rows = sorted((r for r in results if r["mode"] == mode), key=lambda r: r["offered_pps"])
        peak = max(rows, key=lambda r: r["delivered_pps"])
        top = rows[-1]
        kept = top["delivered_pps"] / peak["delivered_pps"] if peak["delivered_pps"] else 0.0
        busy = top["cpu_irq_share"] + top["cpu_softirq_share"]
        msg = (f"{mode}: knee at {peak['offered_pps']:,} pps offered, peak "
               f"{peak['delivered_pps']:,} pps delivered; at {top['offered_pps']:,} pps offered "
               f"{top['delivered_pps']:,} pps ({kept:.0%} of peak) reach the application, "
               f"interrupts + softirq take {busy:.0%} of the CPU")
        if kept < COLLAPSED:
            out.append(ReportWarning(kind="livelock", irq=None, time_ns=None,
                               message=msg + " - receive livelock"))
        else:
            out.append(ReportWarning(kind="knee", irq=None, time_ns=None, message=msg))
    return out


def run(spec: Scenario, exp: LivelockExperiment, seed: int, duration_ns: int) -> Report:
    points = [Point(mode, load, exp.rx_usecs) for mode in exp.modes for load in sorted(exp.loads)]
    results = run_points(spec, exp, points, seed, duration_ns)
    title = f"{spec.scenario.name}: {spec.scenario.description}" if spec.scenario.description \
        else spec.scenario.name
    return Report(source="simulation", cpus=spec.machine.cpus, seed=seed, duration_ns=duration_ns,
                  results=results, warnings=knees(results), title=title)
