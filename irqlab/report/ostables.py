"""The sections an OS personality chose for its report (``Report.view``), as
blocks that the text and HTML renderers draw alike: a table, or a body of
preformatted text (the ``/proc`` files, byte-exact).

Each section of :mod:`irqlab.osview` has one builder here, reading the report
and its JSON form only; which sections a report has is the view's choice, so
no renderer asks which OS it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

from irqlab.analysis.report import Report
from irqlab.osview import ISR_DPC, NVIC, PROC_INTERRUPTS, SOFTIRQS
from irqlab.report.procfs import render_interrupts, render_softirqs


class Block(NamedTuple):
    """A titled table (``headers`` and ``rows``, the first ``left`` columns
    text), or preformatted ``text`` when ``headers`` is empty; ``id`` names
    it in the HTML page."""

    id: str
    title: str
    headers: tuple[str, ...] = ()
    rows: Sequence[Sequence[Any]] = ()
    left: int = 1
    text: str = ""


def _us(ns: float) -> str:
    return f"{ns / 1000:.3f}"


def _proc_interrupts(report: Report, data: dict[str, Any]) -> list[Block]:
    snap = report.counter_snapshot()
    if snap is None or not snap.rows:
        return []
    return [Block("proc-interrupts", "/proc/interrupts", text=render_interrupts(snap))]


def _proc_softirqs(report: Report, data: dict[str, Any]) -> list[Block]:
    snap = report.counter_snapshot()
    if snap is None or not snap.softirqs:
        return []
    return [Block("proc-softirqs", "/proc/softirqs", text=render_softirqs(snap))]


def _isr_dpc(report: Report, data: dict[str, Any]) -> list[Block]:
    """WPA's DPC/ISR summary per module, LatencyMon's totals and execution-time
    classes, the ISRs by vector and IRQL, the DPCs by routine."""
    book = data[ISR_DPC]
    drivers: dict[str, dict[str, Any]] = book["drivers"]
    if not drivers:
        return []
    none = {"count": 0, "total_ns": 0, "max_ns": 0}
    per_driver = [
        [name, isr["count"], _us(isr["total_ns"]), _us(isr["max_ns"]),
         dpc["count"], _us(dpc["total_ns"]), _us(dpc["max_ns"])]
        for name, kinds in drivers.items()
        for isr, dpc in [(kinds.get("isr", none), kinds.get("dpc", none))]]
    totals = [
        [kind.upper(), book[kind]["count"], _us(book[kind]["total_ns"]),
         "-" if book[kind]["share"] is None else f"{book[kind]['share'] * 100:.3f}",
         _us(book[kind]["max_ns"]), book[kind]["max_driver"] or "-"]
        for kind in ("isr", "dpc")]
    bounds = book["classes_us"]
    # LatencyMon's own labels: "<250", "250-500", "500-999", ..., ">=4000"
    classes = [f"<{bounds[0]}"] + [f"{lo}-{hi - 1}" if i else f"{lo}-{hi}"
                                    for i, (lo, hi) in enumerate(pairwise(bounds))]
    classes.append(f">={bounds[-1]}")
    by_class = [[name, kind.upper(), *kinds[kind]["classes"]]
                for name, kinds in drivers.items() for kind in ("isr", "dpc") if kind in kinds]
    isrs = [[r["irq"], f"{r['vector']:#04x}", r["irql"], name, r["isr"], r["count"]]
            for name, kinds in drivers.items() for r in kinds.get("isr", {}).get("irqs", [])]
    dpcs = []
    for kinds in drivers.values():
        for r in kinds.get("dpc", {}).get("routines", []):
            lat = r["latency"] or {}
            dpcs.append([r["routine"], book["dpc_irql"], r["count"],
                         *(_us(lat[k]) if lat.get("count") else "-"
                           for k in ("mean", "p99", "max"))])
    return [
        Block("isr-dpc-drivers", "ISRs and DPCs per driver (WPA DPC/ISR by module)",
              ("driver", "isr_count", "isr_total_us", "isr_max_us", "dpc_count",
               "dpc_total_us", "dpc_max_us"), per_driver),
        Block("isr-dpc-totals", "ISR and DPC totals (LatencyMon: highest execution time, "
              "time spent)", ("kind", "count", "total_us", "cpu_pct", "highest_us",
                              "highest_driver"), totals),
        Block("isr-dpc-classes", "ISR and DPC counts by execution time (LatencyMon classes, us)",
              ("driver", "kind", *classes), by_class, left=2),
        Block("isr-irql", "ISRs by vector (IRQL = vector >> 4)",
              ("irq", "vector", "irql", "driver", "isr", "count"), isrs, left=1),
        Block("dpc-routines", "DPCs by routine (queue->run latency)",
              ("routine", "irql", "count", "latency_mean_us", "latency_p99_us",
               "latency_max_us"), dpcs),
    ]


def _nvic(report: Report, data: dict[str, Any]) -> list[Block]:
    """The NVIC's exceptions by CMSIS handler, with their tail-chained and
    late-arrival entries and the totals."""
    book = data.get(NVIC)
    if not book or not book["exceptions"]:
        return []
    names = {label: row["name"] for label, row in data["counters"].items()}
    rows = [[e["exception"], "-" if e["irqn"] is None else e["irqn"],
             names.get(e["label"]) or e["label"], f"{e['priority']:#04x}", e["taken"],
             e["tail_chained"], e["late_arrivals"]] for e in book["exceptions"]]
    rows.append(["total", "", "", "", sum(e["taken"] for e in book["exceptions"]),
                 book["tail_chained"], book["late_arrivals"]])
    return [Block("nvic-exceptions", "NVIC exceptions (CMSIS handlers)",
                  ("exception", "irqn", "handler", "priority", "taken", "tail_chained",
                   "late_arrivals"), rows, left=0)]


SECTIONS: dict[str, Callable[[Report, dict[str, Any]], list[Block]]] = {
    PROC_INTERRUPTS: _proc_interrupts,
    SOFTIRQS: _proc_softirqs,
    ISR_DPC: _isr_dpc,
    NVIC: _nvic,
}
"""The builder of each section an OS may choose."""


def os_blocks(report: Report, data: dict[str, Any]) -> list[Block]:
    """The blocks of the sections ``report``'s view chose, in its order."""
    return [block for section in report.view.sections for block in SECTIONS[section](report, data)]
