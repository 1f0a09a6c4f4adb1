"""The report's charts as matplotlib figures, shared by the HTML report
(inline SVG) and ``--png DIR``.

matplotlib was chosen over plotly or bokeh on merit: its SVG output is static
markup that a page can inline with no script and no network (plotly inlines
~3.5 MB of JavaScript per page), the same figure also renders to PNG for
papers and bug reports, and the ``Agg``/SVG backends need no display.  It is an
optional extra (``pip install 'irqlab[plot]'``), imported only when a picture
is asked for (:mod:`irqlab.report.extras`); figures are built with the object API (``Figure``), never
pyplot's global state.

Histograms are drawn from the report's distribution objects (``buckets``:
``[low_ns, high_ns, count]``) on a log time axis, regrouped into quarter
octaves (each bucket's count goes to the quarter octave of its midpoint).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from irqlab.analysis.report import DISTRIBUTIONS, Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CPU_TIME_KINDS = ("user", "system", "irq", "softirq", "idle")
"""/proc/stat columns drawn per CPU (fs/proc/stat.c), in stacking order."""

BUSIEST = 8  # rows drawn per chart (the most samples or interrupts), so legends stay legible
QUARTERS = 4  # histogram bins per power of two


@dataclass
class Chart:
    """One picture: a stable id (the PNG file name), a title and its figure;
    ``key``: the report's JSON key of the distributions it draws, if any."""

    id: str
    title: str
    figure: Figure
    key: str | None = None


def charts(report: Report) -> list[Chart]:
    """Every chart the report has data for, in page order."""
    data = report.to_json()
    out = list(_distribution_charts(data))
    for make in (_cpu_time_chart, _rate_chart, _irq_cpu_chart, _delivered_chart,
                 _coalescing_chart):
        chart = make(report, data)
        if chart is not None:
            out.append(chart)
    return out


def new_figure(width: float = 7.5, height: float = 3.4) -> Figure:
    """A matplotlib figure (object API, no pyplot state) of every irqlab chart:
    ``width`` x ``height`` inches at 100 dpi, constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _of(drawn: int, total: int) -> str:
    return f" (busiest {drawn} of {total})" if drawn < total else ""


def _log_x(ax: Any) -> None:
    """Log x axis labelled at 1, 2 and 5 times each power of ten, as plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.xaxis.set_minor_formatter(plain)


def row_label(label: str, data: dict[str, Any]) -> str:
    """``"24 eth0-0"`` for an IRQ row with a name, else the label (``NET_RX``)."""
    row = data["counters"].get(label)
    name = row["name"] if row else None
    return f"{label} {name}" if name and name != label else label


# -- distributions ----------------------------------------------------------------


def sampled(data: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """The report's distribution objects of ``key`` (JSON form) that hold samples."""
    return {label: d for label, d in (data.get(key) or {}).items() if d["count"]}


def quarter_octaves(buckets: list[list[int]]) -> tuple[list[float], list[int]]:
    """Regroup ``[low_ns, high_ns, count]`` buckets into quarter-octave bins:
    ``(edges in us, counts)``, ``len(edges) == len(counts) + 1``; a bucket
    counts in the bin holding its midpoint (values below 1 ns in the first)."""
    bins: dict[int, int] = {}
    for low, high, count in buckets:
        mid = max((low + high) / 2, 1.0)
        k = math.floor(math.log2(mid) * QUARTERS)
        bins[k] = bins.get(k, 0) + count
    if not bins:
        return [], []
    lo, hi = min(bins), max(bins)
    edges = [2 ** (k / QUARTERS) / 1000 for k in range(lo, hi + 2)]
    return edges, [bins.get(k, 0) for k in range(lo, hi + 1)]


def _distribution_charts(data: dict[str, Any]) -> Iterator[Chart]:
    """One chart per distribution of the report (:data:`DISTRIBUTIONS`), each
    row's histogram a stair line, the x axis log time."""
    for key, title in DISTRIBUTIONS.items():
        dists = sampled(data, key)
        if not dists:
            continue
        fig = new_figure()
        ax = fig.add_subplot()
        busiest = sorted(dists, key=lambda k: -dists[k]["count"])[:BUSIEST]
        for label in busiest:
            dist = dists[label]
            edges, counts = quarter_octaves(dist["buckets"])
            ax.stairs(counts, edges, label=f"{row_label(label, data)} (n={dist['count']})",
                      linewidth=1.5)
        _log_x(ax)
        ax.set_xlabel("us (log scale)")
        ax.set_ylabel("count")
        ax.set_title(title + _of(len(busiest), len(dists)))
        ax.legend(fontsize="small", loc="best")
        ax.grid(True, which="major", alpha=0.3)
        yield Chart(f"hist-{key.removesuffix('_ns').replace('_', '-')}", title, fig, key)


# -- CPU time and rates ---------------------------------------------------------------


def cpu_time_shares(report: Report, data: dict[str, Any]) -> dict[str, list[float]] | None:
    """Per context, the share (0..1) of each CPU's time: the run's /proc/stat-like
    times when the source has them, else the traced hard-IRQ and softirq time
    with the rest of the span as ``other``.  Keys are the generic contexts."""
    if report.cpu_time_ns:
        cpus = sorted(report.cpu_time_ns)
        totals = [sum(report.cpu_time_ns[c].values()) or 1 for c in cpus]
        return {kind: [report.cpu_time_ns[c].get(kind, 0) / t for c, t in zip(cpus, totals, strict=True)]
                for kind in CPU_TIME_KINDS}
    span = report.span_s()
    times = report.interrupt_time_ns()
    if times is None or not span:
        return None
    hard, soft = times
    span_ns = span * 1e9
    irq = [min(h / span_ns, 1.0) for h in hard]
    softirq = [min(s / span_ns, 1.0 - i) for s, i in zip(soft, irq, strict=True)]
    return {"irq": irq, "softirq": softirq,
            "other": [1.0 - i - s for i, s in zip(irq, softirq, strict=True)]}


_CONTEXT_COLOURS = {"user": "#4c72b0", "system": "#55a868", "irq": "#c44e52",
                    "softirq": "#dd8452", "idle": "#d0d0d0", "other": "#d0d0d0"}


def _cpu_time_chart(report: Report, data: dict[str, Any]) -> Chart | None:
    shares = cpu_time_shares(report, data)
    if shares is None:
        return None
    ncpu = len(next(iter(shares.values())))
    fig = new_figure(height=max(1.6, 0.45 * ncpu + 1.2))
    ax = fig.add_subplot()
    left = [0.0] * ncpu
    ys = list(range(ncpu))
    for kind, values in shares.items():
        ax.barh(ys, [v * 100 for v in values], left=[x * 100 for x in left],
                label=report.view.term(kind), color=_CONTEXT_COLOURS[kind])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(ys, [f"CPU{c}" for c in ys])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of CPU time")
    ax.set_title("CPU time per CPU")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return Chart("cpu-time", "CPU time per CPU", fig)


def _rate_chart(report: Report, data: dict[str, Any]) -> Chart | None:
    if report.timeline is None:
        return None
    times, rows = report.timeline.per_second(
        None if report.duration_ns is None else (report.timeline.start_ns or 0) + report.duration_ns)
    if not rows:
        return None
    busiest = sorted(rows, key=lambda k: -sum(rows[k]))[:BUSIEST]
    width = report.timeline.bin_ns / 1e9
    fig = new_figure()
    ax = fig.add_subplot()
    edges = [*times, times[-1] + width]
    for label in busiest:
        ax.stairs(rows[label], edges, label=row_label(label, data), linewidth=1.5)
    ax.set_xlabel(f"time (s; bins of {width * 1e6:g} us)")
    ax.set_ylabel("interrupts/s")
    ax.set_title("Interrupt rate over time" + _of(len(busiest), len(rows)))
    ax.legend(fontsize="small", loc="best")
    ax.grid(True, alpha=0.3)
    return Chart("irq-rate", "Interrupt rate over time", fig)


HEATMAP_ROWS = 16  # busiest /proc/interrupts rows in the IRQ x CPU map


def _irq_cpu_chart(report: Report, data: dict[str, Any]) -> Chart | None:
    """Where each IRQ is served: its /proc/interrupts counts (per second when the
    span is known) per CPU, busiest rows first, on a log colour scale."""
    rows = {label: row for label, row in data["counters"].items()
            if row["total"] and len(row["per_cpu"]) > 1}
    if not rows:
        return None
    from matplotlib.colors import LogNorm

    busiest = sorted(rows, key=lambda k: -rows[k]["total"])[:HEATMAP_ROWS]
    span = report.span_s()
    scale = 1 / span if span else 1
    ncpu = max(len(rows[label]["per_cpu"]) for label in busiest)
    grid = [[c * scale if c else float("nan") for c in rows[label]["per_cpu"]]
            + [float("nan")] * (ncpu - len(rows[label]["per_cpu"])) for label in busiest]
    fig = new_figure(height=max(2.0, 0.28 * len(busiest) + 1.4))
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", cmap="viridis", norm=LogNorm(),
                      interpolation="nearest")
    ax.set_yticks(range(len(busiest)), [row_label(label, data) for label in busiest],
                  fontsize="small")
    step = max(1, ncpu // 16)
    ax.set_xticks(range(0, ncpu, step), [str(c) for c in range(0, ncpu, step)])
    ax.set_xlabel("CPU")
    title = "Interrupts per IRQ and CPU" + _of(len(busiest), len(rows))
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="interrupts/s" if span else "interrupts")
    return Chart("irq-cpu", "Interrupts per IRQ and CPU", fig)


# -- experiment curves -------------------------------------------------------------------


def _by_mode(results: list[dict[str, Any]], x: str, ys: tuple[str, ...]
             ) -> dict[str, list[dict[str, Any]]]:
    """Result rows with numeric ``x`` and ``ys``, grouped by ``mode``, sorted by ``x``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in results:
        if all(isinstance(row.get(k), int | float) for k in (x, *ys)):
            out.setdefault(str(row.get("mode", "")), []).append(row)
    return {m: sorted(rows, key=lambda r: r[x]) for m, rows in out.items()}


def _delivered_chart(report: Report, data: dict[str, Any]) -> Chart | None:
    """Delivered vs offered load per mode (receive livelock, Mogul & Ramakrishnan 1997)."""
    modes = _by_mode(report.results or [], "offered_pps", ("delivered_pps",))
    if all(len({r["offered_pps"] for r in rows}) < 2 for rows in modes.values()):
        return None  # no mode was measured at two loads: no curve
    fig = new_figure()
    ax = fig.add_subplot()
    top = max(r["offered_pps"] for rows in modes.values() for r in rows)
    ax.plot([0, top], [0, top], color="#999999", linestyle=":", label="ideal")
    for mode, rows in modes.items():
        ax.plot([r["offered_pps"] for r in rows], [r["delivered_pps"] for r in rows],
                marker="o", label=mode)
    return _curve(fig, ax, "curve-delivered", "Delivered vs offered load",
                  "offered load (packets/s)", "delivered (packets/s)")


def _coalescing_chart(report: Report, data: dict[str, Any]) -> Chart | None:
    """Latency vs interrupt coalescing (rx-usecs); modes without a numeric
    setting (adaptive) as horizontal lines."""
    results = report.results or []
    ys = ("latency_p50_us", "latency_p99_us")
    static = _by_mode(results, "rx_usecs", ys)
    if not static:
        return None
    fig = new_figure()
    ax = fig.add_subplot()
    for mode, rows in static.items():
        for y, style in zip(ys, ("-", "--"), strict=True):
            ax.plot([r["rx_usecs"] for r in rows], [r[y] for r in rows], marker="o",
                    linestyle=style, label=f"{mode} {y.removeprefix('latency_').removesuffix('_us')}")
    for row in results:
        if not isinstance(row.get("rx_usecs"), int | float):
            for y, style in zip(ys, ("-", "--"), strict=True):
                if isinstance(row.get(y), int | float):
                    ax.axhline(row[y], linestyle=style, color="#8172b3", linewidth=1,
                               label=f"{row.get('mode', row.get('rx_usecs'))} "
                                     f"{y.removeprefix('latency_').removesuffix('_us')}")
    _log_x(ax)
    return _curve(fig, ax, "curve-coalescing", "Latency vs interrupt coalescing",
                  "rx-usecs (log scale)", "latency (us)")


def _curve(fig: Any, ax: Any, chart_id: str, title: str, xlabel: str, ylabel: str) -> Chart:
    """An experiment's curve chart, labelled, with its legend and grid."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return Chart(chart_id, title, fig)


# -- output --------------------------------------------------------------------------------


_SVG_ID = re.compile(r'(\bid="|url\(#|href="#)([^"\)]+)')


def svg_markup(chart: Chart) -> str:
    """The chart as an ``<svg>`` element to inline in HTML: text kept as text,
    every id (and each reference to one) prefixed with the chart id, so that
    several charts on one page never share one, and a fixed hash salt and no
    date (matplotlib's defaults are random and the clock), so the same report
    gives the same bytes."""
    import io

    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": chart.id, "svg.fonttype": "none"}):
        chart.figure.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return _SVG_ID.sub(lambda m: f"{m[1]}{chart.id}-{m[2]}", text[text.index("<svg"):])


def write_png(chart: Chart, out: IO[bytes]) -> None:
    """The chart as a PNG image (no software tag: the same chart gives the same bytes)."""
    chart.figure.savefig(out, format="png", metadata={"Software": None})
