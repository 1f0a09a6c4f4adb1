"""Receive livelock (Mogul & Ramakrishnan, "Eliminating receive livelock in an
interrupt-driven kernel", ACM TOCS 15(3), 1997).

With an interrupt per packet and protocol work in a software interrupt, both
above the application in priority, every packet the machine cannot finish
still costs its interrupt and often its protocol work before it is dropped:
past the knee, delivered throughput falls as offered load rises, towards
zero.  NAPI (interrupt masked while polling, polls bounded by budget) stops
spending CPU on packets it will drop (the NIC drops them in the ring) and holds
its peak; static moderation only delays the collapse.

The grid crosses the receive modes with the offered loads; the summary is one
row per point and, per mode, its knee: the load at which delivered throughput
peaks, and how far it has fallen at the highest load.
"""

from __future__ import annotations

from typing import Any

from irqlab.analysis.report import ReportWarning
from irqlab.experiments.point import Point

#: delivered below this fraction of its peak at the top load: the mode livelocked
COLLAPSED = 0.5

FIELDS = ("delivered_pps", "irq_per_s", "cpu_irq_share", "cpu_softirq_share", "cpu_user_share",
          "drop_ring_pps", "drop_backlog_pps", "drop_socket_pps", "time_squeeze",
          "latency_p50_us", "latency_p99_us")


def summarise(points: list[Point]) -> tuple[list[dict[str, Any]], list[ReportWarning]]:
    results = [{"mode": p.mode, "offered_pps": p.offered_pps,
                **{f: p.rx(f) for f in FIELDS}} for p in points]
    return results, knees(results)


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
