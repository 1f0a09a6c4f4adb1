"""Running sweep points in a worker: a batch of ``(point, seed)`` runs of one
scenario text, each returned as a results row.

A batch carries the scenario's text (not its path), so a worker on another
machine needs only irqlab installed; code named by ``handler.python`` runs
only with the user's consent, from the scenario's folder, which a remote
worker must have at the same path (:mod:`irqlab.usercode`).  Each run loads
that code afresh, as a separate ``irqlab run`` would.
Rows depend only on the scenario, the overrides and the seed, never on the
worker or the order: every backend gives the same rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from irqlab import __version__
from irqlab.scenario.override import Override

Row = dict[str, Any]

#: columns every row has besides its axes and metrics
SEED, HASH, VERSION = "seed", "scenario_hash", "irqlab_version"


class PointError(ValueError):
    """A point that cannot run; the message names the point and seed."""


@dataclass(frozen=True)
class Batch:
    text: str
    source: str
    code_dir: str | None
    allow_code: bool
    fixed: tuple[Override, ...]
    #: (the point's axis overrides, seed) of each run
    runs: tuple[tuple[tuple[Override, ...], int], ...]


def cell(value: Any) -> Any:
    """An axis value as a table cell: scalars as they are, arrays and inline
    tables as their JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def describe(point: tuple[Override, ...], seed: int) -> str:
    values = " ".join(f"{ov.path}={cell(ov.value)}" for ov in point)
    return f"point {values} seed {seed}" if values else f"seed {seed}"


def scenario_hash(spec: Any) -> str:
    """SHA-256 (first 16 hex digits) of the validated scenario's canonical JSON:
    the same fields give the same hash whatever the file's layout."""
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_batch(batch: Batch) -> list[Row]:
    """The row of each run of ``batch``, in order."""
    return [run_point(batch, point, seed) for point, seed in batch.runs]


def run_point(batch: Batch, point: tuple[Override, ...], seed: int) -> Row:
    from irqlab.analysis.irqstats import IrqStats
    from irqlab.machine.build import BuildError, build
    from irqlab.machine.run import simulate
    from irqlab.runner import guest_stats, simulation_report
    from irqlab.scenario.loader import ScenarioError, parse
    from irqlab.sweep.flatten import flatten_report
    from irqlab.usercode import UserCodeError, bind_scenario_code

    try:
        spec, _ = parse(batch.text, batch.source, (*batch.fixed, *point))
        bind_scenario_code(spec, None if batch.code_dir is None else Path(batch.code_dir),
                           allowed=batch.allow_code)
        machine = build(spec, seed)
    except (ScenarioError, UserCodeError, BuildError) as exc:
        raise PointError(f"{describe(point, seed)}: {exc}") from None
    stats = IrqStats(spec.machine.cpus)
    guests = guest_stats(machine)
    simulate(machine, spec.scenario.duration, [stats],
             guest_sinks={name: [g] for name, g in guests.items()})
    row: Row = {ov.path: cell(ov.value) for ov in point}
    row.update({SEED: seed, HASH: scenario_hash(spec), VERSION: __version__})
    row.update(flatten_report(simulation_report(machine, stats, guests=guests).to_json()))
    return row
