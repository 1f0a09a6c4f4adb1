"""``irqlab trace`` (capture from tracefs) and ``irqlab top`` (live IRQ rates)."""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import select
import shutil
import signal
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from irqlab.cli.errors import (
    InputError,
    Interrupted,
    Terminated,
    interruptible,
    signals_allowed,
    signals_deferred,
    stop_reason,
)
from irqlab.cli.output import open_output
from irqlab.cli.params import NR_CPUS_MAX, FiniteFloat, output_path
from irqlab.observe.procfs import ProcfsError
from irqlab.observe.top import (
    QUIT_KEYS,
    SORT_BY_KEY,
    SORT_KEYS,
    Sample,
    TopRow,
    cpu_columns,
    cpu_shares,
    read_sample,
    refreshes,
    render_plain,
    share_table,
    snapshot_json,
    table,
    top_rows,
)
from irqlab.observe.tracefs import (
    DEFAULT_EVENTS,
    STOP_GRACE_S,
    Capture,
    TracedCommand,
    TracefsError,
)

POLL_S = 0.1
MAX_INTERVAL_S = 86400.0
"""Longest ``top`` refresh interval: a day (longer is a typo, and past about 2**63
ns ``time.sleep`` overflows)."""


DEFAULT_DURATION_S = 10.0


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--duration", type=FiniteFloat(min=0, min_open=True),
              help=f"Seconds to capture (default {DEFAULT_DURATION_S:g}; not with a command, "
                   "which is traced until it exits).  Ctrl-C or SIGTERM ends early.")
@click.option("--events", default=",".join(DEFAULT_EVENTS), show_default=True,
              help="Comma list: 'irq' (handler + softirq events), 'irq_vectors' (x86 timer/IPI "
                   "vectors, which never fire irq_handler_entry), 'sched' (sched_switch, "
                   "sched_wakeup: IRQ-thread latency), 'workqueue' (work items), or single "
                   "system:event names (irq:tasklet_entry,irq:tasklet_exit).")
@click.option("--buffer-kb", type=click.IntRange(min=64), default=4096, show_default=True,
              help="Per-CPU ring buffer of the capture instance (buffer_size_kb).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=output_path, help="irqlab trace file to write (format: docs/trace-format.md).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- CMD ARGS...]")
@interruptible
def trace(duration: float | None, events: str, buffer_kb: int, output: Path,
          command: tuple[str, ...]) -> None:
    """Capture IRQ events from tracefs into an irqlab trace (needs root).

    Uses a tracefs instance of its own with the mono clock and reads the per-CPU
    raw buffers for nanosecond timestamps; everything is restored on exit, Ctrl-C,
    SIGTERM or error.  Lost events and overruns are counted in the file header.
    Ctrl-C or SIGTERM at any moment ends the capture: what was captured is saved
    as a complete trace, then the command exits 130 (Ctrl-C) or 143 (SIGTERM).

    With '-- CMD ARGS...' (as perf record): tracing is switched on, then CMD
    runs, and the capture stops when it exits; irqlab trace then exits with
    CMD's exit status (128 + N if signal N killed it).  Ctrl-C or SIGTERM is
    passed on to CMD, which is reaped before the trace is saved.
    """
    from irqlab.progress import capture_progress, console

    specs = [s.strip() for s in events.split(",") if s.strip()]
    if not specs:
        raise InputError("--events is empty")
    argv = list(command)
    if argv and duration is not None:
        raise InputError("give --duration or a command to trace until it exits, not both "
                         "(to bound a command: -- timeout SECONDS CMD)", source="--duration")
    if argv and shutil.which(argv[0]) is None:
        raise InputError("command not found (or not executable)", source=argv[0])
    err = console()
    status = None
    try:
        # Set-up, saving and tear-down run with SIGINT and SIGTERM held back, so
        # they are never cut in half; only the capture loop takes them, and one
        # that arrived earlier ends it at once.
        with signals_deferred(), Capture(specs, buffer_kb=buffer_kb) as cap:
            for name in cap.stale:
                err.print(f"removed stale tracefs instance {name} (its process is gone)")
            for name in cap.stale_spools:
                err.print(f"removed stale capture spool {name} (its process is gone)")
            if argv:
                cap.start()
                stopped, status = _capture_command(cap, argv)
            else:
                with capture_progress(duration or DEFAULT_DURATION_S) as progress:
                    cap.start()
                    stopped = _capture(cap, duration or DEFAULT_DURATION_S, progress)
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
    if status is not None:
        done += f" ({argv[0]} exited with status {status})"
    if stopped is not None:
        raise Interrupted(f"{done} (stopped by {stop_reason(stopped)})", signalled=stopped)
    err.print(done, markup=False)  # a path may hold [brackets]
    if status:
        raise SystemExit(status)


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


def _capture_command(cap: Capture, argv: list[str]) -> tuple[KeyboardInterrupt | None, int]:
    """Run ``argv`` under the started capture, polling ``cap`` until it exits;
    returns the Ctrl-C or SIGTERM that stopped it, if one did, and its status.
    The command is started with SIGINT and SIGTERM still held back: one arriving
    meanwhile is passed on to it."""
    try:
        child = TracedCommand(argv)
    except OSError as exc:
        raise InputError(f"cannot run: {exc.strerror}", source=argv[0]) from None
    try:
        with signals_allowed():
            while (status := child.wait(POLL_S)) is None:
                cap.poll()
    except KeyboardInterrupt as exc:
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        return exc, child.stop(signum, STOP_GRACE_S)
    return None, status


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
@click.option("-s", "--sort", type=click.Choice(SORT_KEYS), default="delta", show_default=True,
              help="Initial sort; on a terminal the keys i, t, d and n change it, q quits.")
@click.option("-c", "--cpu", "cpus", callback=_cpu_list, help="Only these CPUs, e.g. '0-3,8'.")
@click.option("--irq", "pattern", help="Only rows whose IRQ or name matches this glob, e.g. 'eth*'.")
@click.option("-t", "--threshold", type=FiniteFloat(min=0), default=0.0,
              help="Hide rows below this many interrupts per second.")
@click.option("--idle", is_flag=True, help="Also show rows with no interrupt in the interval.")
@click.option("-S", "--softirqs", is_flag=True, help="Show /proc/softirqs instead.")
@click.option("--once", is_flag=True, help="Print one refresh and exit (plain text).")
@click.option("-n", "--count", type=click.IntRange(min=1), help="Print N refreshes and exit (plain text).")
@click.option("--json", "as_json", is_flag=True,
              help="Print each refresh as one JSON object a line (for scripts; never interactive).")
@click.option("--proc", "proc_root", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/proc"), hidden=True,
              help="Directory holding interrupts, softirqs, stat and irq/N/smp_affinity_list.")
@interruptible
def top(interval: float, sort: str, cpus: list[int] | None, pattern: str | None,
        threshold: float, idle: bool, softirqs: bool, once: bool, count: int | None,
        as_json: bool, proc_root: Path) -> None:
    """Live per-IRQ, per-CPU interrupt rates from /proc/interrupts, like util-linux
    irqtop (no root needed).

    On a terminal: a live table until q or Ctrl-C; keys i, t, d, n sort by IRQ,
    total, delta, name.  With --once/--count/--json, or when stdout is not a
    terminal: one plain table (or JSON line) per refresh.  Per CPU, %irq and
    %softirq come from /proc/stat; refreshes keep a fixed cadence.
    """
    path = proc_root / ("softirqs" if softirqs else "interrupts")

    def read(t: float) -> Sample:
        try:
            return read_sample(proc_root, softirqs, t)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", source=str(path)) from None
        except ProcfsError as err:
            raise InputError(err.message, source=err.source, line=err.line) from None

    first = read(time.monotonic())
    absent = [c for c in cpus or [] if c >= first.snapshot.cpus]
    if absent:
        raise InputError(f"CPU {absent[0]} is not in {path} (CPUs 0-{first.snapshot.cpus - 1})",
                         source="--cpu")
    view = _View(softirqs, cpus, pattern, threshold, idle, sort)
    pairs = refreshes(first, read, interval, time.monotonic, time.sleep)
    if once or count or as_json or not sys.stdout.isatty():
        for i, (prev, cur) in enumerate(itertools.islice(pairs, 1 if once else count)):
            if as_json:
                click.echo(json.dumps(view.json(prev, cur)))
            else:
                click.echo(("\n" if i else "") + view.plain(prev, cur), nl=False)
        return
    _live(first, read, interval, view)


@dataclass
class _View:
    """What ``irqlab top`` shows of a (previous, current) pair of samples."""

    softirqs: bool
    cpus: list[int] | None
    pattern: str | None
    threshold: float
    idle: bool
    sort: str

    def rows(self, prev: Sample, cur: Sample) -> list[TopRow]:
        return top_rows(prev, cur, softirqs=self.softirqs, cpus=self.cpus, pattern=self.pattern,
                        threshold=self.threshold, sort=self.sort, idle=self.idle)

    def plain(self, prev: Sample, cur: Sample) -> str:
        cpu_ids = cpu_columns(cur.snapshot, self.cpus)
        return render_plain(self.rows(prev, cur), cpu_ids, cur.t - prev.t,
                            cpu_shares(prev, cur, cpu_ids), self.softirqs)

    def json(self, prev: Sample, cur: Sample) -> dict[str, Any]:
        cpu_ids = cpu_columns(cur.snapshot, self.cpus)
        return snapshot_json(self.rows(prev, cur), cpu_ids, prev, cur,
                             cpu_shares(prev, cur, cpu_ids), self.sort)


class _Quit(Exception):
    """The q key."""


@contextlib.contextmanager
def _keys() -> Iterator[Callable[[float], str | None]]:
    """``read(timeout)``: the next key pressed on the terminal on stdin within
    ``timeout`` seconds, or None (also when stdin is not a terminal).  The
    terminal is in cbreak mode meanwhile: keys arrive unbuffered and unechoed,
    Ctrl-C still sends SIGINT."""
    fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None

    def read(timeout: float) -> str | None:
        if fd is None:
            time.sleep(timeout)
            return None
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1).decode(errors="replace") if ready else None

    if fd is None:
        yield read
        return
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield read
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _live(first: Sample, read: Callable[[float], Sample], interval: float, view: _View) -> None:
    """The rich Live view, refreshed every ``interval`` until q or Ctrl-C."""
    from rich.console import Group
    from rich.live import Live
    from rich.table import Table

    from irqlab.progress import console

    def render(prev: Sample, cur: Sample) -> Group:
        rows = view.rows(prev, cur)
        cpu_ids = cpu_columns(cur.snapshot, view.cpus)
        tables = []
        for title, (header, body), text_last in (
                ("", share_table(cpu_shares(prev, cur, cpu_ids)), False),
                (f"irqlab top: {len(rows)} rows, interval {cur.t - prev.t:.2f}s, sort "
                 f"{view.sort}  (i t d n: sort, q: quit)",
                 table(rows, cpu_ids, view.softirqs), True)):
            t = Table(title=title or None)
            for i, h in enumerate(header):
                left = i == 0 or (text_last and i == len(header) - 1)
                t.add_column(h, justify="left" if left else "right")
            for cells in body:
                t.add_row(*cells)
            tables.append(t)
        return Group(*tables)

    with Live(Table(), console=console(stdout=True), auto_refresh=False, screen=False) as live, \
            _keys() as key:
        shown: tuple[Sample, Sample] | None = None

        def wait(seconds: float) -> None:
            """Sleep ``seconds``, acting on keys meanwhile."""
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                pressed = key(left)
                if pressed in QUIT_KEYS:
                    raise _Quit
                if pressed in SORT_BY_KEY and shown is not None:
                    view.sort = SORT_BY_KEY[pressed]
                    live.update(render(*shown), refresh=True)

        try:
            for shown in refreshes(first, read, interval, time.monotonic, wait):
                live.update(render(*shown), refresh=True)
        except (_Quit, KeyboardInterrupt):
            pass


COMMANDS: list[click.Command] = [trace, top]
