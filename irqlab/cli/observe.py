"""``irqlab trace`` (capture from tracefs) and ``irqlab top`` (live IRQ rates)."""

from __future__ import annotations

import errno
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from irqlab.cli.errors import (
    InputError,
    Interrupted,
    interruptible,
    signals_allowed,
    signals_deferred,
    stop_reason,
)
from irqlab.cli.output import open_output
from irqlab.cli.params import NR_CPUS_MAX, FiniteFloat, output_path
from irqlab.observe.procfs import ProcfsError
from irqlab.observe.top import (
    SORT_KEYS,
    Sample,
    cpu_columns,
    read_sample,
    render_plain,
    table,
    top_rows,
)
from irqlab.observe.tracefs import DEFAULT_EVENTS, Capture, TracefsError

POLL_S = 0.1
MAX_INTERVAL_S = 86400.0
"""Longest ``top`` refresh interval: a day (longer is a typo, and past about 2**63
ns ``time.sleep`` overflows)."""


@click.command()
@click.option("--duration", type=FiniteFloat(min=0, min_open=True), default=10.0,
              show_default=True, help="Seconds to capture (Ctrl-C or SIGTERM ends early).")
@click.option("--events", default=",".join(DEFAULT_EVENTS), show_default=True,
              help="Comma list: 'irq' (handler + softirq events), 'irq_vectors' (x86 timer/IPI "
                   "vectors, which never fire irq_handler_entry), or single system:event names.")
@click.option("--buffer-kb", type=click.IntRange(min=64), default=4096, show_default=True,
              help="Per-CPU ring buffer of the capture instance (buffer_size_kb).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=output_path, help="irqlab trace file to write (format: docs/trace-format.md).")
@interruptible
def trace(duration: float, events: str, buffer_kb: int, output: Path) -> None:
    """Capture IRQ events from tracefs into an irqlab trace (needs root).

    Uses a tracefs instance of its own with the mono clock and reads the per-CPU
    raw buffers for nanosecond timestamps; everything is restored on exit, Ctrl-C,
    SIGTERM or error.  Lost events and overruns are counted in the file header.
    Ctrl-C or SIGTERM at any moment ends the capture: what was captured is saved
    as a complete trace, then the command exits 130 (Ctrl-C) or 143 (SIGTERM).
    """
    from irqlab.progress import capture_progress, console

    specs = [s.strip() for s in events.split(",") if s.strip()]
    if not specs:
        raise InputError("--events is empty")
    err = console()
    try:
        # Set-up, saving and tear-down run with SIGINT and SIGTERM held back, so
        # they are never cut in half; only the capture loop takes them, and one
        # that arrived earlier ends it at once.
        with signals_deferred(), Capture(specs, buffer_kb=buffer_kb) as cap:
            for name in cap.stale:
                err.print(f"removed stale tracefs instance {name} (its process is gone)")
            for name in cap.stale_spools:
                err.print(f"removed stale capture spool {name} (its process is gone)")
            with capture_progress(duration) as progress:
                cap.start()
                stopped = _capture(cap, duration, progress)
            cap.stop()
            with open_output(output, option="-o") as f:
                written = cap.write(f)
            header = cap.header()
    except TracefsError as exc:
        if str(exc).startswith("--events "):  # resolve_events names the bad event spec
            raise InputError(str(exc)) from None
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        if exc.errno == errno.ENOMEM:  # buffer_size_kb is the only large allocation
            raise InputError(f"the kernel cannot allocate {buffer_kb} KiB per CPU: {exc.strerror}",
                             source="--buffer-kb") from None
        where = f": {exc.filename}" if exc.filename else ""
        raise click.ClickException(f"tracefs: {exc.strerror}{where}") from None
    if cap.unmount_error:
        err.print(f"[bold red]warning[/]: tracefs was mounted by this run but could not be "
                  f"unmounted: {cap.unmount_error}")
    if header.lost_events:
        err.print(f"[bold red]warning[/]: {header.lost_events} events lost "
                  f"(overrun {header.overrun}, dropped {header.dropped}); "
                  "raise --buffer-kb or shorten --duration")
    span = ((header.end_ns or 0) - (header.start_ns or 0)) / 1e9
    done = f"wrote {written} events over {span:.2f}s on {header.cpus} CPUs to {output}"
    if stopped is not None:
        raise Interrupted(f"{done} (stopped by {stop_reason(stopped)})", signalled=stopped)
    err.print(done, markup=False)  # a path may hold [brackets]


def _capture(cap: Capture, duration: float,
             progress: Callable[[float, int, int], None] | None) -> KeyboardInterrupt | None:
    """Poll ``cap`` for ``duration`` seconds with SIGINT and SIGTERM let through;
    returns the Ctrl-C or SIGTERM that ended it early, if one did."""
    start = time.monotonic()
    try:
        with signals_allowed():
            while (elapsed := time.monotonic() - start) < duration:
                cap.poll()
                if progress is not None:
                    progress(elapsed, cap.count, cap.lost_events)
                time.sleep(min(POLL_S, max(duration - elapsed, 0)))
    except KeyboardInterrupt as exc:
        return exc
    return None


def _cpu_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    """``0-3,8`` -> [0, 1, 2, 3, 8] (the kernel's cpulist syntax)."""
    if value is None:
        return None
    cpus: set[int] = set()
    for part in value.split(","):
        lo, _, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise click.BadParameter(f"expected a CPU list such as '0-3,8', got {value!r}") from None
        if not 0 <= first <= last < NR_CPUS_MAX:
            raise click.BadParameter(f"{part!r}: expected CPUs in increasing order, below "
                                     f"{NR_CPUS_MAX} (NR_CPUS)")
        cpus.update(range(first, last + 1))
    return sorted(cpus)


@click.command()
@click.option("-d", "--interval", type=FiniteFloat(min=0, min_open=True, max=MAX_INTERVAL_S),
              default=1.0,
              show_default=True, help="Seconds between refreshes (the delta interval).")
@click.option("-s", "--sort", type=click.Choice(SORT_KEYS), default="delta", show_default=True)
@click.option("-c", "--cpu", "cpus", callback=_cpu_list, help="Only these CPUs, e.g. '0-3,8'.")
@click.option("--irq", "pattern", help="Only rows whose IRQ or name matches this glob, e.g. 'eth*'.")
@click.option("-t", "--threshold", type=FiniteFloat(min=0), default=0.0,
              help="Hide rows below this many interrupts per second.")
@click.option("-S", "--softirqs", is_flag=True, help="Show /proc/softirqs instead.")
@click.option("--once", is_flag=True, help="Print one refresh and exit (plain text).")
@click.option("-n", "--count", type=click.IntRange(min=1), help="Print N refreshes and exit (plain text).")
@click.option("--proc", "proc_root", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/proc"), hidden=True, help="Directory holding interrupts/softirqs.")
@interruptible
def top(interval: float, sort: str, cpus: list[int] | None, pattern: str | None,
        threshold: float, softirqs: bool, once: bool, count: int | None, proc_root: Path) -> None:
    """Live per-IRQ, per-CPU interrupt rates from /proc/interrupts (no root needed).

    On a terminal: a live table until Ctrl-C.  With --once/--count, or when
    stdout is not a terminal: plain aligned text, one table per refresh.
    """
    path = proc_root / ("softirqs" if softirqs else "interrupts")

    def sample() -> Sample:
        try:
            return read_sample(path, softirqs)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", source=str(path)) from None
        except ProcfsError as err:
            raise InputError(err.message, source=err.source, line=err.line) from None

    def refresh(prev: Sample) -> tuple[Sample, str]:
        time.sleep(interval)
        cur = sample()
        rows = top_rows(prev, cur, softirqs=softirqs, cpus=cpus, pattern=pattern,
                        threshold=threshold, sort=sort)
        return cur, render_plain(rows, cpu_columns(cur.snapshot, cpus), cur.t - prev.t)

    prev = sample()
    absent = [c for c in cpus or [] if c >= prev.snapshot.cpus]
    if absent:
        raise InputError(f"CPU {absent[0]} is not in {path} (CPUs 0-{prev.snapshot.cpus - 1})",
                         source="--cpu")
    if once or count or not sys.stdout.isatty():
        for i in range(1 if once else count or sys.maxsize):
            prev, text = refresh(prev)
            click.echo(("\n" if i else "") + text, nl=False)
        return
    _live(prev, sample, interval, softirqs, cpus, pattern, threshold, sort)


def _live(prev: Sample, sample: Callable[[], Sample], interval: float, softirqs: bool,
          cpus: list[int] | None, pattern: str | None, threshold: float, sort: str) -> None:
    """The rich Live view, refreshed every ``interval`` until Ctrl-C."""
    from rich.live import Live
    from rich.table import Table

    from irqlab.progress import console

    with Live(Table(), console=console(stdout=True), auto_refresh=False, screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                cur = sample()
                rows = top_rows(prev, cur, softirqs=softirqs, cpus=cpus, pattern=pattern,
                                threshold=threshold, sort=sort)
                header, body = table(rows, cpu_columns(cur.snapshot, cpus))
                view = Table(title=f"irqlab top: {len(rows)} rows, interval "
                                   f"{cur.t - prev.t:.2f}s, sort {sort}  (Ctrl-C quits)")
                for i, h in enumerate(header):
                    view.add_column(h, justify="left" if i in (0, len(header) - 1) else "right")
                for cells in body:
                    view.add_row(*cells)
                live.update(view, refresh=True)
                prev = cur
        except KeyboardInterrupt:
            pass


COMMANDS: list[click.Command] = [trace, top]
