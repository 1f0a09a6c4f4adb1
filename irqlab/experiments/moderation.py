"""The interrupt-moderation trade-off: with rx-usecs = U the NIC interrupts at
most once per U us (after the first frame of a batch, U us pass before the
interrupt), so the interrupt rate stays under 1/U while every frame waits up
to U us longer.  One row per rx-usecs value with NAPI polling, plus the
adaptive row (net DIM choosing among its profiles).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from irqlab.analysis.report import Report, ReportWarning
from irqlab.experiments.rxpath import Point, RxExperiment, run_points
from irqlab.scenario.schema import Rate, Scenario


class ModerationExperiment(RxExperiment):
    kind: Literal["moderation"]
    load: Rate
    rx_usecs: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    adaptive: bool = True


def run(spec: Scenario, exp: ModerationExperiment, seed: int, duration_ns: int) -> Report:
    points = [Point("napi-moderation", exp.load, u) for u in sorted(exp.rx_usecs)]
    if exp.adaptive:
        points.append(Point("adaptive", exp.load))
    rows = run_points(spec, exp, points, seed, duration_ns)
    results = []
    for p, r in zip(points, rows, strict=True):
        static = p.mode != "adaptive"
        bound = 1e6 / p.rx_usecs if static else None
        results.append({
            "mode": "static" if static else "adaptive", "rx_usecs": p.rx_usecs if static else "dim",
            "offered_pps": r["offered_pps"], "delivered_pps": r["delivered_pps"],
            "irq_per_s": r["irq_per_s"], "irq_bound_per_s": None if bound is None else round(bound),
            "cpu_irq_share": r["cpu_irq_share"], "cpu_softirq_share": r["cpu_softirq_share"],
            "latency_p50_us": r["latency_p50_us"], "latency_p99_us": r["latency_p99_us"],
        })
    notes = [ReportWarning(kind="moderation", irq=None, time_ns=None, message=(
        "rx-usecs bounds the interrupt rate by 1/rx-usecs (irq_bound_per_s) and adds up to "
        "rx-usecs of latency to each frame; adaptive (net DIM) picks a profile from the "
        "traffic"))]
    title = f"{spec.scenario.name}: {spec.scenario.description}" if spec.scenario.description \
        else spec.scenario.name
    return Report(source="simulation", cpus=spec.machine.cpus, seed=seed, duration_ns=duration_ns,
                  results=results, warnings=notes, title=title)
