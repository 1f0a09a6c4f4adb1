"""The human-readable report printed by ``irqlab run`` and ``irqlab report``.

Plain monospaced text, rendered from :meth:`Report.to_json` so that the text and
the JSON never disagree.  Times are stored in ns and printed in microseconds,
with the unit in the column name (``p99_us``), as bcc's tools do.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from irqlab.analysis.report import BY_NAME, DISTRIBUTIONS, Report
from irqlab.osview import OsView
from irqlab.report.dmesg import dmesg_text
from irqlab.report.ostables import Block, os_blocks
from irqlab.report.procfs import render_interrupts

DEFAULT_WIDTH = 100


def _us(ns: float) -> str:
    return f"{ns / 1000:.3f}"


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """Aligned columns under a dashed rule: the first ``left`` columns are
    left-aligned text, the others right-aligned numbers."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if i < left else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _columns_table(index: str, columns: dict[str, list]) -> str:
    """A table of equal-length columns, one row per position (queue or CPU)."""
    keys = list(columns)
    n = len(columns[keys[0]]) if keys else 0
    return format_table([index, *keys], [[i, *(columns[k][i] for k in keys)] for i in range(n)],
                        left=0)


def _section(title: str, body: str) -> str:
    return f"{title}\n{body.rstrip()}\n"


def _names(data: dict[str, Any]) -> dict[str, str]:
    return {label: row["name"] or "" for label, row in data["counters"].items()}


def _header(report: Report, width: int) -> str:
    title = report.title or f"irqlab report ({report.source})"
    facts = [f"source: {report.source}", f"cpus: {report.cpus}"]
    if report.seed is not None:
        facts.append(f"seed: {report.seed}")
    if report.duration_ns is not None:
        facts.append(f"duration_us: {_us(report.duration_ns)}")
    if report.interval_s is not None:
        facts.append(f"interval_s: {report.interval_s:g}")
    if report.stats is not None and report.stats.unmatched:
        facts.append(f"unmatched_events: {report.stats.unmatched}")
    return f"{title}\n{'=' * min(len(title), width)}\n" + "  ".join(facts) + "\n"


def _latency_sections(data: dict[str, Any], names: dict[str, str]) -> list[str]:
    out = []
    if data["irq_per_s"]:
        rows = [
            [label, names.get(label, ""), data["counters"][label]["total"], rate]
            for label, rate in data["irq_per_s"].items()
            if data["counters"][label]["total"]
        ]
        out.append(_section("Interrupt rate", format_table(["irq", "name", "total", "per_s"],
                                                           rows, left=2)))
    order = {label: i for i, label in enumerate(names)}
    cols = ["count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"]
    for key, title in DISTRIBUTIONS.items():
        hists = data.get(key)
        if not hists:
            continue
        per_irq = key not in BY_NAME
        labels = sorted(hists, key=lambda k: order.get(k, len(order))) if per_irq else hists
        rows = [
            ([label, names.get(label, "")] if per_irq else [label])
            + [hists[label]["count"]]
            + [_us(hists[label][c.removesuffix("_us")]) for c in cols[1:]]
            for label in labels
        ]
        head = ["irq", "name"] if per_irq else [
            {"softirq": "vec", "dpc": "routine"}.get(BY_NAME[key], BY_NAME[key])]
        out.append(_section(title, format_table(head + cols, rows, left=len(head))))
    return out


def interrupt_time_rows(report: Report, data: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The per-CPU interrupt-time table (headers in the OS's terms, rows in
    us), from the report's one source (:meth:`Report.interrupt_time_ns`)."""
    view: OsView = report.view
    hard, bottom = view.term("hardirq"), view.term("softirq")
    times, share = data[f"{hard}_time_ns"], data[f"{hard}_cpu_share"]
    if times is None:
        return [], []
    soft = data[f"{bottom}_time_ns"]
    rows = [[cpu, _us(times[cpu]), _us(soft[cpu]),
             "-" if share is None else f"{share[cpu] * 100:.2f}"] for cpu in range(len(times))]
    return ["cpu", f"{hard}_us", f"{bottom}_us", f"{hard}_cpu_pct"], rows


def cpu_time_rows(report: Report) -> tuple[list[str], list[list[Any]]]:
    """The /proc/stat-like CPU time table, columns in the OS's terms."""
    if not report.cpu_time_ns:
        return [], []
    kinds = ("user", "system", "irq", "softirq", "idle")
    rows = [[cpu] + [_us(times.get(k, 0)) for k in kinds]
            for cpu, times in sorted(report.cpu_time_ns.items())]
    return ["cpu"] + [f"{report.view.term(k)}_us" for k in kinds], rows


def _cpu_sections(report: Report, data: dict[str, Any]) -> list[str]:
    out = []
    head, rows = interrupt_time_rows(report, data)
    if rows:
        out.append(_section("Time in interrupt context per CPU", format_table(head, rows)))
    head, rows = cpu_time_rows(report)
    if rows:
        out.append(_section("CPU time", format_table(head, rows)))
    return out


def _block(block: Block) -> str:
    if not block.headers:
        return _section(block.title, block.text)
    return _section(block.title, format_table(block.headers, block.rows, left=block.left))


def _problem_sections(data: dict[str, Any], names: dict[str, str], width: int) -> list[str]:
    out = []
    nested = {k: v for k, v in data["nested"].items() if v}
    if nested:
        rows = [[label, names.get(label, ""), n] for label, n in nested.items()]
        out.append(_section("Nested interrupts (entered while another hard IRQ ran)",
                            format_table(["irq", "name", "nested"], rows, left=2)))
    if data["storm_suspects"]:
        rows = [
            [s["irq"], names.get(str(s["irq"]), ""), s["unhandled"], s["total"],
             f"{s['unhandled'] / s['total'] * 100:.1f}"]
            for s in data["storm_suspects"]
        ]
        out.append(_section("Storm suspects (interrupts no handler claimed)",
                            format_table(["irq", "name", "unhandled", "total", "unhandled_pct"],
                                         rows, left=2)))
    if data["rx"]:
        cols = ("offered_pps", "delivered_pps", "irq_per_s", "drop_ring_pps", "drop_backlog_pps",
                "drop_socket_pps", "time_squeeze", "latency_p50_us", "latency_p99_us")
        rows = [[name, *(rx[c] for c in cols)] for name, rx in data["rx"].items()]
        out.append(_section("Receive path (device.nic; rates from its warm-up on)",
                            format_table(["nic", *cols], rows, left=1)))
    for dev, rx in data["rx"].items():
        out.append(_section(
            f"{dev}: receive queues (imbalance {rx['queue_imbalance']:.2f} = max/mean)",
            _columns_table("queue", rx["queues"])))
        out.append(_section(
            f"{dev}: CPUs (NET_RX imbalance {rx['cpu_imbalance']:.2f}; RFS flow switches "
            f"{rx['rfs_flow_switches']}, RSS rebalances {rx['rss_rebalances']})",
            _columns_table("cpu", rx["cpus"])))
    bal = data["placement"]
    if bal:
        out.append(_section(f"Placement ({bal['policy']}): {bal['passes']} passes, {bal['moves']} "
                            f"moves, {bal['refused']} refused", format_table(
                                ["irq", "cpu"], [[irq, cpu] for irq, cpu in bal["placement"].items()],
                                left=0)))
    if data["results"]:
        keys: list[str] = []
        for row in data["results"]:
            keys.extend(k for k in row if k not in keys)
        out.append(_section("Results", format_table(
            keys, [[row.get(k) for k in keys] for row in data["results"]], left=0)))
    if data.get("iommu_faults"):
        out.append(_section("IOMMU faults (each linked to the driver call behind it)",
                            _iommu_faults_table(data["iommu_faults"])))
    if data["warnings"]:
        lines = []
        for w in data["warnings"]:
            where = "".join(
                [f" t={_us(w['time_ns'])}us" if w["time_ns"] is not None else "",
                 f" irq={w['irq']}" if w["irq"] is not None else ""]
            )
            # A multi-line message (a kernel report) keeps its lines, each wrapped.
            first, *rest = f"[{w['kind']}]{where}: {w['message']}".split("\n")
            lines.append(textwrap.fill(first, width, subsequent_indent="    "))
            lines += [textwrap.fill(part, width, initial_indent="    ", subsequent_indent="      ")
                      for part in rest]
        out.append(_section("Warnings", "\n".join(lines)))
    return out


def _iommu_faults_table(faults: list[dict[str, Any]]) -> str:
    """One row per folded fault: the device, what the IOMMU said, how often, the
    first request's address and time, and the driver call behind it."""
    rows = []
    for f in faults:
        first = f["first"]
        cause = first["cause"]
        mistake = f["mistake"]
        rows.append([
            f["device"], f["access"], first["address"] or f"irte {first['irte_index']}",
            f"{f['reason_code']} {f['reason']}", _us(first["time_ns"]), f["count"],
            f"{cause['call']} t={_us(cause['time_ns'])}us" if cause else "",
            f"fault[{mistake['fault']}] {mistake['kind']}" if mistake else ""])
    return format_table(["device", "access", "first_address", "reason", "first_us", "count", "cause",
                         "mistake"], rows, left=2)


def _vm_sections(report: Report, data: dict[str, Any]) -> list[str]:
    """Per guest: its exits by reason, what its assigned devices cost, and its
    own /proc/interrupts."""
    out = []
    for name, vm in data.get("vms", {}).items():
        lat = vm["latency_ns"]
        per = vm["exits_per_device_interrupt"]
        share = vm["guest_work_share"]
        facts = [f"injection: {vm['injection']}", f"vcpus: {vm['vcpus']} on CPU "
                 + ",".join(str(c) for c in vm["pin"]),
                 f"assigned_interrupts: {vm['assigned_interrupts']}",
                 f"exits_per_device_interrupt: {'-' if per is None else f'{per:.3f}'}",
                 f"guest_work_pct: {'-' if share is None else f'{share * 100:.2f}'}"]
        if vm["pir_coalesced"] is not None:
            facts.append(f"pir_coalesced: {vm['pir_coalesced']}")
        body = ["  ".join(facts)]
        exits = [[reason, n] for reason, n in vm["exits"].items()]
        body.append(format_table(["exit_reason", "count"], [*exits, ["total", vm["exits_total"]]]))
        if lat["count"]:
            cols = ["count", "mean_us", "p50_us", "p99_us", "max_us"]
            body.append("Guest-visible latency (device request -> guest handler entry)\n"
                        + format_table(cols, [[lat["count"]] + [_us(lat[c.removesuffix("_us")])
                                                              for c in cols[1:]]], left=0))
        snap = report.vms[name].counters
        if snap is not None and snap.rows:
            body.append(f"/proc/interrupts ({name})\n" + render_interrupts(snap).rstrip())
        out.append(_section(f"VM {name}", "\n\n".join(body)))
    return out


LOG_TAIL = 20  # kernel log lines the text report shows (all are in --json and --dmesg)


def render_text(report: Report, width: int | None = None) -> str:
    """The full human report of ``report``; ``width`` wraps prose (warnings)
    and the title rule, never the /proc tables, which stay byte-exact."""
    width = width or DEFAULT_WIDTH
    data = report.to_json()
    names = _names(data)
    parts = [_header(report, width)]
    parts += [_block(b) for b in os_blocks(report, data)]
    parts += _latency_sections(data, names)
    parts += _cpu_sections(report, data)
    parts += _vm_sections(report, data)
    parts += _problem_sections(data, names, width)
    if report.log:
        tail = report.log[-LOG_TAIL:]
        more = f" (last {LOG_TAIL} of {len(report.log)})" if len(report.log) > LOG_TAIL else ""
        parts.append(_section(f"Kernel log{more}", dmesg_text(tail).rstrip("\n")))
    return "\n".join(parts)
