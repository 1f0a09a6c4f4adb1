"""``irqlab trace`` (capture from tracefs) and ``irqlab top`` (live IRQ rates)."""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import click

from irqlab.cli.errors import InputError, interruptible
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


class _Terminated(Exception):
    """SIGTERM arrived: end the capture like Ctrl-C, so cleanup runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


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
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    specs = [s.strip() for s in events.split(",") if s.strip()]
    if not specs:
        raise InputError("--events is empty")
    console = Console(stderr=True)
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.part")
    interrupted = ""
    cap = Capture(specs, buffer_kb=buffer_kb)
    try:
        with cap:
            for name in cap.stale:
                console.print(f"removed stale tracefs instance {name} (its process is gone)")
            columns = (TextColumn("capturing"), BarColumn(), TimeElapsedColumn(),
                       TextColumn("{task.fields[events]} events, {task.fields[lost]} lost"))
            cap.start()
            start = time.monotonic()
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("trace", total=duration, events=0, lost=0)
                try:
                    while (elapsed := time.monotonic() - start) < duration:
                        cap.poll()
                        progress.update(task, completed=elapsed, events=cap.count,
                                        lost=cap.lost_events)
                        time.sleep(min(POLL_S, max(duration - elapsed, 0)))
                except KeyboardInterrupt:
                    interrupted = "Ctrl-C"
                except _Terminated:
                    interrupted = "SIGTERM"
            cap.stop()
            try:
                with open(tmp, "w", encoding="utf-8") as f:
                    written = cap.write(f)
                tmp.replace(output)
            except OSError as err:
                raise InputError(f"cannot write: {err.strerror}", source=str(output)) from None
            header = cap.header()
    except TracefsError as err:
        if str(err).startswith("--events "):  # resolve_events names the bad event spec
            raise InputError(str(err)) from None
        raise click.ClickException(str(err)) from None
    except OSError as err:
        if err.errno == errno.ENOMEM:  # buffer_size_kb is the only large allocation
            raise InputError(f"the kernel cannot allocate {buffer_kb} KiB per CPU: {err.strerror}",
                             source="--buffer-kb") from None
        where = f": {err.filename}" if err.filename else ""
        raise click.ClickException(f"tracefs: {err.strerror}{where}") from None
    finally:
        signal.signal(signal.SIGTERM, old)
        tmp.unlink(missing_ok=True)
    if cap.unmount_error:
        console.print(f"[bold red]warning[/]: tracefs was mounted by this run but could not be "
                      f"unmounted: {cap.unmount_error}")
    span = ((header.end_ns or 0) - (header.start_ns or 0)) / 1e9
    note = f" (stopped by {interrupted})" if interrupted else ""
    console.print(f"wrote {written} events over {span:.2f}s on {header.cpus} CPUs to {output}{note}")
    if header.lost_events:
        console.print(f"[bold red]warning[/]: {header.lost_events} events lost "
                      f"(overrun {header.overrun}, dropped {header.dropped}); "
                      "raise --buffer-kb or shorten --duration")


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
@click.option("-d", "--interval", type=FiniteFloat(min=0, min_open=True), default=1.0,
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

    with Live(Table(), auto_refresh=False, screen=False) as live:
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
