"""How commands report bad input: one clear line on stderr, never a traceback."""

from __future__ import annotations

import click


class InputError(click.ClickException):
    """Bad input named by file, line or field.  Exit status 2 (usage/input error)."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)
