"""Trace files for the CLI: their format, and their events as a stream whose
reading errors are :class:`InputError` naming the file and line (shared by
``irqlab report`` and ``irqlab replay``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from irqlab.analysis.report import Report, ReportWarning
from irqlab.cli.errors import InputError
from irqlab.cli.params import NR_CPUS_MAX
from irqlab.observe.damage import Skipped
from irqlab.observe.ftrace import FtraceReader
from irqlab.observe.tracefile import (
    IRQLAB_TRACE,
    TraceFormatError,
    TraceReader,
    UnknownFormatError,
    detect_format,
)
from irqlab.progress import reading

if TYPE_CHECKING:
    from irqlab.observe.ftrace_columns import Columns


BINARY_TRACES = (
    # trace-cmd's trace.dat: "\027\010\104tracing" (trace-cmd.dat(5), all versions)
    (b"\x17\x08\x44tracing", "a trace-cmd trace.dat", "trace-cmd report -t -i {path} > {path}.txt"),
    # perf.data: "PERFILE2", or "2ELIFREP" when written on the other endianness
    # (tools/perf/util/header.c, __perf_magic2 and __perf_magic2_sw)
    (b"PERFILE2", "a perf.data file", "perf script --ns -i {path} > {path}.txt"),
    (b"2ELIFREP", "a perf.data file", "perf script --ns -i {path} > {path}.txt"),
)
"""Binary captures of other tools, known by their magic bytes, and the command
that turns each into text ``irqlab report`` reads (no well-kept Python library
reads either format)."""


def detect(path: Path) -> str:
    """The format of ``path`` (:func:`detect_format`); a binary trace.dat or
    perf.data is an :class:`InputError` naming its one-line conversion."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
        for magic, what, convert in BINARY_TRACES:
            if head.startswith(magic):
                raise InputError(f"is {what} (binary): convert it to text with "
                                 f"'{convert.format(path=path)}' and report that",
                                 source=str(path))
        return detect_format(path)
    except UnknownFormatError as err:
        raise InputError(str(err).removeprefix(f"{path}: "), source=str(path)) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", source=str(path)) from None


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Errors while reading a trace: malformed lines name the file and line,
    unreadable files the file."""
    try:
        yield
    except TraceFormatError as err:
        raise InputError(err.message, source=err.source, line=err.line) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", source=str(err.filename or path)) from None


def _checked(path: Path, columns: Iterator[Columns],
             max_cpu: Callable[[], int]) -> Iterator[Columns]:
    """``columns`` with reading errors turned into :class:`InputError` (errors of
    whoever consumes them, such as a trace writer, are not caught here), and a
    CPU number no kernel can have (``max_cpu()``, the reader's highest CPU so
    far) refused before it sizes per-CPU tables."""
    with _reading(path):
        for cols in columns:
            if max_cpu() >= NR_CPUS_MAX:
                raise InputError(f"an event on CPU {max_cpu()}: more CPUs than any kernel "
                                 f"has (NR_CPUS is at most {NR_CPUS_MAX})", source=str(path))
            yield cols


def trace_events(path: Path, fmt: str, report: Report) -> tuple[int, Iterator[Columns]]:
    """(CPU count, events as columns chunk by chunk) of a trace; fills duration
    and lost-event warnings.  Bad input, now or while the events are read, raises
    :class:`InputError`."""
    with _reading(path):
        cpus, columns, max_cpu = _open_trace(path, fmt, report)
    if cpus > NR_CPUS_MAX:
        raise InputError(f"{cpus} CPUs: more than any kernel has (NR_CPUS is at most "
                         f"{NR_CPUS_MAX})", source=str(path))
    return cpus, _checked(path, columns, max_cpu)


def _open_trace(path: Path, fmt: str,
                report: Report) -> tuple[int, Iterator[Columns], Callable[[], int]]:
    if fmt == IRQLAB_TRACE:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
        reader = TraceReader(f, str(path))
        h = reader.header
        if h.start_ns is not None and h.end_ns is not None:
            report.duration_ns = h.end_ns - h.start_ns
        if h.lost_events:
            report.warnings.append(ReportWarning(
                "lost_events", None, None,
                f"the capture lost {h.lost_events} events (overrun {h.overrun}, dropped "
                f"{h.dropped}): counts and durations are incomplete"))

        def irqlab_columns() -> Iterator[Columns]:
            with f:
                yield from reader.columns()
            _note_skipped(path, reader.skipped, report)

        return h.cpus, irqlab_columns(), lambda: reader.max_cpu
    stack = ExitStack()  # closed when the events have been read
    raw = stack.enter_context(open(path, "rb"))  # noqa: SIM115
    ftrace = FtraceReader(stack.enter_context(reading(raw, f"reading {path}")))
    columns = ftrace.columns()
    first = next(columns, None)

    def ftrace_columns() -> Iterator[Columns]:
        with stack:
            if first is not None:
                _note_resolution(path, ftrace)
                yield first
            yield from columns
        if ftrace.lost:
            report.warnings.append(ReportWarning(
                "lost_events", None, None,
                f"the trace marks {sum(n for _, n in ftrace.lost)} lost events "
                f"([LOST n EVENTS] on CPUs {sorted({c for c, _ in ftrace.lost})})"))
        _note_skipped(path, ftrace.skipped, report)

    return max(ftrace.cpus, 1), ftrace_columns(), lambda: ftrace.max_cpu


def _note_resolution(path: Path, ftrace: FtraceReader) -> None:
    """One line on stderr when the text's timestamps are coarser than ns (the
    tracefs text prints microseconds)."""
    digits = ftrace.fraction_digits
    if digits is not None and digits < 9:
        unit = {6: "microsecond", 3: "millisecond"}.get(digits, f"10^-{digits} s")
        click.echo(f"irqlab: {path}: timestamps have {unit} resolution: sub-microsecond "
                   "figures are rounded (ns text: 'trace-cmd report -t', 'irqlab run "
                   "--trace-clock ns')", err=True)


def _note_skipped(path: Path, skipped: Skipped, report: Report) -> None:
    """Damaged lines the reader left out: one line on stderr, a warning and
    ``skipped_lines`` in the report."""
    if not skipped.count:
        return
    report.skipped_lines += skipped.count
    message = skipped.message()
    report.warnings.append(ReportWarning("skipped_lines", None, None, f"{path}: {message}"))
    click.echo(f"irqlab: {path}: {message}", err=True)
