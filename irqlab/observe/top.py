"""``irqlab top``: per-IRQ, per-CPU interrupt rates from ``/proc/interrupts``
(or ``/proc/softirqs``), like util-linux ``irqtop``; no root needed.

Each refresh reads the file, subtracts the previous sample per cell
(:func:`irqlab.events.diff_snapshots`, which also undoes the 32-bit
``%10u`` counter wrap) and divides by the time between the two reads.  Columns:
``IRQ``, ``TOTAL`` (since boot), ``DELTA`` (interrupts in the interval),
``RATE_per_s``, one ``CPUn_per_s`` per shown CPU, ``AFFINITY``
(``/proc/irq/N/smp_affinity_list``), ``CHIP`` (the irq_chip column of
``/proc/interrupts``) and ``NAME``.  Rows with no interrupt in the interval are
idle and hidden unless asked for.  Per CPU, ``%irq`` and ``%softirq`` are the
shares of the interval's ``/proc/stat`` ticks spent in hard and soft interrupt
context.  Refreshes keep to a fixed cadence (:func:`next_deadline`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irqlab.events import CounterSnapshot, diff_snapshots
from irqlab.observe.procfs import (
    STAT_COLUMNS,
    parse_interrupts,
    parse_softirqs,
    parse_stat_cpus,
    read_irq_files,
)

SORT_KEYS = ("irq", "total", "delta", "name")
SORT_BY_KEY = {"i": "irq", "t": "total", "d": "delta", "n": "name"}
"""Interactive keys changing the sort, as util-linux ``irqtop`` binds them."""
QUIT_KEYS = ("q", "Q")


@dataclass
class TopRow:
    label: str
    name: str
    total: int
    delta: int
    rate: float
    cpu_rates: list[float]
    affinity: str = ""
    chip: str = ""


@dataclass
class Sample:
    """One read of the counters at time ``t`` (seconds), with the per-CPU
    ``/proc/stat`` ticks and the IRQs' affinity lists when they could be read."""

    snapshot: CounterSnapshot
    t: float
    stat: dict[int, list[int]] = field(default_factory=dict)
    affinity: dict[str, str] = field(default_factory=dict)


def read_sample(proc: Path, softirqs: bool, t: float) -> Sample:
    """Read ``proc``/interrupts (or, with ``softirqs``, ``proc``/softirqs), then
    ``proc``/stat and ``proc``/irq/N/smp_affinity_list of each numbered IRQ
    (absent or unreadable ones are left out: not every kernel has them).
    ``OSError`` or :class:`~irqlab.observe.procfs.ProcfsError` for the counters file."""
    path = proc / ("softirqs" if softirqs else "interrupts")
    text = path.read_text(errors="replace")  # as read_snapshot: a damaged name is not fatal
    snap = parse_softirqs(text, str(path)) if softirqs else parse_interrupts(text, str(path))
    try:
        stat = parse_stat_cpus((proc / "stat").read_text(), str(proc / "stat"))
    except OSError:
        stat = {}
    files = read_irq_files(proc / "irq", list(snap.rows), ("smp_affinity_list",))
    affinity = {label: f["smp_affinity_list"].strip() for label, f in files.items()}
    return Sample(snap, t, stat, affinity)


def _counts(snap: CounterSnapshot, softirqs: bool) -> dict[str, tuple[list[int], str]]:
    if softirqs:
        return {k: (v, "") for k, v in snap.softirqs.items()}
    return {k: (r.per_cpu, r.name or "") for k, r in snap.rows.items()}


def _irq_order(label: str) -> tuple[int, int, str]:
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def top_rows(prev: Sample, cur: Sample, *, softirqs: bool = False, cpus: list[int] | None = None,
             pattern: str | None = None, threshold: float = 0.0, sort: str = "delta",
             idle: bool = False) -> list[TopRow]:
    """Rows of one refresh.  ``cpus`` restricts the per-CPU columns and the
    totals to those CPUs; ``pattern`` (shell glob, case-insensitive) must match
    the row label or its name; rows whose rate is below ``threshold`` per second
    are dropped, and so are rows with no interrupt in the interval unless
    ``idle``; ``sort`` is one of :data:`SORT_KEYS` (irq ascending, name
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
        if rate < threshold or (d == 0 and not idle):
            continue
        row = cur.snapshot.rows.get(label)
        rows.append(TopRow(label, name, sum(total_cells), d, rate, [c / interval for c in per_cpu],
                           cur.affinity.get(label, ""), (row.chip or "") if row else ""))
    keys: dict[str, Callable[[TopRow], Any]] = {
        "irq": lambda r: _irq_order(r.label), "name": lambda r: (r.name.lower(), r.label),
        "total": lambda r: (-r.total, _irq_order(r.label)),
        "delta": lambda r: (-r.delta, _irq_order(r.label)),
    }
    return sorted(rows, key=keys[sort])


def cpu_columns(snap: CounterSnapshot, cpus: list[int] | None) -> list[int]:
    return [c for c in range(snap.cpus) if cpus is None or c in cpus]


_IRQ, _SOFTIRQ = STAT_COLUMNS.index("irq"), STAT_COLUMNS.index("softirq")


def cpu_shares(prev: Sample, cur: Sample, cpu_ids: list[int]) -> dict[int, tuple[float, float]]:
    """Per CPU of ``cpu_ids`` found in both samples' ``/proc/stat``: (%irq,
    %softirq) of the ticks that passed between them (0 when none did)."""
    out = {}
    for cpu in cpu_ids:
        if cpu in prev.stat and cpu in cur.stat:
            d = [b - a for a, b in zip(prev.stat[cpu], cur.stat[cpu], strict=True)]
            total = sum(d)
            out[cpu] = ((100 * d[_IRQ] / total, 100 * d[_SOFTIRQ] / total) if total > 0
                        else (0.0, 0.0))
    return out


def table(rows: list[TopRow], cpu_ids: list[int],
          softirqs: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the rate table (shared by plain and rich output);
    softirq rows have no affinity or chip."""
    irq_only = [] if softirqs else ["AFFINITY", "CHIP"]
    header = ["IRQ", "TOTAL", "DELTA", "RATE_per_s", *(f"CPU{c}_per_s" for c in cpu_ids),
              *irq_only, "NAME"]
    body = [[r.label, str(r.total), str(r.delta), f"{r.rate:.1f}",
             *(f"{x:.1f}" for x in r.cpu_rates[:len(cpu_ids)]),
             *([""] * (len(cpu_ids) - len(r.cpu_rates))),
             *([] if softirqs else [r.affinity, r.chip]), r.name] for r in rows]
    return header, body


def share_table(shares: dict[int, tuple[float, float]]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the per-CPU ``%irq`` / ``%softirq`` table."""
    return (["CPU", "%irq", "%softirq"],
            [[f"cpu{c}", f"{i:.1f}", f"{s:.1f}"] for c, (i, s) in shares.items()])


def _aligned(header: list[str], body: list[list[str]], text_last: bool = True) -> list[str]:
    """Columns padded to width: numbers right, the first column (and the last,
    when ``text_last``) left."""
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=True)]
    left = {0, len(header) - 1} if text_last else {0}
    lines = []
    for cells in (header, *body):
        cols = [c.ljust(w) if i in left else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        lines.append("  ".join(cols).rstrip())
    return lines


def render_plain(rows: list[TopRow], cpu_ids: list[int], interval_s: float,
                 shares: dict[int, tuple[float, float]] | None = None,
                 softirqs: bool = False) -> str:
    """Aligned text for pipes: a title line, the per-CPU shares (when
    /proc/stat was read) and a blank line, then the rate table."""
    lines = [f"# interval {interval_s:.3f}s, {len(rows)} rows"]
    if shares:
        lines += [*_aligned(*share_table(shares), text_last=False), ""]
    lines += _aligned(*table(rows, cpu_ids, softirqs))
    return "\n".join(lines) + "\n"


def snapshot_json(rows: list[TopRow], cpu_ids: list[int], prev: Sample, cur: Sample,
                  shares: dict[int, tuple[float, float]], sort: str) -> dict[str, Any]:
    """One refresh as a JSON object (``irqlab top --json`` prints one a line)."""
    return {
        "t": cur.t, "interval_s": cur.t - prev.t, "sort": sort,
        "cpus": [{"cpu": c, "irq_pct": round(i, 3), "softirq_pct": round(s, 3)}
                 for c, (i, s) in shares.items()],
        "rows": [{"irq": r.label, "total": r.total, "delta": r.delta, "rate_per_s": r.rate,
                  "per_cpu_per_s": dict(zip(map(str, cpu_ids), r.cpu_rates, strict=False)),
                  "affinity": r.affinity, "chip": r.chip, "name": r.name} for r in rows],
    }


def next_deadline(deadline: float, interval: float, now: float) -> float:
    """The refresh time after ``deadline``: one ``interval`` later, so the cadence
    does not drift by the time each refresh takes; refreshes already missed
    (work longer than the interval) are skipped, not run back to back."""
    deadline += interval
    if deadline <= now:
        deadline += ((now - deadline) // interval + 1) * interval
    return deadline


def refreshes(first: Sample, read: Callable[[float], Sample], interval: float,
              clock: Callable[[], float],
              sleep: Callable[[float], None]) -> Iterator[tuple[Sample, Sample]]:
    """(previous, current) samples from ``first`` on, one pair every ``interval``
    seconds of ``clock`` counted from ``first.t``; ``read(t)`` takes a sample
    stamped ``t``."""
    prev, deadline = first, first.t
    while True:
        deadline = next_deadline(deadline, interval, clock())
        sleep(max(deadline - clock(), 0.0))
        cur = read(clock())
        yield prev, cur
        prev = cur
