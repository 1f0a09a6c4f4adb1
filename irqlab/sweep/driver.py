"""A sweep from grid to files: validate every point, skip the runs the output
(or the journal of a killed sweep) already holds, run the rest in batches,
journal each finished batch, then write the table and its aggregate in grid
order (point-major, then seed) whatever order the runs finished in.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from irqlab import __version__
from irqlab.progress import counting
from irqlab.scenario.override import Override
from irqlab.sweep.backend import batches, execute, executor
from irqlab.sweep.journal import append_journal, journal_path, read_journal
from irqlab.sweep.point import HASH, SEED, VERSION, Batch, Row, cell, scenario_hash
from irqlab.sweep.spec import Grid
from irqlab.sweep.table import (
    TableError,
    agg_path,
    aggregate,
    columns,
    fill_warnings,
    read_rows,
    row_key,
    write_rows,
)

#: opens a file to write in binary (the CLI's ``open_output``: atomic rename)
Opener = Callable[[Path], AbstractContextManager[IO[bytes]]]


@dataclass(frozen=True)
class Run:
    point: tuple[Override, ...]
    seed: int
    key: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    runs: int
    ran: int
    rows: list[Row]


def plan(text: str, source: str, grid: Grid, code_dir: Path | None, allow_code: bool) -> list[Run]:
    """Every run of ``grid``, each point validated (ScenarioError naming its
    ``--set``; UserCodeError for code named without consent or without its
    file, nothing imported) and keyed by its axis values, seed, scenario hash
    and version."""
    from irqlab.scenario.loader import parse
    from irqlab.usercode import bind_scenario_code, check_scenario_code

    axes = [a.path for a in grid.axes]
    out = []
    for point in grid.points():
        spec, _ = parse(text, source, (*grid.fixed, *point))
        if check_scenario_code(spec, code_dir) and not allow_code:
            bind_scenario_code(spec, code_dir, allowed=False)  # raises CodeNotAllowed
        ident: Row = {ov.path: cell(ov.value) for ov in point}
        ident.update({HASH: scenario_hash(spec), VERSION: __version__})
        for seed in grid.seeds:
            out.append(Run(point, seed, row_key({**ident, SEED: seed}, axes)))
    return out


def execute_runs(text: str, source: str, code_dir: Path | None, allow_code: bool, grid: Grid,
                 runs: list[Run], jobs: int, dask: str | None,
                 done: Callable[[list[Row]], None]) -> None:
    """Run ``runs`` on the backend, calling ``done`` with each finished batch's
    rows; a progress bar with the ETA on a terminal."""
    if not runs:
        return
    with executor(jobs, dask) as (pool, workers), counting(len(runs), "sweep") as advance:
        work = batches(runs, workers, lambda part: Batch(
            text, source, None if code_dir is None else str(code_dir), allow_code, grid.fixed,
            tuple((r.point, r.seed) for r in part)))

        def finished(rows: list[Row]) -> None:
            done(rows)
            advance(len(rows))

        execute(work, pool, finished)


def sweep_rows(text: str, source: str, code_dir: Path | None, allow_code: bool, grid: Grid,
               jobs: int) -> list[list[Row]]:
    """Every run of ``grid`` in memory (no file): the rows of each point, in
    grid order, each point's in seed order."""
    runs = plan(text, source, grid, code_dir, allow_code)
    axes = [a.path for a in grid.axes]
    known: dict[tuple[str, ...], Row] = {}
    execute_runs(text, source, code_dir, allow_code, grid, runs, jobs, None,
                 lambda rows: known.update((row_key(row, axes), row) for row in rows))
    per_point = len(grid.seeds)
    ordered = [known[run.key] for run in runs]
    return [ordered[i:i + per_point] for i in range(0, len(ordered), per_point)]


def run_sweep(text: str, source: str, code_dir: Path | None, allow_code: bool, grid: Grid,
              output: Path, jobs: int, dask: str | None, open_file: Opener) -> Outcome:
    """Run what ``output`` lacks and write it (and ``NAME.agg.SUFFIX``) through
    ``open_file``; a progress bar with the ETA on a terminal."""
    axes = [a.path for a in grid.axes]
    runs = plan(text, source, grid, code_dir, allow_code)
    order = {run.key: i for i, run in enumerate(runs)}
    journal = journal_path(output)
    known: dict[tuple[str, ...], Row] = {}
    for row in (*(read_rows(output) if output.exists() else ()), *read_journal(journal)):
        key = row_key(row, axes)
        if key not in order:
            raise TableError(f"{output}: holds rows of another sweep (other scenario, axes, "
                             f"seeds or irqlab version); write to another file or remove it")
        known[key] = row
    todo = [run for run in runs if run.key not in known]

    def done(rows: list[Row]) -> None:
        append_journal(journal, rows)
        known.update((row_key(row, axes), row) for row in rows)

    execute_runs(text, source, code_dir, allow_code, grid, todo, jobs, dask, done)
    rows = sorted(known.values(), key=lambda row: order[row_key(row, axes)])
    names = columns(rows, axes)
    rows = fill_warnings(rows, names)
    with open_file(output) as f:
        write_rows(f, output.suffix, rows, names)
    agg_rows, agg_names = aggregate(rows, axes)
    with open_file(agg_path(output)) as f:
        write_rows(f, output.suffix, agg_rows, agg_names)
    journal.unlink(missing_ok=True)
    return Outcome(len(runs), len(todo), rows)
