"""The ``irqlab`` command.  Each subcommand lives in its own module of this
package, imported only when that command runs (start-up stays cheap); commands
only glue layers together.

Failures that no command handles itself are handled here, once: Ctrl-C and
SIGTERM anywhere, stdout that cannot be written (a full disk, a closed pipe),
including the flush at exit, and usage errors (one ``Error:`` line).  Exit statuses: :mod:`irqlab.cli.errors`.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib
import os
import sys
from typing import Any, NoReturn

import click

from irqlab import __version__
from irqlab.cli.errors import (
    SIGPIPE_EXIT,
    InputError,
    Interrupted,
    handle_sigterm,
    stop_reason,
)

MODULES = {
    "run": "run", "validate": "run", "scenarios": "run", "replay": "run",
    "report": "report", "trace": "observe", "top": "observe", "triage": "triage",
    "sweep": "sweep", "check": "check",
}
"""Command name -> the module of this package whose ``COMMANDS`` holds it."""


class StdoutGone(click.ClickException):
    """stdout is a pipe whose reader has gone: say nothing more, exit 141."""

    exit_code = SIGPIPE_EXIT

    def __init__(self) -> None:
        super().__init__("stdout closed")

    def show(self, file: Any = None) -> None:
        pass


def stream_error(err: OSError) -> click.ClickException:
    """An OSError no command handled: a write to stdout (or the file it names)
    failed.  EPIPE ends quietly; anything else is one line, exit 2."""
    if err.errno == errno.EPIPE:
        return StdoutGone()
    return InputError(f"cannot write: {err.strerror or err}", source=err.filename or "stdout")


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's own flush at exit cannot
    fail again on data that could not be written."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _report(failure: click.ClickException) -> int:
    """Show ``failure`` if stderr can take it; its exit status."""
    with contextlib.suppress(OSError):
        failure.show()
    return failure.exit_code


def _one_line(exc: click.UsageError) -> click.UsageError:
    """A usage error shown as its one ``Error:`` line, without click's usage
    block: every bad input is one line.  (Help shown for a bare ``irqlab``
    comes as a UsageError with its own ``show``, and stays as it is.)"""
    if type(exc).show is click.UsageError.show:
        exc.ctx = None
    return exc


class IrqlabGroup(click.Group):
    """The command group: commands imported on demand, failures handled once."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in MODULES:
            return None
        module = importlib.import_module(f"irqlab.cli.{MODULES[cmd_name]}")
        return next(c for c in module.COMMANDS if c.name == cmd_name)

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None
        except KeyboardInterrupt as exc:
            raise Interrupted(f"stopped by {stop_reason(exc)}", signalled=exc) from None
        except OSError as err:
            raise stream_error(err) from None


def _version_message() -> str:
    from irqlab._compiled import compiled

    return f"%(prog)s %(version)s ({'compiled core' if compiled() else 'pure Python'})"


@click.group(cls=IrqlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="irqlab", message=_version_message())
def cli() -> None:
    """Simulate, observe, stress and diagnose interrupt handling."""


PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"
"""irqlab uses no pydantic plugin; finding them reads the entry points of every
installed distribution (``importlib.metadata``) when the first model is built,
~20 ms of every start.  The command turns that off unless the variable is set
(pydantic docs, "Plugins": ``__all__`` disables all of them)."""


GC_THRESHOLD = (50_000, 20, 20)
"""The command's collector thresholds (CPython's: 700, 10, 10).  Start-up
allocates some 300,000 objects that all live on, and the default thresholds
collect 60 times over them for nothing (~14 ms of a 1 us run); a run's own
garbage is freed by reference counting, and its cycles are collected as before,
in larger batches (full runs of default and receive-livelock: same CPU time and
peak memory)."""


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLD)
    os.environ.setdefault(PYDANTIC_PLUGINS_ENV, "__all__")
    handle_sigterm()
    try:
        cli.main(args=argv, prog_name="irqlab", standalone_mode=True)
        status: Any = 0
    except SystemExit as exc:
        status = exc.code
    except OSError as err:  # writing --help or --version, or stderr itself
        status = _report(stream_error(err))
    try:
        sys.stdout.flush()
    except OSError as err:
        _silence_stdout()
        status = status or _report(stream_error(err))
    else:
        if status == SIGPIPE_EXIT:
            _silence_stdout()
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
