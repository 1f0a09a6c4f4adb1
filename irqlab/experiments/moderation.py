"""The interrupt-moderation trade-off: with rx-usecs = U the NIC interrupts at
most once per U us (after the first frame of a batch, U us pass before the
interrupt), so the interrupt rate stays under 1/U while every frame waits up
to U us longer.  One row per point: static rx-usecs values with NAPI
polling, and adaptive points (net DIM choosing among its profiles).
"""

from __future__ import annotations

from typing import Any

from irqlab.analysis.report import ReportWarning
from irqlab.experiments.point import Point


def summarise(points: list[Point]) -> tuple[list[dict[str, Any]], list[ReportWarning]]:
    results = []
    for p in points:
        nic = p.device.nic
        assert nic is not None
        static = not nic.adaptive
        usecs = nic.rx_usecs
        bound = 1e6 / usecs if static and usecs else None
        results.append({
            "mode": "static" if static else "adaptive", "rx_usecs": usecs if static else "dim",
            "offered_pps": p.offered_pps, "delivered_pps": p.rx("delivered_pps"),
            "irq_per_s": p.rx("irq_per_s"), "irq_bound_per_s": None if bound is None else round(bound),
            "cpu_irq_share": p.rx("cpu_irq_share"), "cpu_softirq_share": p.rx("cpu_softirq_share"),
            "latency_p50_us": p.rx("latency_p50_us"), "latency_p99_us": p.rx("latency_p99_us"),
        })
    notes = [ReportWarning(kind="moderation", irq=None, time_ns=None, message=(
        "rx-usecs bounds the interrupt rate by 1/rx-usecs (irq_bound_per_s) and adds up to "
        "rx-usecs of latency to each frame; adaptive (net DIM) picks a profile from the "
        "traffic"))]
    return results, notes
