"""The report as one self-contained HTML page (``--html FILE``).

Built from the report model alone (``irqlab run``, ``report``, ``replay`` and
sweeps feed it the same :class:`Report`): the charts of
:mod:`irqlab.report.plots` inlined as SVG, the ``/proc/interrupts`` and
``/proc/softirqs`` tables as the kernel prints them, the ``/proc/irq/N/``
files and the x86 vector matrix, the experiment results,
and the warnings each followed by the kernel log lines printed at its time.
Styles are inline; the page has no script and loads nothing, so it opens
offline and in a mail client's sandbox.
"""

from __future__ import annotations

from html import escape
from typing import Any

from irqlab.analysis.report import Report
from irqlab.report.dmesg import dmesg_line
from irqlab.report.plots import charts, row_label, svg_markup
from irqlab.report.procfs import render_interrupts, render_softirqs

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; }
.facts span { margin-right: 1.5em; }
figure.chart { margin: 1em 0; } figure.chart svg { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
li.warning { margin-bottom: 0.8em; } .kind { font-weight: bold; color: #a33; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
table.summary td:first-child { text-align: left; }
"""


def _facts(report: Report) -> str:
    facts = [("source", report.source), ("cpus", report.cpus)]
    if report.seed is not None:
        facts.append(("seed", report.seed))
    if report.duration_ns is not None:
        facts.append(("duration", f"{report.duration_ns / 1e6:g} ms"))
    if report.interval_s is not None:
        facts.append(("interval", f"{report.interval_s:g} s"))
    return "".join(f"<span><b>{escape(k)}:</b> {escape(str(v))}</span>" for k, v in facts)


def _table(rows: list[dict[str, Any]], css: str) -> str:
    """An HTML table of ``rows``, one column per key in order of appearance."""
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('-' if row.get(k) is None else str(row.get(k)))}</td>"
                         for k in keys) + "</tr>"
        for row in rows)
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>'


def _summary_rows(dists: dict[str, dict[str, Any]], data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per distribution with samples: its count and its statistics in us."""
    return [{"row": row_label(label, data), "count": d["count"],
             **{f"{k}_us": f"{v / 1000:.3f}" for k, v in d.items()
                if k not in ("count", "buckets") and isinstance(v, int | float)}}
            for label, d in dists.items() if d["count"]]


def _warnings(report: Report) -> str:
    items = []
    for w in report.warnings:
        where = "".join([f" t={w.time_ns / 1000:.3f}us" if w.time_ns is not None else "",
                         f" irq={w.irq}" if w.irq is not None else ""])
        lines = [dmesg_line(t, text) for t, text in report.log if t == w.time_ns]
        log = f"<pre>{escape(chr(10).join(lines))}</pre>" if lines else ""
        message = escape(w.message).replace("\n", "<br>")
        items.append(f'<li class="warning"><span class="kind">[{escape(w.kind)}]</span>'
                     f"{escape(where)}: {message}{log}</li>")
    return f"<ul>{''.join(items)}</ul>"


def sections(report: Report) -> list[str]:
    """The report's parts after its title: facts, warnings, charts with their
    summary tables, results, the /proc tables and the kernel log (a page of
    its own, or part of another: ``irqlab check`` puts a run's under its
    checklist)."""
    parts = [f'<p class="facts">{_facts(report)}</p>']
    if report.warnings:
        parts += ["<h2>Warnings</h2>", _warnings(report)]
    drawn = charts(report)
    if drawn:
        parts.append("<h2>Charts</h2>")
    data = report.to_json()
    for chart in drawn:
        parts.append(f'<figure class="chart" id="chart-{chart.id}" '
                     f'aria-label="{escape(chart.title)}">{svg_markup(chart)}</figure>')
        if chart.key is not None:
            parts.append(_table(_summary_rows(data[chart.key], data), "summary"))
    if report.results:
        parts += ["<h2>Results</h2>", _table(report.results, "results")]
    snap = report.counter_snapshot()
    if snap is not None and snap.rows:
        parts += ["<h2>/proc/interrupts</h2>",
                  f'<pre id="proc-interrupts">{escape(render_interrupts(snap))}</pre>']
    if snap is not None and snap.softirqs:
        parts += ["<h2>/proc/softirqs</h2>",
                  f'<pre id="proc-softirqs">{escape(render_softirqs(snap))}</pre>']
    if snap is not None and snap.irq_files:
        rows = [{"irq": label, **files} for label, files in
                sorted(snap.irq_files.items(), key=lambda kv: int(kv[0]))]
        parts += ["<h2>/proc/irq</h2>", _table(rows, "proc-irq")]
    if report.vector_matrix:
        parts += ["<h2>Vector matrix (/sys/kernel/debug/irq/domains/VECTOR)</h2>",
                  f'<pre id="vector-matrix">{escape(report.vector_matrix)}</pre>']
    if report.log:
        text = "".join(dmesg_line(t, line) + "\n" for t, line in report.log)
        parts += [f"<h2>Kernel log ({len(report.log)} lines)</h2>",
                  f'<pre id="kernel-log">{escape(text)}</pre>']
    return parts


def render_html(report: Report) -> str:
    """The whole page."""
    title = report.title or f"irqlab report ({report.source})"
    return document(title, [f"<h1>{escape(title)}</h1>", *sections(report)])


def document(title: str, body: list[str], style: str = STYLE) -> str:
    """A self-contained page: ``body``'s parts, one a line, with inline ``style``
    and no script."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{style}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
