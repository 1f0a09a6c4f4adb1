"""The one place where rich consoles and progress bars are made.

* :func:`console`: messages for the user on stderr (``irqlab top``'s live table
  on stdout).  When the stream is not a terminal (pipes, CI, tests, log files)
  a message is never wrapped: one message, one line, so scripts can grep it.
  On a terminal rich wraps at the terminal's width.
* :func:`reading`: a progress bar over a long binary read.
* :func:`run_progress`: a progress bar over a simulated run.
* :func:`capture_progress`: a progress bar over a live capture.
* :func:`counting`: a progress bar with the ETA over counted work (sweep runs).

Progress bars are drawn on stderr, only when it is a terminal; elsewhere the
callers get ``None`` or their stream back untouched.  rich is imported only when a console
is made, so commands that never print through it do not pay for the import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from io import BufferedIOBase

    from rich.console import Console
    from rich.progress import Progress, ProgressColumn

MIN_BYTES = 16 << 20
"""Smallest file worth a progress bar when read."""


def console(*, stdout: bool = False) -> Console:
    """A rich console on stderr (or stdout): no wrapping, colour or highlighting
    when that stream is not a terminal; the terminal's width when it is."""
    from rich.console import Console

    terminal = (sys.stdout if stdout else sys.stderr).isatty()
    return Console(stderr=not stdout, soft_wrap=not terminal, highlight=terminal)


def _bar(*columns: ProgressColumn) -> Progress:
    """A transient bar on the console of :func:`console`."""
    from rich.progress import Progress

    return Progress(*columns, console=console(), transient=True)


class _Counted:
    """A ``read``/``readline``/``readinto``-only view of a stream that reports bytes read."""

    def __init__(self, stream: BinaryIO, advance: Callable[[int], None]) -> None:
        self._stream = stream
        self._advance = advance

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._advance(len(data))
        return data

    def readline(self, n: int = -1) -> bytes:
        data = self._stream.readline(n)
        self._advance(len(data))
        return data

    def readinto(self, buffer: memoryview) -> int:
        n = cast("BufferedIOBase", self._stream).readinto(buffer)  # files opened "rb" have it
        self._advance(n)
        return n


@contextmanager
def reading(stream: BinaryIO, label: str) -> Iterator[BinaryIO]:
    """``stream`` wrapped so that each ``read`` advances a bar over the file's
    size; small inputs (under :data:`MIN_BYTES`) and non-terminals get it back
    untouched."""
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        size = 0
    if size < MIN_BYTES or not sys.stderr.isatty():
        yield stream
        return
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn

    with _bar(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
              TimeRemainingColumn()) as bar:
        task = bar.add_task(label, total=size)
        yield _Counted(stream, lambda n: bar.advance(task, n))  # type: ignore[misc]


@contextmanager
def steps_progress(total: int, label: str) -> Iterator[Callable[[str], None] | None]:
    """Yield a ``progress(step_name)`` callback, called as each of ``total``
    steps starts (the bar counts those done), or ``None`` when stderr is not a
    terminal."""
    if not sys.stderr.isatty() or total <= 0:
        yield None
        return
    from rich.progress import BarColumn, TextColumn

    with _bar(TextColumn("[bold]{task.description}"), BarColumn(),
              TextColumn("{task.completed}/{task.total}")) as bar:
        task = bar.add_task(label, total=total)
        started = [0]

        def update(name: str) -> None:
            bar.update(task, description=f"{label} {name}", completed=started[0])
            started[0] += 1

        yield update


@contextmanager
def run_progress(total_ns: int, label: str = "simulating") -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``progress(now_ns, events)`` callback drawing a bar over the
    simulated time, or ``None`` when stderr is not a terminal."""
    if not sys.stderr.isatty() or total_ns <= 0:
        yield None
        return
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

    with _bar(TextColumn("[bold]{task.description}"), BarColumn(),
              TextColumn("{task.percentage:>5.1f}%"), TextColumn("{task.fields[events]} events"),
              TimeRemainingColumn()) as bar:
        task = bar.add_task(label, total=total_ns, events=0)

        def update(now_ns: int, events: int) -> None:
            bar.update(task, completed=min(now_ns, total_ns), events=events)

        yield update


@contextmanager
def capture_progress(duration_s: float) -> Iterator[Callable[[float, int, int], None] | None]:
    """Yield a ``progress(elapsed_s, events, lost)`` callback drawing a bar over
    the capture's duration, or ``None`` when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    with _bar(TextColumn("capturing"), BarColumn(), TimeElapsedColumn(),
              TextColumn("{task.fields[events]} events, {task.fields[lost]} lost")) as bar:
        task = bar.add_task("trace", total=duration_s, events=0, lost=0)

        def update(elapsed_s: float, events: int, lost: int) -> None:
            bar.update(task, completed=elapsed_s, events=events, lost=lost)

        yield update


@contextmanager
def counting(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback for work counted in steps (sweep runs):
    a bar with the ETA on a terminal, a no-op elsewhere."""
    if total <= 0 or not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with _bar(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
              TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
