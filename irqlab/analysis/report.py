"""The report model shared by ``irqlab run``, ``irqlab report`` and
``irqlab replay``: what was measured, and its JSON form (a contract other tools
check, see ``to_json``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from irqlab.analysis.histogram import Histogram
from irqlab.analysis.irqstats import DURATION_CLASSES_NS, IrqStats
from irqlab.analysis.rates import RateTimeline
from irqlab.events import SOFTIRQ_NAMES, X86_ROWS, CounterRow, CounterSnapshot
from irqlab.osview import ISR_DPC, LINUX, NVIC, SOFTIRQS, OsView

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
    #: the x86 vector matrix as ``/sys/kernel/debug/irq/domains/VECTOR`` shows it
    vector_matrix: str | None = None
    #: each IOMMU fault of a simulated machine with an IOMMU, linked to the
    #: driver call that caused it (None: no IOMMU; the key is then left out)
    iommu_faults: list[dict[str, Any]] | None = None
    #: the guests of a simulated host, by name
    vms: dict[str, VmReport] = field(default_factory=dict)
    #: the OS's sections, terms and facts (a capture or trace file is Linux's)
    view: OsView = LINUX

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

    def interrupt_time_ns(self) -> tuple[list[int], list[int]] | None:
        """Per CPU, the time in hard-IRQ context and in the bottom half
        (softirqs, or DPCs): the one source every table of it reads.  A
        simulated run's CPU accounting (``cpu_time_ns``, which counts interrupt
        entry and exit as ``/proc/stat``'s irq column does) when the source has
        it, else the traced time (:class:`IrqStats`), else None."""
        if self.cpu_time_ns:
            cpus = sorted(self.cpu_time_ns)
            return ([self.cpu_time_ns[c].get("irq", 0) for c in cpus],
                    [self.cpu_time_ns[c].get("softirq", 0) for c in cpus])
        if self.stats is None:
            return None
        bottom = [s + d for s, d in zip(self.stats.softirq_time_ns, self.stats.dpc_time_ns,
                                        strict=True)]
        return list(self.stats.hardirq_time_ns), bottom

    def distributions(self) -> dict[str, str]:
        """The report's distributions (JSON key -> title): those of
        :data:`DISTRIBUTIONS` that belong to no section, and those of the
        sections its view shows (:data:`SECTION_DISTRIBUTIONS`)."""
        hidden = {k for sec, keys in SECTION_DISTRIBUTIONS.items()
                  if sec not in self.view.sections for k in keys}
        return {k: t for k, t in DISTRIBUTIONS.items() if k not in hidden}

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form; the keys are a contract other tools read.  Each
        distribution (the keys of :meth:`distributions`, label -> object) is
        :meth:`Histogram.summary`: ``count``, ``mean``, ``p50``, ``p90``, ``p99``,
        ``p999``, ``p9999``, ``max`` and ``buckets`` ``[low_ns, high_ns, count]``
        (``high_ns`` inclusive; fixed bounds, so runs merge by adding counts).
        ``os`` names the view; its terms rename the CPU-time keys (Windows:
        ``interrupt_time_ns``, ``dpc_time_ns``, ``interrupt_cpu_share``, and
        ``cpu_time_ns`` per CPU ``user``, ``privileged``, ``interrupt``, ``dpc``,
        ``idle``); the Linux sections add ``softirqs``, the Windows one
        ``isr_dpc`` (:func:`isr_dpc_json`), the Cortex-M one ``nvic``
        (the controller's counts); the README's "Each OS in its own terms"
        lists them."""
        snap = self.counter_snapshot()
        stats = self.stats
        span = self.span_s()
        view = self.view
        out: dict[str, Any] = {
            "source": self.source,
            "os": view.os,
            "title": self.title,
            "log": [{"time_ns": t, "line": line} for t, line in self.log],
            "cpus": self.cpus,
            "seed": self.seed,
            "duration_ns": self.duration_ns,
            "interval_s": self.interval_s,
            "skipped_lines": self.skipped_lines,
            "counters": {} if snap is None else {k: _row_json(r) for k, r in snap.rows.items()},
        }
        if SOFTIRQS in view.sections:
            out["softirqs"] = {} if snap is None else {
                k: {"per_cpu": list(v), "total": sum(v)} for k, v in snap.softirqs.items()}
        out["irq_per_s"] = ({} if snap is None or span is None
                            else {k: r.total / span for k, r in snap.rows.items()})
        out["proc_irq"] = {} if snap is None else {k: dict(f) for k, f in snap.irq_files.items()}
        out["vector_matrix"] = self.vector_matrix
        keys = self.distributions()
        hard, bottom = view.term("hardirq"), view.term("softirq")
        times = self.interrupt_time_ns()
        for key in keys:
            out[key] = {} if stats is None else _summaries(getattr(stats, key))
        out[f"{hard}_time_ns"] = None if times is None else times[0]
        out[f"{bottom}_time_ns"] = None if times is None else times[1]
        out[f"{hard}_cpu_share"] = None if times is None else cpu_share(times[0], span)
        out["nested"] = {} if stats is None else dict(stats.nested)
        out["storm_suspects"] = [] if stats is None else [
            {"irq": int(label), "unhandled": bad, "total": total}
            for label, bad, total in stats.storm_suspects()]
        if ISR_DPC in view.sections:
            out[ISR_DPC] = isr_dpc_json(stats, view.facts.get(ISR_DPC, {}), span)
        if NVIC in view.sections:
            out[NVIC] = view.facts.get(NVIC)
        out["warnings"] = [
            {"kind": w.kind, "irq": w.irq, "time_ns": w.time_ns, "message": w.message}
            for w in self.warnings
        ]
        out["cpu_time_ns"] = (
            None
            if self.cpu_time_ns is None
            else {str(cpu): {view.term(k): v for k, v in times_.items()}
                  for cpu, times_ in self.cpu_time_ns.items()}
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
    "irqthread_latency_ns": "IRQ thread latency wake->run",
    "irqthread_ns": "IRQ thread run time (per wake-up)",
    "tasklet_ns": "Tasklet run time (entry->exit)",
    "work_ns": "Work item run time (execute start->end)",
    "dpc_latency_ns": "DPC latency queue->run (KeInsertQueueDpc->routine)",
    "dpc_ns": "DPC run time (entry->exit)",
    "end_to_end_ns": "End to end (device request->bottom half done)",
}
"""Every distribution a report may have: JSON key -> title.  Keyed by IRQ
label, except those of :data:`BY_NAME`."""
BY_NAME: dict[str, str] = {"softirq_latency_ns": "softirq", "softirq_ns": "softirq",
                           "irqthread_latency_ns": "thread", "irqthread_ns": "thread",
                           "tasklet_ns": "tasklet", "work_ns": "function",
                           "dpc_latency_ns": "dpc", "dpc_ns": "dpc"}
"""The distributions keyed by a name (softirq ``NET_RX``, IRQ thread comm,
tasklet or work function, DPC routine), not by IRQ label: key -> what the
name is."""
SECTION_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    SOFTIRQS: ("softirq_latency_ns", "softirq_ns", "irqthread_latency_ns", "irqthread_ns",
               "tasklet_ns", "work_ns"),
    ISR_DPC: ("dpc_latency_ns", "dpc_ns")}
"""The distributions only a report showing that section has."""


def distributions(stats: IrqStats, keys: Iterable[str]) -> dict[str, dict[str, Histogram]]:
    """The histograms of ``keys`` (of :data:`DISTRIBUTIONS`) in ``stats``."""
    return {key: getattr(stats, key) for key in keys}


def cpu_share(time_ns: list[int], span_s: float | None) -> list[float] | None:
    """Fraction (0..1) of each CPU's time that ``time_ns`` is."""
    if not span_s:
        return None
    return [min(ns / 1e9 / span_s, 1.0) for ns in time_ns]


def isr_dpc_json(stats: IrqStats | None, facts: dict[str, Any],
                 span_s: float | None) -> dict[str, Any]:
    """ISRs and DPCs per driver, as WPA's DPC/ISR table and LatencyMon's
    drivers tab and report show them.  ``facts["irqs"]`` gives each interrupt
    row's ``driver`` (image name), ``isr``, ``vector`` and ``irql``,
    ``facts["dpc_irql"]`` the IRQL DPCs run at (kept as ``dpc_irql``); a DPC's
    driver is the module part of its ``module!routine`` name.  Per driver and kind
    (``isr``, ``dpc``): ``count``, ``total_ns``, ``max_ns``, ``classes`` (runs
    per LatencyMon execution-time class, bounds in ``classes_us``), and the
    rows (``irqs`` with vector and IRQL) or ``routines`` it covers; a DPC's
    ``latency`` is its queue->run summary.  ``isr`` and ``dpc`` at the top
    are the totals with the highest-running driver, as LatencyMon's report
    heads them; ``share`` is of all CPUs' time."""
    irqs: dict[str, dict[str, Any]] = facts.get("irqs", {})
    drivers: dict[str, dict[str, Any]] = {}

    def entry(driver: str, kind: str) -> dict[str, Any]:
        book = drivers.setdefault(driver, {})
        if kind not in book:
            book[kind] = {"count": 0, "total_ns": 0, "max_ns": 0,
                          "classes": [0] * (len(DURATION_CLASSES_NS) + 1)}
        return book[kind]

    def add(row: dict[str, Any], hist: Histogram, classes: list[int]) -> None:
        row["count"] += hist.count
        row["total_ns"] += hist.total
        row["max_ns"] = max(row["max_ns"], hist.max)
        row["classes"] = [a + b for a, b in zip(row["classes"], classes, strict=True)]

    if stats is not None:
        for label, fact in irqs.items():
            hist = stats.handler_ns.get(label)
            if hist is None or not hist.count:
                continue
            row = entry(fact["driver"], "isr")
            add(row, hist, stats.handler_classes(label))
            row.setdefault("irqs", []).append(
                {"irq": label, "isr": fact["isr"], "vector": fact["vector"],
                 "irql": fact["irql"], "count": hist.count})
        for name, hist in stats.dpc_ns.items():
            row = entry(name.partition("!")[0], "dpc")
            add(row, hist, stats.dpc_classes(name))
            latency = stats.dpc_latency_ns.get(name)
            row.setdefault("routines", []).append(
                {"routine": name, "count": hist.count,
                 "latency": latency.summary() if latency is not None else None})
    all_cpus_ns = (span_s or 0) * 1e9 * (stats.cpus if stats is not None else 0)
    out: dict[str, Any] = {"dpc_irql": facts.get("dpc_irql"),
                           "classes_us": [b // 1000 for b in DURATION_CLASSES_NS],
                           "drivers": dict(sorted(drivers.items()))}
    for kind in ("isr", "dpc"):
        rows = {d: book[kind] for d, book in drivers.items() if kind in book}
        total = sum(r["total_ns"] for r in rows.values())
        top = max(rows, key=lambda d: (rows[d]["max_ns"], d), default=None)
        out[kind] = {"count": sum(r["count"] for r in rows.values()), "total_ns": total,
                     "share": total / all_cpus_ns if all_cpus_ns else None,
                     "max_ns": rows[top]["max_ns"] if top else 0, "max_driver": top}
    return out


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


