"""Checks on options shared by the commands: finite numbers, CPU counts, and
the files a command writes (checked before the work starts; a failed write
names the option and the file)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

import click

from irqlab.cli.errors import InputError
from irqlab.cli.output import open_output, output_error
from irqlab.usercode import ALLOW_CODE_ENV

NR_CPUS_MAX = 8192
"""The most CPUs a Linux kernel can be built for (x86-64 ``NR_CPUS_RANGE_END``,
arch/x86/Kconfig); a trace or CPU list naming more is corrupt or mistyped."""


class TraceWriter(Protocol):
    """A trace file writer (ftrace text, Chrome JSON): fed events, then closed."""

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None: ...

    def close(self) -> None: ...


class FiniteFloat(click.FloatRange):
    """A float range refusing nan and inf (click's range check lets nan through),
    said before the range is checked."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not math.isfinite(click.FLOAT.convert(value, param, ctx)):
            self.fail(f"expected a finite number, got {value!r}", param, ctx)
        return super().convert(value, param, ctx)


def scenario_folder(ref: str) -> Path | None:
    """The folder of a scenario file, absolute (code it names is loaded from
    there, by this process or a sweep's workers whatever their working
    directory); None for a built-in scenario."""
    path = Path(ref)
    return path.resolve().parent if path.is_file() else None


def output_path(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Callback of a ``click.Path(dir_okay=False)`` option naming a file to
    write: its directory exists and is writable (checked now, so that a long
    run does not fail at the end)."""
    if value is None:
        return None
    path = Path(value)
    parent = path.parent
    if not parent.is_dir():
        raise click.BadParameter(f"cannot write {value}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) and not os.access(path, os.W_OK):
        raise click.BadParameter(f"cannot write {value}: no permission")
    return value


@contextmanager
def output_files(*files: tuple[str, Any, Callable[[IO[Any]], TraceWriter]]
                 | tuple[str, Any, Callable[[IO[Any]], TraceWriter], bool]
                 ) -> Iterator[list[TraceWriter]]:
    """Open each ``(option, path, make)`` or ``(option, path, make, binary)``
    whose path is not None with :func:`~irqlab.cli.output.open_output` (in
    binary mode when ``binary``) and yield ``make(file)`` of each.
    At the end the writers are closed and the files completed; a run stopped by
    Ctrl-C or SIGTERM completes them too (a trace cut short is still a complete
    file) and then re-raises.  An OSError while writing becomes an
    :class:`InputError` naming every output (which one failed cannot be told)
    and leaves no partial file."""
    chosen = [(option, path, make, any(binary)) for option, path, make, *binary in files
              if path is not None]
    stopped: KeyboardInterrupt | None = None
    with ExitStack() as stack:
        writers = [make(stack.enter_context(
                       open_output(path, binary=True, option=option) if binary
                       else open_output(path, option=option)))
                   for option, path, make, binary in chosen]
        try:
            yield writers
        except KeyboardInterrupt as exc:
            stopped = exc
        except OSError as err:
            names = ", ".join(f"{option} {path}" for option, path, _, _ in chosen)
            raise InputError(f"cannot write: {err.strerror or err}", source=names) from None
        for writer, (option, path, _, _) in zip(writers, chosen, strict=True):
            try:
                writer.close()
            except OSError as err:
                raise output_error(err, path, option) from None
    if stopped is not None:
        raise stopped


allow_code_option = click.option(
    "--allow-code", "allow_code", is_flag=True, envvar=ALLOW_CODE_ENV, show_envvar=True,
    help="Run the Python code the scenario names (handler.python); without it, a scenario "
         "naming code is refused.")
"""Consent to run user code (:mod:`irqlab.usercode`), for every command that can."""
