"""Progress of long reads and of counted work (sweep runs), on stderr and
only when stderr is a terminal.

``reading(stream, label)`` wraps a binary stream: each ``read`` advances a rich
progress bar over the file's size.  Small inputs (under 16 MiB) and pipes, CI
and tests (stderr not a terminal) get the stream back untouched.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

MIN_BYTES = 16 << 20


class _Counted:
    """A ``read``-only view of a stream that reports bytes read."""

    def __init__(self, stream: BinaryIO, advance: object) -> None:
        self._stream = stream
        self._advance = advance

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._advance(len(data))  # type: ignore[operator]
        return data


@contextmanager
def reading(stream: BinaryIO, label: str) -> Iterator[BinaryIO]:
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        size = 0
    if size < MIN_BYTES or not sys.stderr.isatty():
        yield stream
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=size)
        yield _Counted(stream, lambda n: bar.advance(task, n))  # type: ignore[misc]


@contextmanager
def counting(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback for work counted in steps (sweep runs):
    a rich bar with the ETA on a terminal, a no-op elsewhere."""
    if total <= 0 or not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
