"""The checklist as a terminal table, JUnit XML (one testcase per check, as
CI systems read it: Jenkins/GitLab "JUnit XML" schema) and a self-contained
HTML page with the evidence drawn as inline SVG."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from irqlab.check.result import FAIL, PASS, WARN, Checklist, CheckResult
from irqlab.check.timing import LIVELOCK_USER_SHARE
from irqlab.units import format_ns

if TYPE_CHECKING:
    from rich.table import Table

MARK = {PASS: "PASS", WARN: "WARN", FAIL: "FAIL"}
COLOUR = {PASS: "#2e7d32", WARN: "#ef6c00", FAIL: "#c62828"}  # HTML
STYLE = {PASS: "bold green", WARN: "bold yellow", FAIL: "bold red"}  # terminal


def render_text(cl: Checklist) -> str:
    """One line per check: status, name, verdict; then the summary line."""
    width = max(len(c.name) for c in cl.checks)
    lines = [f"irqlab check {cl.driver} ({cl.platform}, {cl.os}, seed {cl.seed})"]
    lines += [f"  {MARK[c.status]}  {c.name:<{width}}  {c.verdict}" for c in cl.checks]
    counts = {s: sum(c.status == s for c in cl.checks) for s in (PASS, WARN, FAIL)}
    lines.append(f"{'passed' if cl.passed else 'FAILED'}: {counts[PASS]} pass, "
                 f"{counts[WARN]} warn, {counts[FAIL]} fail")
    return "\n".join(lines)


def render_table(cl: Checklist) -> Table:
    """The checklist as a rich table, for a terminal (verdicts wrap to its width)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"irqlab check {cl.driver} ({cl.platform}, {cl.os}, seed {cl.seed})",
                  title_justify="left", show_lines=False)
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("verdict")
    for c in cl.checks:
        table.add_row(Text(MARK[c.status], style=STYLE[c.status]), c.name, Text(c.verdict))
    counts = {s: sum(c.status == s for c in cl.checks) for s in (PASS, WARN, FAIL)}
    table.caption = (f"{'passed' if cl.passed else 'FAILED'}: {counts[PASS]} pass, "
                     f"{counts[WARN]} warn, {counts[FAIL]} fail")
    table.caption_justify = "left"
    return table


def render_junit(cl: Checklist) -> str:
    """JUnit XML: a failed check is a <failure>, a warning goes to <system-out>."""
    suite = ET.Element("testsuite", name=f"irqlab check {cl.driver}", tests=str(len(cl.checks)),
                       failures=str(sum(c.status == FAIL for c in cl.checks)), errors="0",
                       skipped="0")
    props = ET.SubElement(suite, "properties")
    for key in ("platform", "os", "seed"):
        ET.SubElement(props, "property", name=key, value=str(getattr(cl, key)))
    for c in cl.checks:
        case = ET.SubElement(suite, "testcase", classname=f"irqlab.check.{cl.platform}",
                             name=c.name, time="0")
        evidence = json.dumps(c.evidence, indent=1, default=str)
        if c.status == FAIL:
            failure = ET.SubElement(case, "failure", message=c.verdict, type="check")
            failure.text = evidence
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{c.status}: {c.verdict}\n{evidence}"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _bars(rows: list[tuple[str, float]], limit: tuple[str, float] | None, unit: str) -> str:
    """Horizontal bars, one per ``(label, value)``, with an optional limit line."""
    if not rows:
        return ""
    top = max([v for _, v in rows] + ([limit[1]] if limit else [])) or 1
    bar_w, label_w, h = 320, 150, 18
    height = h * len(rows) + (16 if limit else 4)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 90}" '
             f'height="{height}" role="img">']
    for i, (label, value) in enumerate(rows):
        y = i * h + 2
        w = max(1, round(bar_w * value / top))
        text = format_ns(value) if unit == "ns" else f"{value:.0%}"
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">{html.escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{h - 4}" fill="#5c6bc0"/>'
                     f'<text x="{label_w + w + 4}" y="{y + 12}" font-size="11">{text}</text>')
    if limit:
        x = label_w + round(bar_w * limit[1] / top)
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height - 12}" stroke="#c62828" '
                     f'stroke-dasharray="3,2"/><text x="{x + 2}" y="{height - 2}" font-size="10" '
                     f'fill="#c62828">{html.escape(limit[0])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def evidence_plot(c: CheckResult) -> str:
    """The evidence worth drawing: times against their budget or bound."""
    e: dict[str, Any] = c.evidence
    if c.name == "top-half-budget" and "p99_ns" in e:
        return _bars([("p50", e["p50_ns"]), ("p99", e["p99_ns"]), ("max", e["max_ns"])],
                     ("budget", e["budget_ns"]), "ns")
    if c.name == "nesting" and "latency_p99_ns" in e:
        rows = [("p50", e["latency_p50_ns"]), ("p99", e["latency_p99_ns"]),
                ("max", e["latency_max_ns"])]
        if e.get("alone_p99_ns") is not None:
            rows.insert(0, ("p99 alone", e["alone_p99_ns"]))
        return _bars(rows, ("budget p99", e["budget_ns"]), "ns")
    if c.name == "response-time-bound" and e.get("bound_ns"):
        return _bars([("C (entry+handler)", e["C_ns"]), ("simulated max", e["simulated_max_ns"])],
                     ("bound", e["bound_ns"]), "ns")
    if c.name == "flood":
        rows = [(f"user share x{f}", e[f"x{f}"]["cpu_share"]["user"])
                for f in (1, 10, 100) if f"x{f}" in e]
        return _bars(rows, ("livelock", LIVELOCK_USER_SHARE), "share")
    if c.name == "deferral" and "top_ns_per_irq" in e:
        return _bars([("top half / irq", e["top_ns_per_irq"]),
                      ("bottom half / irq", e["bottom_ns_per_irq"])], None, "ns")
    return ""


_STYLE = """
table.checklist td { text-align: left; vertical-align: top; }
table.checklist td.status { font-weight: bold; }
"""


def render_html(cl: Checklist) -> str:
    """A self-contained page (``irqlab.report.html``'s, charts need
    irqlab[plot]): the checklist, each check's evidence and its plot, then the
    report of the driver's nominal run."""
    from irqlab.report.html import STYLE, document, sections

    rows = []
    for c in cl.checks:
        plot = evidence_plot(c)
        evidence = html.escape(json.dumps(c.evidence, indent=1, default=str))
        rows.append(
            f'<tr><td class="status" style="color:{COLOUR[c.status]}">{MARK[c.status]}</td>'
            f"<td><code>{html.escape(c.name)}</code></td><td>{html.escape(c.verdict)}"
            f"{'<div>' + plot + '</div>' if plot else ''}"
            f"<details><summary>evidence</summary><pre>{evidence}</pre></details></td></tr>")
    title = f"irqlab check {cl.driver}"
    verdict = "passed" if cl.passed else "FAILED"
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{html.escape(cl.platform)}, {html.escape(cl.os)}, seed {cl.seed}: "
             f'<strong style="color:{COLOUR[PASS] if cl.passed else COLOUR[FAIL]}">{verdict}'
             f'</strong></p><table class="checklist">{"".join(rows)}</table>']
    if cl.report is not None:
        parts += ["<h2>The nominal run</h2>", *sections(cl.report)]
    return document(title, parts, STYLE + _STYLE)
