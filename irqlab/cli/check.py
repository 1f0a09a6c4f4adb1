"""``irqlab check``: a driver's handler through the standard battery."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from irqlab.cli.errors import InputError, interruptible
from irqlab.cli.params import output_path
from irqlab.cli.run import _handler_search_path

PLATFORMS = ("x86", "arm64", "armv7m")
OSES = ("linux", "windows", "freertos")


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None] | None]:
    """Which check runs, on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("checking", total=total)

        def update(name: str) -> None:
            bar.update(task, description=f"checking {name}", advance=1)

        yield update


def _write(option: str, path: str, text: str) -> None:
    """Write an output file; a failure names the option and the file."""
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", source=f"{option} {path}") from None


def _scenario(ref: str | None, platform: str | None, os_name: str | None) -> tuple[Any, str, str]:
    """The ``--scenario`` machine, if any, and the platform and OS to check on."""
    if ref is None:
        return None, platform or "x86", os_name or "linux"
    from irqlab.scenario.loader import ScenarioError, load

    try:
        spec, extras = load(ref)
    except ScenarioError as exc:
        raise InputError(str(exc).splitlines()[0]) from None
    if "experiment" in extras:
        raise InputError("is an experiment of many runs, not one machine to check on", source=ref)
    ms = spec.machine
    for option, given, has in (("--platform", platform, ms.arch), ("--os", os_name, ms.os)):
        if given is not None and given != has:
            raise InputError(f"{option} {given} contradicts the scenario's machine ({has})",
                             source=ref)
    return spec, ms.arch, ms.os


@click.command()
@click.argument("driver")
@click.option("--scenario", "scenario_ref", default=None,
              help="Machine and other devices to check on (default: built around the handler).")
@click.option("--platform", type=click.Choice(PLATFORMS), default=None,
              help="Platform of the machine built around the handler (default x86).")
@click.option("--os", "os_name", type=click.Choice(OSES), default=None,
              help="OS personality (default linux).")
@click.option("--budget", default=None,
              help="Time limits, e.g. top=5us,latency_p99=50us,bottom=200us (these are the defaults).")
@click.option("--allow-code", is_flag=True,
              help="Consent to run DRIVER's code (or set IRQLAB_ALLOW_CODE=1).")
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write JUnit XML, one testcase per check.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write a self-contained HTML report with the evidence plots.")
@click.pass_context
@interruptible
def check(ctx: click.Context, driver: str, scenario_ref: str | None, platform: str | None,
          os_name: str | None, budget: str | None, allow_code: bool, as_json: bool,
          junit_path: str | None, html_path: str | None) -> None:
    """Run DRIVER's interrupt handler through the standard battery of checks.

    DRIVER is a Python file defining handler(ctx) and optionally thread_fn(ctx),
    FLAGS and DEVICE (see docs/checklist.md).  Exit status 0 when no check fails,
    1 when one does, 2 on a usage or input error."""
    from irqlab.check import CHECKS, CheckError, parse_budget, run_battery
    from irqlab.check.render import render_html, render_junit, render_text

    if driver.endswith(".toml") and scenario_ref is not None:
        raise InputError("is a scenario: it brings its machine, --scenario is not needed",
                         source=driver)
    spec, arch, os_ = _scenario(scenario_ref or (driver if driver.endswith(".toml") else None),
                                platform, os_name)
    try:
        limits = parse_budget(budget)
        with _progress(len(CHECKS)) as progress, _handler_search_path(scenario_ref or driver):
            checklist = run_battery(driver, platform=arch, os=os_, budget=limits, scenario=spec,
                                    allow_code=allow_code,
                                    seed=spec.scenario.seed if spec is not None else 1,
                                    progress=progress)
    except CheckError as exc:
        raise InputError(str(exc)) from None
    if junit_path:
        _write("--junit", junit_path, render_junit(checklist))
    if html_path:
        _write("--html", html_path, render_html(checklist))
    if as_json:
        click.echo(json.dumps(checklist.to_json(), indent=2, default=str))
    else:
        click.echo(render_text(checklist))
    ctx.exit(0 if checklist.passed else 1)


COMMANDS: list[click.Command] = [check]
