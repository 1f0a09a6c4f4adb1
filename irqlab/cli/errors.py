"""How commands report bad input and being stopped: one clear line on stderr,
never a traceback.

Exit status, the same for every command (128 + the signal number, as shells
report a process killed by that signal; ``signal(7)``):

* 0 success (``triage``: something was found), 1 ``triage`` found nothing,
* 2 bad input or an output that cannot be written,
* 130 stopped by Ctrl-C (SIGINT, 2), 143 stopped by SIGTERM (15),
* 141 stdout is a pipe whose reader has gone (SIGPIPE, 13): nothing more is
  printed, as ``yes | head`` ends quietly.
"""

from __future__ import annotations

import contextlib
import functools
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import IO, Any, ParamSpec, TypeVar

import click

P = ParamSpec("P")
R = TypeVar("R")

SIGINT_EXIT = 128 + signal.SIGINT
"""Exit status after Ctrl-C: 130."""
SIGTERM_EXIT = 128 + signal.SIGTERM
"""Exit status after SIGTERM: 143."""
SIGPIPE_EXIT = 128 + signal.SIGPIPE
"""Exit status when stdout's reader has gone: 141."""


class InputError(click.ClickException):
    """Bad input named by file, line or field.  Exit status 2 (usage/input error)."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived.  A KeyboardInterrupt, so that every clean-up written for
    Ctrl-C runs for it too; :func:`stop_reason` tells them apart."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def handle_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread, as SIGINT
    raises KeyboardInterrupt."""
    signal.signal(signal.SIGTERM, _raise_terminated)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _sigmask(how: int) -> Iterator[None]:
    old = signal.pthread_sigmask(how, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def signals_deferred() -> contextlib.AbstractContextManager[None]:
    """Hold SIGINT and SIGTERM back while the block runs (set-up and tear-down
    that must not be cut in half; threads started in it inherit the mask).  One
    that arrived meanwhile is delivered, and raises, as the block ends."""
    return _sigmask(signal.SIG_BLOCK)


def signals_allowed() -> contextlib.AbstractContextManager[None]:
    """Let SIGINT and SIGTERM through inside a :func:`signals_deferred` block;
    one held back is delivered as this block starts."""
    return _sigmask(signal.SIG_UNBLOCK)


def stop_reason(exc: KeyboardInterrupt) -> str:
    """``"SIGTERM"`` or ``"Ctrl-C"``, for messages."""
    return "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"


class Interrupted(click.ClickException):
    """Stopped by Ctrl-C or SIGTERM: one line saying where, exit status 130 or 143."""

    def __init__(self, message: str, *, signalled: KeyboardInterrupt | None = None):
        super().__init__(message)
        self.exit_code = SIGTERM_EXIT if isinstance(signalled, Terminated) else SIGINT_EXIT  # type: ignore[misc, unused-ignore]  # ClassVar from click 8.5

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Interrupted: {self.message}", err=True)


def interruptible(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Ctrl-C or SIGTERM anywhere in ``command`` into :class:`Interrupted`
    (click would print "Aborted!" and exit 1).  A command with more to say about
    how far it got raises :class:`Interrupted` itself."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise Interrupted(f"stopped by {stop_reason(exc)}", signalled=exc) from None

    return wrapper
