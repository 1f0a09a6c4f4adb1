"""Progress of long runs, on stderr and only when stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def run_progress(total_ns: int, label: str = "simulating") -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``progress(now_ns, events)`` callback drawing a rich progress bar,
    or ``None`` when stderr is not a terminal (pipes, CI, tests)."""
    if not sys.stderr.isatty() or total_ns <= 0:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[events]} events"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total_ns, events=0)

        def update(now_ns: int, events: int) -> None:
            bar.update(task, completed=min(now_ns, total_ns), events=events)

        yield update
