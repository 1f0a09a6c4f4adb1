"""``irqlab sweep``: one scenario over a grid of ``--set`` values and seeds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from irqlab.cli.errors import InputError, Interrupted, interruptible, stop_reason
from irqlab.cli.output import open_output
from irqlab.cli.params import allow_code_option, output_path, scenario_folder
from irqlab.cli.pictures import check_extras

if TYPE_CHECKING:
    from irqlab.sweep.spec import Grid


def _cores() -> int:
    """CPUs this process may run on (its affinity mask), the default ``--jobs``."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@click.command()
@click.argument("scenario")
@click.option("--set", "assignments", multiple=True, metavar="PATH=VALUES",
              help="An axis: PATH=V1,V2,... or PATH=START..STOP:step=S (units kept, e.g. "
                   "device.eth0.arrival.rate=100k/s..500k/s:step=100k/s); one value fixes the "
                   "field for every point (repeatable).")
@click.option("--seeds", default=None, metavar="SEEDS",
              help="Seeds of every point: 1..5, 1,2,3 or 7 (default: [sweep] seeds, else the "
                   "scenario's seed).")
@click.option("--zip", "zipped", is_flag=True, help="Pair the axes instead of crossing them.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores; 1 runs in this process).")
@click.option("--dask", default=None, metavar="ADDRESS|local",
              help="Run on Dask: a scheduler address (tcp://host:8786) or 'local' (a "
                   "LocalCluster of --jobs workers).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), callback=output_path,
              required=True, help="Results table: .parquet or .csv (the aggregate goes to "
                                  "NAME.agg.parquet / NAME.agg.csv).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Draw metrics against each axis (95 % CI bands) into an HTML file.")
@click.option("--plot", "metrics", multiple=True, metavar="METRIC",
              help="A results column (shell-style wildcards allowed) for --html (repeatable; "
                   "default: hard-IRQ p99 latency of each IRQ and hard-IRQ CPU share).")
@allow_code_option
@interruptible
def sweep(scenario: str, assignments: tuple[str, ...], seeds: str | None, zipped: bool,
          jobs: int | None, dask: str | None, output: str, html_path: str | None,
          metrics: tuple[str, ...], allow_code: bool) -> None:
    """Run SCENARIO for every point of a grid and seed; one results row per run.

    Rerunning the same sweep into the same output runs only the missing rows
    (a killed sweep loses only what was running)."""
    from irqlab.report.extras import DASK, PARQUET, MissingExtra, require
    from irqlab.scenario.loader import ScenarioError
    from irqlab.sweep.backend import BackendError
    from irqlab.sweep.driver import run_sweep
    from irqlab.sweep.point import PointError
    from irqlab.sweep.table import FORMATS, TableError
    from irqlab.usercode import UserCodeError

    out = Path(output)
    if out.suffix not in FORMATS:
        raise InputError(f"expected a .parquet or .csv file, got {output!r}", source="-o")
    if metrics and html_path is None:
        raise InputError("chooses what --html draws; give --html FILE too", source="--plot")
    check_extras(html_path, None)
    for option, wanted, feature in (("-o", out.suffix == ".parquet", PARQUET),
                                    ("--dask", dask is not None, DASK)):
        try:
            if wanted:
                require(feature)
        except MissingExtra as exc:
            raise InputError(str(exc), source=option) from None
    text, source, grid = _grid(scenario, assignments, seeds, zipped)
    code_dir = scenario_folder(scenario)
    try:
        outcome = run_sweep(text, source, code_dir, allow_code, grid, out, jobs or _cores(), dask,
                            lambda path: open_output(path, binary=True, option="-o"))
    except UserCodeError as exc:
        raise InputError(str(exc), source=scenario) from None
    except (ScenarioError, PointError, TableError, BackendError) as exc:
        raise InputError(str(exc)) from None
    except KeyboardInterrupt as exc:
        raise Interrupted(f"stopped by {stop_reason(exc)}; finished runs are kept, rerun the "
                          "same command to run the rest", signalled=exc) from None
    if html_path is not None:
        from irqlab.sweep.plot import html_page

        with open_output(html_path, option="--html") as f:
            f.write(html_page(outcome.rows, grid, metrics))
    click.echo(f"{output}: {len(outcome.rows)} rows ({outcome.ran} run now, "
               f"{outcome.runs - outcome.ran} already there)", err=True)


def _grid(scenario: str, assignments: tuple[str, ...], seeds: str | None,
          zipped: bool) -> tuple[str, str, Grid]:
    """The scenario's text, its name for errors, and the grid of its
    ``[sweep]`` table with the command line's ``--set``/``--seeds``/``--zip``."""
    from irqlab.scenario.loader import ScenarioError, parse, read
    from irqlab.sweep.spec import SweepError, cli_axes, make_grid, parse_seeds, table_axes

    try:
        text, source = read(scenario)
        base, extras = parse(text, source)
        axes, file_seeds, file_zip = table_axes(extras.get("sweep", {}), source)
        axes += cli_axes(assignments)
        grid = make_grid(axes, parse_seeds(seeds) if seeds is not None else
                         file_seeds or (base.scenario.seed,), zipped or file_zip, source)
    except (ScenarioError, SweepError) as exc:
        raise InputError(str(exc)) from None
    return text, source, grid


def check_sweep_grid(scenario: str) -> None:
    """The ``[sweep]`` table of a scenario ``irqlab run`` runs once: its grid
    must still be well formed (points are not checked: ``irqlab validate``)."""
    _grid(scenario, (), None, False)


def check_sweep_table(scenario: str) -> str:
    """``irqlab validate`` of a scenario's ``[sweep]``: every point checked as
    ``irqlab sweep`` would before running (code files must exist, none is
    imported); returns ``"sweep of N point(s) x M seed(s)"``."""
    from irqlab.scenario.loader import ScenarioError
    from irqlab.sweep.driver import plan
    from irqlab.usercode import UserCodeError

    text, source, grid = _grid(scenario, (), None, False)
    try:
        plan(text, source, grid, scenario_folder(scenario), allow_code=True)
    except UserCodeError as exc:
        raise InputError(str(exc), source=scenario) from None
    except ScenarioError as exc:
        raise InputError(str(exc)) from None
    return f"sweep of {len(grid.points())} point(s) x {len(grid.seeds)} seed(s)"


COMMANDS: list[click.Command] = [sweep]
