"""``irqlab top``: per-IRQ, per-CPU interrupt rates from ``/proc/interrupts``
(or ``/proc/softirqs``), like util-linux ``irqtop``; no root needed.

Each refresh reads the file, subtracts the previous sample per cell
(:func:`irqlab.analysis.report.diff_snapshots`, which also undoes the 32-bit
``%10u`` counter wrap) and divides by the time between the two reads
(``time.monotonic``).  Columns: ``IRQ``, ``TOTAL`` (since boot), ``DELTA``
(interrupts in the interval), ``RATE_per_s``, one ``CPUn_per_s`` per shown CPU,
and ``NAME`` (action names or the row description).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irqlab.analysis.report import diff_snapshots
from irqlab.events import CounterSnapshot
from irqlab.observe.procfs import parse_interrupts, parse_softirqs

SORT_KEYS = ("irq", "total", "delta", "name")


@dataclass
class TopRow:
    label: str
    name: str
    total: int
    delta: int
    rate: float
    cpu_rates: list[float]


@dataclass
class Sample:
    snapshot: CounterSnapshot
    t: float


def read_sample(path: Path, softirqs: bool, clock: Callable[[], float] = time.monotonic) -> Sample:
    """Read ``path`` now (``/proc/interrupts`` or, with ``softirqs``, ``/proc/softirqs``)."""
    t = clock()
    text = path.read_text(errors="replace")  # as read_snapshot: a damaged name is not fatal
    snap = parse_softirqs(text, str(path)) if softirqs else parse_interrupts(text, str(path))
    return Sample(snap, t)


def _counts(snap: CounterSnapshot, softirqs: bool) -> dict[str, tuple[list[int], str]]:
    if softirqs:
        return {k: (v, "") for k, v in snap.softirqs.items()}
    return {k: (r.per_cpu, r.name or "") for k, r in snap.rows.items()}


def _irq_order(label: str) -> tuple[int, int, str]:
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def top_rows(prev: Sample, cur: Sample, *, softirqs: bool = False, cpus: list[int] | None = None,
             pattern: str | None = None, threshold: float = 0.0, sort: str = "delta"
             ) -> list[TopRow]:
    """Rows of one refresh.  ``cpus`` restricts the per-CPU columns and the
    totals to those CPUs; ``pattern`` (shell glob, case-insensitive) must match
    the row label or its name; rows whose rate is below ``threshold`` per second
    are dropped; ``sort`` is one of :data:`SORT_KEYS` (irq ascending, name
    alphabetical, total and delta descending)."""
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}")
    interval = max(cur.t - prev.t, 1e-9)
    delta = _counts(diff_snapshots(prev.snapshot, cur.snapshot), softirqs)
    totals = _counts(cur.snapshot, softirqs)
    rows = []
    for label, (per_cpu, name) in delta.items():
        total_cells = totals[label][0]
        if cpus is not None:
            pick = [c for c in cpus if c < len(per_cpu)]
            per_cpu = [per_cpu[c] for c in pick]
            total_cells = [total_cells[c] for c in pick if c < len(total_cells)]
        if pattern and not (fnmatch.fnmatch(label.lower(), pattern.lower())
                            or fnmatch.fnmatch(name.lower(), pattern.lower())):
            continue
        d = sum(per_cpu)
        rate = d / interval
        if rate < threshold:
            continue
        rows.append(TopRow(label, name, sum(total_cells), d, rate, [c / interval for c in per_cpu]))
    keys: dict[str, Callable[[TopRow], Any]] = {
        "irq": lambda r: _irq_order(r.label), "name": lambda r: (r.name.lower(), r.label),
        "total": lambda r: (-r.total, _irq_order(r.label)),
        "delta": lambda r: (-r.delta, _irq_order(r.label)),
    }
    return sorted(rows, key=keys[sort])


def cpu_columns(snap: CounterSnapshot, cpus: list[int] | None) -> list[int]:
    return [c for c in range(snap.cpus) if cpus is None or c in cpus]


def table(rows: list[TopRow], cpu_ids: list[int]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the rate table (shared by plain and rich output)."""
    header = ["IRQ", "TOTAL", "DELTA", "RATE_per_s", *(f"CPU{c}_per_s" for c in cpu_ids), "NAME"]
    body = [[r.label, str(r.total), str(r.delta), f"{r.rate:.1f}",
             *(f"{x:.1f}" for x in r.cpu_rates[:len(cpu_ids)]),
             *([""] * (len(cpu_ids) - len(r.cpu_rates))), r.name] for r in rows]
    return header, body


def render_plain(rows: list[TopRow], cpu_ids: list[int], interval_s: float) -> str:
    """Aligned text for pipes: a title line, then the table."""
    header, body = table(rows, cpu_ids)
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
    lines = [f"# interval {interval_s:.3f}s, {len(rows)} rows"]
    for cells in (header, *body):
        cols = [c.rjust(w) if i not in (0, len(cells) - 1) else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        lines.append("  ".join(cols).rstrip())
    return "\n".join(lines) + "\n"
