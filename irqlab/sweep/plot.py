"""Sweep metrics against each axis, with 95 % confidence bands across seeds,
as one self-contained HTML file: matplotlib figures (object API) inlined as
SVG by :func:`irqlab.report.plots.svg_markup`, as the run report does.

A metric is a results column or a shell-style pattern of columns
(``latency_ns.*.p99``); the default is the hard-IRQ p99 latency of every IRQ
and the hard-IRQ share of every CPU.  Against one axis, each combination of
the other axes' values is its own line.  Durations and rates on an axis are
placed by their value (ns, events/s), other text in the order given.
"""

from __future__ import annotations

import fnmatch
import html
from collections.abc import Sequence
from typing import Any

from irqlab.report.html import document
from irqlab.report.plots import Chart, new_figure, svg_markup
from irqlab.sweep.point import Row
from irqlab.sweep.spec import Grid
from irqlab.sweep.table import aggregate
from irqlab.units import UnitError, parse_duration, parse_rate

DEFAULT_METRICS = ("latency_ns.*.p99", "hardirq_cpu_share.*")

_STYLE = ("body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; } "
          "figure.chart { display: inline-block; margin: 1em; } "
          "figure.chart svg { max-width: 100%; height: auto; }")


def metric_columns(rows: Sequence[Row], patterns: Sequence[str]) -> list[str]:
    """The numeric result columns matching ``patterns``, in column order."""
    names = list(dict.fromkeys(k for row in rows for k in row))
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def position(value: Any) -> tuple[float, str] | None:
    """Where an axis value sits on a numeric x axis, and its unit ("" for a
    plain number); None when it is not a number or a quantity."""
    if isinstance(value, int | float):
        return float(value), ""
    if isinstance(value, str):
        for parse, unit in ((parse_duration, "ns"), (parse_rate, "events/s")):
            try:
                return float(parse(value)), unit
            except UnitError:
                pass
    return None


def charts(rows: Sequence[Row], grid: Grid, patterns: Sequence[str]) -> list[Chart]:
    """One chart per (axis, metric), axis-major."""
    axes = [a.path for a in grid.axes]
    agg, _ = aggregate(rows, axes)
    out = []
    for i, axis in enumerate(grid.axes):
        for j, metric in enumerate(metric_columns(rows, patterns or DEFAULT_METRICS)):
            fig = new_figure(6.4, 3.6)
            _draw(fig.add_subplot(), agg, axis.path, axis.values,
                  [a for a in axes if a != axis.path], metric)
            out.append(Chart(f"sweep-{i}-{j}", f"{metric} against {axis.path}", fig))
    return out


def html_page(rows: Sequence[Row], grid: Grid, patterns: Sequence[str]) -> str:
    """The self-contained page: each chart inlined as SVG (no script, nothing loaded)."""
    drawn = charts(rows, grid, patterns)
    parts = [f"<p>{len(rows)} runs; bands are 95 % confidence intervals of the mean across "
             "seeds (Student's t).</p>"]
    if not grid.axes:
        parts.append("<p>No axis: the sweep varies only the seed.</p>")
    elif not drawn:
        parts.append(f"<p>No results column matches {html.escape(', '.join(patterns))}.</p>")
    parts += [f'<figure class="chart" id="chart-{c.id}">{svg_markup(c)}'
              f"<figcaption>{html.escape(c.title)}</figcaption></figure>" for c in drawn]
    return document("irqlab sweep", ["<h1>irqlab sweep</h1>", *parts], _STYLE)


def _draw(ax: Any, agg: Sequence[Row], axis: str, values: Sequence[Any], others: Sequence[str],
          metric: str) -> None:
    from irqlab.sweep.point import cell

    cells = [cell(v) for v in values]
    places = [position(v) for v in values]
    units = {p[1] for p in places if p is not None}
    numeric = None not in places and len(units) == 1
    xs = dict(zip(cells, [p[0] for p in places if p is not None] if numeric else range(len(cells)),
                  strict=True))
    lines: dict[tuple[Any, ...], list[Row]] = {}
    for row in agg:
        lines.setdefault(tuple(row.get(o) for o in others), []).append(row)
    for fixed, members in lines.items():
        pts = sorted((xs[r[axis]], r) for r in members
                     if r.get(axis) in xs and r.get(f"{metric}.mean") is not None)
        if not pts:
            continue
        x = [p for p, _ in pts]
        label = ", ".join(f"{o}={v}" for o, v in zip(others, fixed, strict=True)) or None
        ax.plot(x, [r[f"{metric}.mean"] for _, r in pts], marker="o", label=label)
        low = [r[f"{metric}.ci95_low"] for _, r in pts]
        high = [r[f"{metric}.ci95_high"] for _, r in pts]
        if all(v is not None for v in (*low, *high)):
            ax.fill_between(x, low, high, alpha=0.25)
    if not numeric:
        ax.set_xticks(range(len(cells)), [str(c) for c in cells])
    unit = units.pop() if numeric and units else ""
    ax.set_xlabel(f"{axis} ({unit})" if unit else axis)
    ax.set_ylabel(metric)
    if others and len(lines) > 1:
        ax.legend(fontsize="small")
