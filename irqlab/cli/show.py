"""How ``run``, ``report`` and ``replay`` show a report: text, ``--json``,
``--hist`` (power-of-two histograms) and ``--hdr FILE`` (HdrHistogram log)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from irqlab.analysis.report import Report
from irqlab.cli.errors import InputError
from irqlab.cli.output import open_output
from irqlab.cli.params import output_path

F = TypeVar("F", bound=Callable[..., Any])


def show_options(command: F) -> F:
    """The ``--json``, ``--hist`` and ``--hdr FILE`` options of a reporting command."""
    for option in reversed([
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
        click.option("--hist", is_flag=True,
                     help="Also draw every distribution as a power-of-two histogram "
                          "(as bcc hardirqs -d)."),
        click.option("--hdr", "hdr_path", type=click.Path(dir_okay=False), callback=output_path,
                     default=None, help="Write the distributions as an HdrHistogram log "
                                        "(HistogramLogAnalyzer, HistogramLogProcessor)."),
    ]):
        command = option(command)
    return command


def show(report: Report, as_json: bool, hist: bool, hdr_path: str | None) -> None:
    """Print ``report`` as asked and write its HdrHistogram log."""
    from irqlab.report.text import render_text

    if hdr_path is not None:
        _write_hdr(hdr_path, report)
    data = report.to_json()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(render_text(report), nl=False)
    if not hist:
        return
    from irqlab.report.hist import render_hist  # only when asked: start-up

    drawn = render_hist(data)
    if drawn:
        click.echo("\nDistributions (power-of-two buckets)\n\n" + drawn, nl=False)


def _write_hdr(path: str, report: Report) -> None:
    try:
        import hdrh.histogram  # noqa: F401  (the optional dependency)

        from irqlab.report.hdr import write_hdr
    except ImportError:
        raise InputError("needs the hdrhistogram package: pip install 'irqlab[hdr]'",
                         source="--hdr") from None
    with open_output(path, option="--hdr") as f:
        write_hdr(f, report)
