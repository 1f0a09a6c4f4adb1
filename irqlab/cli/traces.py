"""Trace files for the CLI: their format, and their events as a stream whose
reading errors are :class:`InputError` naming the file and line (shared by
``irqlab report`` and ``irqlab replay``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from irqlab.analysis.report import Report, ReportWarning
from irqlab.cli.errors import InputError
from irqlab.cli.params import NR_CPUS_MAX
from irqlab.events import Event
from irqlab.observe.ftrace import FtraceReader
from irqlab.observe.tracefile import (
    IRQLAB_TRACE,
    TraceFormatError,
    TraceReader,
    UnknownFormatError,
    detect_format,
)
from irqlab.progress import reading


def detect(path: Path) -> str:
    try:
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


def _checked(path: Path, events: Iterator[Event]) -> Iterator[Event]:
    """``events`` with reading errors turned into :class:`InputError` (errors of
    whoever consumes them, such as a trace writer, are not caught here), and a
    CPU number no kernel can have refused before it sizes per-CPU tables."""
    with _reading(path):
        for ev in events:
            if ev.cpu >= NR_CPUS_MAX:
                raise InputError(f"an event on CPU {ev.cpu}: more CPUs than any kernel "
                                 f"has (NR_CPUS is at most {NR_CPUS_MAX})", source=str(path))
            yield ev


def trace_events(path: Path, fmt: str, report: Report) -> tuple[int, Iterator[Event]]:
    """(CPU count, events) of a trace; fills duration and lost-event warnings.
    Bad input, now or while the events are read, raises :class:`InputError`."""
    with _reading(path):
        cpus, events = _open_trace(path, fmt, report)
    if cpus > NR_CPUS_MAX:
        raise InputError(f"{cpus} CPUs: more than any kernel has (NR_CPUS is at most "
                         f"{NR_CPUS_MAX})", source=str(path))
    return cpus, _checked(path, events)


def _open_trace(path: Path, fmt: str, report: Report) -> tuple[int, Iterator[Event]]:
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

        def irqlab_events() -> Iterator[Event]:
            with f:
                yield from reader

        return h.cpus, irqlab_events()
    stack = ExitStack()  # closed when the events have been read
    raw = stack.enter_context(open(path, "rb"))  # noqa: SIM115
    ftrace = FtraceReader(stack.enter_context(reading(raw, f"reading {path}")))
    batches = ftrace.batches()
    first = next(batches, [])

    def ftrace_events() -> Iterator[Event]:
        with stack:
            yield from first
            for batch in batches:
                yield from batch
        if ftrace.lost:
            report.warnings.append(ReportWarning(
                "lost_events", None, None,
                f"the trace marks {sum(n for _, n in ftrace.lost)} lost events "
                f"([LOST n EVENTS] on CPUs {sorted({c for c, _ in ftrace.lost})})"))

    return max(ftrace.cpus, 1), ftrace_events()


