"""The report as one self-contained HTML page (``--html FILE``).

Built from the report model alone (``irqlab run``, ``report``, ``replay`` and
sweeps feed it the same :class:`Report`): the charts of
:mod:`irqlab.report.plots` inlined as SVG, the interrupt and CPU time tables,
the experiment results, the sections the OS chose
(:mod:`irqlab.report.ostables`: the ``/proc`` tables as the kernel prints
them, Windows' ISRs and DPCs per driver, the NVIC's exceptions), and the
warnings each followed by the kernel log lines printed at its time.
Styles are inline; the page has no script and loads nothing, so it opens
offline and in a mail client's sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from irqlab.analysis.report import Report
from irqlab.report.dmesg import dmesg_line
from irqlab.report.ostables import Block, os_blocks
from irqlab.report.plots import charts, row_label, svg_markup
from irqlab.report.text import cpu_time_rows, interrupt_time_rows

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; }
.facts span { margin-right: 1.5em; }
figure.chart { margin: 1em 0; } figure.chart svg { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
li.warning { margin-bottom: 0.8em; } .kind { font-weight: bold; color: #a33; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
table.summary td:first-child, table.os td:first-child { text-align: left; }
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


def _grid(headers: Sequence[str], rows: Sequence[Sequence[Any]], css: str, ident: str = "") -> str:
    """An HTML table of ``headers`` over ``rows``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape('-' if v is None else str(v))}</td>"
                                    for v in row) + "</tr>" for row in rows)
    where = f' id="{ident}"' if ident else ""
    return f'<table class="{css}"{where}><tr>{head}</tr>{body}</table>'


def _block(block: Block) -> list[str]:
    """An OS section's block: a table, or the /proc text byte-exact."""
    if not block.headers:
        return [f"<h2>{escape(block.title)}</h2>",
                f'<pre id="{block.id}">{escape(block.text)}</pre>']
    return [f"<h2>{escape(block.title)}</h2>",
            _grid(block.headers, block.rows, "os", block.id)]


def _table(rows: list[dict[str, Any]], css: str) -> str:
    """An HTML table of ``rows``, one column per key in order of appearance."""
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    return _grid(keys, [[row.get(k) for k in keys] for row in rows], css)


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
    summary tables, the interrupt and CPU time tables, results, the sections
    the OS chose (the /proc tables, ISRs and DPCs per driver, the NVIC's
    exceptions) and the kernel log (a page of
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
    for title, ident, (head, rows) in (
            ("Time in interrupt context per CPU (us)", "interrupt-time",
             interrupt_time_rows(report, data)),
            ("CPU time (us)", "cpu-time", cpu_time_rows(report))):
        if rows:
            parts += [f"<h2>{title}</h2>", _grid(head, rows, "summary", ident)]
    if report.results:
        parts += ["<h2>Results</h2>", _table(report.results, "results")]
    for block in os_blocks(report, data):
        parts += _block(block)
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
