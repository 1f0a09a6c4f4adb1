"""``irqlab report``: analyse a real capture or /proc snapshots with the same
report code as simulated runs."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import click

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.rates import RateTimeline
from irqlab.analysis.report import Report, ReportWarning
from irqlab.cli.errors import InputError, interruptible
from irqlab.cli.params import FiniteFloat, TraceWriter, output_files, output_path
from irqlab.cli.pictures import check_extras, picture_options, write_pictures
from irqlab.cli.show import show, show_options
from irqlab.cli.traces import detect, trace_events
from irqlab.events import CounterSnapshot, diff_snapshots
from irqlab.observe.tracefile import (
    FTRACE,
    INTERRUPTS,
    IRQLAB_TRACE,
    SOFTIRQS,
)

MTIME_MIN_S = 1.0
"""Smallest mtime difference taken as the interval between two snapshots: files
copied or checked out together differ by milliseconds, which would give
absurd rates; use --interval for snapshots taken less than a second apart."""


def _snapshot(path: Path) -> CounterSnapshot:
    from irqlab.observe.procfs import ProcfsError, read_snapshot  # snapshots only: on use

    try:
        return read_snapshot(path)
    except ProcfsError as err:
        raise InputError(err.message, source=err.source, line=err.line) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", source=str(path)) from None


def _snapshot_report(files: list[tuple[Path, str]], interval: float | None) -> Report:
    """One or two snapshots of /proc/interrupts and/or /proc/softirqs."""
    kinds: dict[str, list[Path]] = {INTERRUPTS: [], SOFTIRQS: []}
    for path, fmt in files:
        kinds[fmt].append(path)
    counts = {len(v) for v in kinds.values() if v}
    if len(counts) != 1 or counts.pop() > 2:
        raise InputError("give one or two /proc/interrupts snapshots and/or the same number "
                         "of /proc/softirqs snapshots (first, then later)")
    taken: list[CounterSnapshot] = []
    for i in range(max(len(v) for v in kinds.values())):
        snap = CounterSnapshot(cpus=0)
        for fmt in (INTERRUPTS, SOFTIRQS):
            if kinds[fmt]:
                part = _snapshot(kinds[fmt][i])
                snap.cpus = max(snap.cpus, part.cpus)
                snap.rows.update(part.rows)
                snap.softirqs.update(part.softirqs)
                snap.irq_files.update(part.irq_files)
        taken.append(snap)
    first = next(v[0] for v in kinds.values() if v)
    if len(taken) == 1:
        return Report(source="snapshot", cpus=taken[0].cpus, counters=taken[0],
                      title=f"snapshot {first}")
    second = next(v[1] for v in kinds.values() if v)
    if interval is None:
        gap = second.stat().st_mtime - first.stat().st_mtime
        interval = gap if gap >= MTIME_MIN_S else None
    report = Report(source="snapshot", cpus=taken[1].cpus, interval_s=interval,
                    counters=diff_snapshots(taken[0], taken[1]),
                    title=f"snapshot delta {first} -> {second}")
    if interval is None:
        report.warnings.append(ReportWarning(
            "interval_unknown", None, None,
            "the time between the snapshots is unknown (file mtimes less than "
            f"{MTIME_MIN_S:g}s apart): counts are deltas, rates need --interval"))
    return report


def _trace_report(path: Path, fmt: str, chrome: Path | None, perfetto: Path | None,
                  timeline: bool) -> Report:
    report = Report(source="trace", cpus=1, title=f"trace {path}")
    cpus, columns = trace_events(path, fmt, report)
    report.cpus = cpus
    stats = IrqStats(cpus)
    if timeline:
        report.timeline = RateTimeline()

    def chrome_writer(out: IO[str]) -> TraceWriter:
        from irqlab.report.chrome import ChromeTraceWriter

        return ChromeTraceWriter(out, cpus, pid_name=str(path))

    def perfetto_writer(out: IO[bytes]) -> TraceWriter:
        from irqlab.report.perfetto import PerfettoWriter

        return PerfettoWriter(out, cpus, title=str(path))

    with output_files(("--chrome", chrome, chrome_writer),
                      ("--perfetto", perfetto, perfetto_writer, True)) as writers:
        feeds = [w.feed for w in writers]
        if report.timeline is not None:
            feeds.append(report.timeline.feed)
        for cols in columns:
            stats.feed_columns(*cols)
            if feeds:
                for ev in zip(*cols, strict=True):
                    for feed in feeds:
                        feed(*ev)
    report.stats = stats
    if stats.first_ts is None:
        report.warnings.append(ReportWarning("no_events", None, None,
                                       "the trace holds no irq/softirq/vector events"))
    return report


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@show_options
@click.option("--chrome", type=click.Path(dir_okay=False, path_type=Path), callback=output_path,
              help="Also write a Chrome trace-event JSON timeline (traces only).")
@click.option("--perfetto", type=click.Path(dir_okay=False, path_type=Path), callback=output_path,
              help="Also write a native Perfetto protobuf trace (traces only; needs "
                   "irqlab[perfetto]).")
@picture_options
@click.option("--interval", type=FiniteFloat(min=0, min_open=True),
              help="Seconds between two snapshots (default: from the files' mtimes when they "
                   f"differ by at least {MTIME_MIN_S:g}s).")
@interruptible
def report(files: tuple[Path, ...], as_json: bool, hist: bool, hdr_path: str | None,
           chrome: Path | None, perfetto: Path | None, html_path: str | None,
           png_dir: str | None, interval: float | None) -> None:
    """Report on an irqlab trace, ftrace text (cat trace, trace-cmd report), or one or
    two /proc/interrupts and /proc/softirqs snapshots (two: deltas and rates).

    The format of each FILE is detected; an unknown one is an error naming it.
    """
    check_extras(html_path, png_dir, None if perfetto is None else str(perfetto))
    detected = [(p, detect(p)) for p in files]
    traces = [(p, f) for p, f in detected if f in (IRQLAB_TRACE, FTRACE)]
    if traces:
        if len(detected) > 1:
            others = ", ".join(str(p) for p, _ in detected if p is not traces[0][0])
            raise InputError(f"a trace is reported on its own; also given: {others}",
                             source=str(traces[0][0]))
        result = _trace_report(*traces[0], chrome, perfetto,
                               timeline=html_path is not None or png_dir is not None)
    else:
        for option, value in (("--chrome", chrome), ("--perfetto", perfetto)):
            if value is not None:
                raise InputError(f"{option} needs a trace, not /proc snapshots", source=str(value))
        result = _snapshot_report(detected, interval)
    write_pictures(result, html_path, png_dir)
    show(result, as_json, hist, hdr_path)


COMMANDS: list[click.Command] = [report]
