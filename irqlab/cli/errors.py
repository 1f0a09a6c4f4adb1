"""How commands report bad input and Ctrl-C: one clear line on stderr, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import IO, Any, ParamSpec, TypeVar

import click

P = ParamSpec("P")
R = TypeVar("R")

SIGINT_EXIT = 130
"""Exit status after Ctrl-C: 128 + SIGINT (2), as shells report a process killed by it."""


class InputError(click.ClickException):
    """Bad input named by file, line or field.  Exit status 2 (usage/input error)."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)


class Interrupted(click.ClickException):
    """Ctrl-C: the command stopped early; one line saying where, exit status 130."""

    exit_code = SIGINT_EXIT

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Interrupted: {self.message}", err=True)


def interruptible(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Ctrl-C anywhere in ``command`` into :class:`Interrupted` (click would
    print "Aborted!" and exit 1).  A command with more to say about how far it
    got raises :class:`Interrupted` itself."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted("stopped by Ctrl-C") from None

    return wrapper
