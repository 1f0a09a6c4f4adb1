"""``irqlab check``: a driver's handler through the standard battery."""

from __future__ import annotations

import json
import sys

import click

from irqlab.cli.errors import InputError
from irqlab.cli.output import open_output
from irqlab.cli.params import allow_code_option, output_path


def _write(option: str, path: str, text: str) -> None:
    with open_output(path, option=option) as f:
        f.write(text)


@click.command()
@click.argument("driver")
@click.option("--scenario", "scenario_ref", default=None,
              help="Machine and other devices to check on (default: built around the handler).")
@click.option("--platform", metavar="x86|arm64|armv7m", default=None,
              help="Platform of the machine built around the handler (default x86).")
@click.option("--os", "os_name", metavar="linux|windows|freertos", default=None,
              help="OS personality (default linux).")
@click.option("--budget", default=None,
              help="Time limits, e.g. top=5us,latency_p99=50us,bottom=200us (these are the defaults).")
@allow_code_option
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write JUnit XML, one testcase per check.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write a self-contained HTML report with the evidence plots.")
@click.pass_context
def check(ctx: click.Context, driver: str, scenario_ref: str | None, platform: str | None,
          os_name: str | None, budget: str | None, allow_code: bool, as_json: bool,
          junit_path: str | None, html_path: str | None) -> None:
    """Run DRIVER's interrupt handler through the standard battery of checks.

    DRIVER is a Python file defining handler(ctx) and optionally thread_fn(ctx),
    FLAGS and DEVICE, or a scenario whose device names its handler (see
    docs/checklist.md); its code runs only with --allow-code.  Exit status 0
    when no check fails, 1 when one does, 2 on a usage or input error."""
    from irqlab.check import CHECKS, CheckError, parse_budget, run_battery
    from irqlab.check.render import render_html, render_junit, render_table, render_text
    from irqlab.cli.pictures import check_extras
    from irqlab.progress import console, steps_progress

    check_extras(html_path, None)  # before any work: --html needs irqlab[plot]

    try:
        limits = parse_budget(budget)
        with steps_progress(len(CHECKS), "checking") as progress:
            checklist = run_battery(driver, platform=platform, os=os_name, budget=limits,
                                    scenario=scenario_ref, allow_code=allow_code,
                                    progress=progress)
    except CheckError as exc:
        raise InputError(str(exc)) from None
    if junit_path:
        _write("--junit", junit_path, render_junit(checklist))
    if html_path:
        _write("--html", html_path, render_html(checklist))
    if as_json:
        click.echo(json.dumps(checklist.to_json(), indent=2, default=str))
    elif sys.stdout.isatty():
        console(stdout=True).print(render_table(checklist))
    else:
        click.echo(render_text(checklist))  # one line per check, never wrapped
    ctx.exit(0 if checklist.passed else 1)


COMMANDS: list[click.Command] = [check]
