"""The report model shared by ``irqlab run``, ``irqlab report`` and
``irqlab replay``: what was measured, and its JSON form (a contract other tools
check, see ``to_json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from irqlab.analysis.histogram import Histogram
from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.rates import RateTimeline
from irqlab.events import SOFTIRQ_NAMES, X86_ROWS, CounterRow, CounterSnapshot

GLOBAL_ROWS = frozenset({"ERR", "MIS", "Err"})
"""Rows printed as one global count (``"%*s: %10u"``), not per CPU."""

@dataclass
class ReportWarning:
    """Something the reader should look at (storm, lost events, livelock...)."""

    kind: str
    irq: int | None
    time_ns: int | None
    message: str


@dataclass
class VmReport:
    """One guest of a simulated host (``irqlab.virt``): its injection mode, its
    VM exits by ``perf kvm stat`` reason, the interrupts of the devices
    assigned to it and the exits they caused, their guest-visible latency
    (device request -> the guest's handler entry), the share of its vCPUs'
    time its own workload got, and the guest kernel's own counters."""

    injection: str
    vcpus: int
    pin: list[int]
    exits: dict[str, int]
    assigned_interrupts: int
    assigned_exits: int
    latency: Histogram
    guest_work_share: float | None
    pir_coalesced: int | None = None
    counters: CounterSnapshot | None = None

    def to_json(self) -> dict[str, Any]:
        n = self.assigned_interrupts
        return {
            "injection": self.injection,
            "vcpus": self.vcpus,
            "pin": list(self.pin),
            "exits": dict(self.exits),
            "exits_total": sum(self.exits.values()),
            "assigned_interrupts": n,
            "assigned_exits": self.assigned_exits,
            "exits_per_device_interrupt": self.assigned_exits / n if n else None,
            "latency_ns": self.latency.summary(),
            "guest_work_share": self.guest_work_share,
            "pir_coalesced": self.pir_coalesced,
            "counters": {} if self.counters is None
            else {k: _row_json(r) for k, r in self.counters.rows.items()},
        }


@dataclass
class Report:
    """Everything one run, trace or pair of snapshots produced."""

    source: str  # "simulation" | "trace" | "snapshot"
    cpus: int
    seed: int | None = None
    duration_ns: int | None = None
    interval_s: float | None = None
    counters: CounterSnapshot | None = None
    stats: IrqStats | None = None
    warnings: list[ReportWarning] = field(default_factory=list)
    cpu_time_ns: dict[int, dict[str, int]] | None = None
    results: list[dict] | None = None
    #: the receive path of each NIC device (``irqlab.machine.netdev``): rates,
    #: drops, time shares and a ``latency_ns`` distribution object, by device
    rx: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the placement policy when one acts (``[irqbalance]``): moves, final CPUs
    placement: dict[str, Any] | None = None
    title: str = ""
    #: kernel log lines (time_ns, text) the source produced, oldest first
    log: list[tuple[int, str]] = field(default_factory=list)
    #: damaged or incomplete input lines the reader left out
    skipped_lines: int = 0
    #: interrupt rate over time (kept when a picture of it is asked for)
    timeline: RateTimeline | None = None
    #: each IOMMU fault of a simulated machine with an IOMMU, linked to the
    #: driver call that caused it (None: no IOMMU; the key is then left out)
    iommu_faults: list[dict[str, Any]] | None = None
    #: the guests of a simulated host, by name
    vms: dict[str, VmReport] = field(default_factory=dict)

    def span_s(self) -> float | None:
        """Seconds the counts cover: the snapshot interval when known, else the
        simulated or traced duration, else the stats' first-to-last event."""
        if self.interval_s:
            return self.interval_s
        if self.duration_ns:
            return self.duration_ns / 1e9
        if self.stats is not None and self.stats.span_ns > 0:
            return self.stats.span_ns / 1e9
        return None

    def counter_snapshot(self) -> CounterSnapshot | None:
        """The /proc-like counters: the given snapshot, else derived from stats."""
        if self.counters is not None:
            return self.counters
        if self.stats is not None:
            return build_counters(self.stats)
        return None

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form; the keys are a contract other tools read.  Each
        distribution (the keys of :data:`DISTRIBUTIONS`, label -> object) is
        :meth:`Histogram.summary`: ``count``, ``mean``, ``p50``, ``p90``, ``p99``,
        ``p999``, ``p9999``, ``max`` and ``buckets`` ``[low_ns, high_ns, count]``
        (``high_ns`` inclusive; fixed bounds, so runs merge by adding counts)."""
        snap = self.counter_snapshot()
        stats = self.stats
        span = self.span_s()
        out: dict[str, Any] = {
            "source": self.source,
            "title": self.title,
            "log": [{"time_ns": t, "line": line} for t, line in self.log],
            "cpus": self.cpus,
            "seed": self.seed,
            "duration_ns": self.duration_ns,
            "interval_s": self.interval_s,
            "skipped_lines": self.skipped_lines,
            "counters": {} if snap is None else {k: _row_json(r) for k, r in snap.rows.items()},
            "softirqs": {}
            if snap is None
            else {k: {"per_cpu": list(v), "total": sum(v)} for k, v in snap.softirqs.items()},
            "irq_per_s": {}
            if snap is None or span is None
            else {k: r.total / span for k, r in snap.rows.items()},
        }
        if stats is None:
            out.update(
                {key: {} for key in DISTRIBUTIONS},
                hardirq_time_ns=None, softirq_time_ns=None, hardirq_cpu_share=None,
                nested={}, storm_suspects=[],
            )
        else:
            out.update(
                **{key: _summaries(hists) for key, hists in distributions(stats).items()},
                hardirq_time_ns=list(stats.hardirq_time_ns),
                softirq_time_ns=list(stats.softirq_time_ns),
                hardirq_cpu_share=hardirq_cpu_share(stats, span),
                nested=dict(stats.nested),
                storm_suspects=[
                    {"irq": int(label), "unhandled": bad, "total": total}
                    for label, bad, total in stats.storm_suspects()
                ],
            )
        out["warnings"] = [
            {"kind": w.kind, "irq": w.irq, "time_ns": w.time_ns, "message": w.message}
            for w in self.warnings
        ]
        out["cpu_time_ns"] = (
            None
            if self.cpu_time_ns is None
            else {str(cpu): dict(times) for cpu, times in self.cpu_time_ns.items()}
        )
        out["results"] = self.results
        out["rx"] = self.rx
        out["placement"] = self.placement
        if self.iommu_faults is not None:
            out["iommu_faults"] = self.iommu_faults
        if self.vms:  # a host with guests (absent otherwise)
            out["vms"] = {name: vm.to_json() for name, vm in self.vms.items()}
        return out


DISTRIBUTIONS: dict[str, str] = {
    "latency_ns": "Latency assert->entry",
    "handler_ns": "Hard-IRQ handler time (entry->exit per action)",
    "softirq_latency_ns": "Softirq latency raise->entry",
    "softirq_ns": "Softirq run time (entry->exit)",
    "end_to_end_ns": "End to end (device request->bottom half done)",
}
"""The distributions of a report: JSON key -> title.  Keyed by IRQ label, except
those of :data:`BY_SOFTIRQ`."""
BY_SOFTIRQ = frozenset({"softirq_latency_ns", "softirq_ns"})
"""The distributions keyed by softirq name (``NET_RX``), not by IRQ label."""


def distributions(stats: IrqStats) -> dict[str, dict[str, Histogram]]:
    """The histograms of :data:`DISTRIBUTIONS` in ``stats``, by JSON key."""
    return {key: getattr(stats, key) for key in DISTRIBUTIONS}


def hardirq_cpu_share(stats: IrqStats, span_s: float | None) -> list[float] | None:
    """Fraction (0..1) of each CPU's time spent in hard-IRQ context."""
    if not span_s:
        return None
    return [min(ns / 1e9 / span_s, 1.0) for ns in stats.hardirq_time_ns]


def _summaries(hists: dict[str, Histogram]) -> dict[str, dict[str, object]]:
    return {k: h.summary() for k, h in hists.items()}


def trigger_and_flow(row: CounterRow) -> tuple[str | None, str | None]:
    """``(Level/Edge column or None, flow name or None)`` of a row.  A parser of a
    layout without the Level/Edge column may keep the flow suffix ("edge",
    "fasteoi") in ``trigger``; it is read as the flow then."""
    if row.trigger in ("Level", "Edge"):
        return row.trigger, row.flow
    return None, row.flow if row.flow is not None else row.trigger


def _row_json(row: CounterRow) -> dict[str, Any]:
    level, flow = trigger_and_flow(row)
    return {
        "name": row.name,
        "per_cpu": list(row.per_cpu),
        "total": row.total,
        "chip": row.chip,
        "hwirq": row.hwirq,
        "trigger": level if level is not None else flow,
        "flow": flow,
        "handlers": None if row.handlers is None else list(row.handlers),
    }


def build_counters(stats: IrqStats) -> CounterSnapshot:
    """/proc/interrupts- and /proc/softirqs-like counters derived from a trace:
    numbered IRQs ascending with their action names, then the vector rows in
    arch_show_interrupts order; all softirq vectors once any softirq was seen."""
    snap = CounterSnapshot(cpus=stats.cpus, ts_ns=stats.last_ts)
    numbered = sorted((k for k in stats.counts if k.isdigit()), key=int)
    others = sorted(
        (k for k in stats.counts if not k.isdigit()),
        key=lambda k: (list(X86_ROWS).index(k) if k in X86_ROWS else len(X86_ROWS), k),
    )
    for label in numbered:
        handlers = list(stats.names[label])
        snap.rows[label] = CounterRow(
            label, list(stats.counts[label]), name=", ".join(handlers), handlers=handlers
        )
    for label in others:
        per_cpu = list(stats.counts[label])
        if label in GLOBAL_ROWS:
            per_cpu = [sum(per_cpu)]
        snap.rows[label] = CounterRow(label, per_cpu, name=X86_ROWS.get(label) or label)
    if stats.softirq_counts:
        for name in SOFTIRQ_NAMES:
            snap.softirqs[name] = list(stats.softirq_counts.get(name, [0] * stats.cpus))
    return snap


