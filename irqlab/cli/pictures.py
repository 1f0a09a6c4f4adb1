"""``--html FILE``, ``--png DIR`` and ``--perfetto FILE``, shared by the
commands that make a report: the options, the early check that the optional
library is installed (before a long run, one line naming the extra to install),
and writing the pictures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from irqlab.analysis.report import Report
from irqlab.cli.errors import InputError
from irqlab.cli.output import open_output, output_error
from irqlab.cli.params import output_path

F = TypeVar("F", bound=Callable[..., Any])


def png_dir(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Callback of ``--png DIR``: a directory that exists or can be made."""
    if value is None:
        return None
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise click.BadParameter(f"{value} exists and is not a directory")
    if not path.exists() and not path.parent.is_dir():
        raise click.BadParameter(f"cannot make {value}: directory {path.parent} does not exist")
    return value


def picture_options(command: F) -> F:
    """Add ``--html FILE`` and ``--png DIR`` to ``command``."""
    command = click.option(
        "--png", "png_dir", type=click.Path(file_okay=False), callback=png_dir, default=None,
        help="Write each chart of the report as DIR/<chart>.png (needs irqlab[plot]).")(command)
    return click.option(
        "--html", "html_path", type=click.Path(dir_okay=False), callback=output_path, default=None,
        help="Write the report as one self-contained HTML page with charts (needs irqlab[plot]).",
    )(command)


def check_extras(html_path: str | None, png: str | None, perfetto_path: str | None = None) -> None:
    """Before any work: the library of each output asked for is installed."""
    from irqlab.report.extras import PERFETTO, PLOT, MissingExtra, require

    for option, value, feature in (("--html", html_path, PLOT), ("--png", png, PLOT),
                                   ("--perfetto", perfetto_path, PERFETTO)):
        if value is not None:
            try:
                require(feature)
            except MissingExtra as exc:
                raise InputError(str(exc), source=option) from None


def write_pictures(report: Report, html_path: str | None, png: str | None) -> None:
    """Write the HTML page and/or the PNG charts of ``report``."""
    if html_path is not None:
        from irqlab.report.html import render_html

        page = render_html(report)
        with open_output(html_path, option="--html") as f:
            f.write(page)
    if png is not None:
        from irqlab.report.plots import charts, write_png

        try:
            Path(png).mkdir(exist_ok=True)
        except OSError as exc:
            raise output_error(exc, png, "--png") from None
        for chart in charts(report):
            with open_output(Path(png) / f"{chart.id}.png", binary=True, option="--png") as f:
                write_png(chart, f)
