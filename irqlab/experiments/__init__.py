"""Experiments: a scenario's ``[sweep]`` summarised.  The runs are an
ordinary sweep (``irqlab sweep`` runs the same grid into a table); the
``[experiment]`` table names the kind of summary ``irqlab run`` prints: one
row per point (averaged over the seeds) and the kind's conclusions.

``run_experiment`` validates the table for its ``kind`` (errors name the
field, as ``irqlab.scenario.loader`` does), runs the grid and summarises it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError

from irqlab.analysis.report import Report, ReportWarning
from irqlab.experiments import livelock, moderation, vminjection
from irqlab.experiments.point import Point
from irqlab.machine.build import BuildError, build
from irqlab.scenario.loader import ScenarioError, format_errors, parse
from irqlab.scenario.schema import DeviceSpec, Strict

if TYPE_CHECKING:
    from irqlab.scenario.override import Override
    from irqlab.scenario.schema import Scenario


class Experiment(Strict):
    """Fields every ``[experiment]`` has."""

    kind: Literal["receive-livelock", "moderation", "vm-injection"]
    #: the device the summary measures: the NIC (a device with a ``nic`` table) of
    #: ``receive-livelock`` and ``moderation``; the host's bare-metal twin of the
    #: device assigned to the guest for ``vm-injection``
    device: str = "eth0"
    #: processes for the runs (0: one per CPU, 1: in this process)
    workers: int = Field(0, ge=0)


Summary = Callable[[list[Point]], tuple[list[dict[str, Any]], list[ReportWarning]]]

#: the summary of each ``[experiment]`` kind
KINDS: dict[str, Summary] = {"receive-livelock": livelock.summarise,
                             "moderation": moderation.summarise,
                             "vm-injection": vminjection.summarise}


def validate(spec: Scenario, experiment: object, source: str) -> Experiment:
    """The experiment table as its model; ScenarioError naming the field.  The
    NIC it names must be one."""
    if not isinstance(experiment, dict):
        raise ScenarioError(f"{source}: experiment: expected a table")
    kind = experiment.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ScenarioError(f"{source}: experiment.kind: expected one of "
                            f"{', '.join(repr(k) for k in KINDS)}, got {kind!r}")
    try:
        exp = Experiment.model_validate(experiment)
    except ValidationError as exc:
        raise ScenarioError(format_errors(source, exc, prefix="experiment.")) from None
    _device_of(spec, exp, source)
    try:
        build(spec)  # the machine of every point: its errors, once, before the runs
    except BuildError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    return exp


def _device_of(spec: Scenario, exp: Experiment, source: str) -> DeviceSpec:
    """The device the experiment measures (``device``)."""
    if exp.kind == "vm-injection":
        return vminjection.baseline_of(spec, exp.device, source)
    return _nic_of(spec, exp.device, source)


def _nic_of(spec: Scenario, name: str, source: str) -> DeviceSpec:
    dev = next((d for d in spec.device if d.name == name), None)
    if dev is None or dev.nic is None:
        raise ScenarioError(f"{source}: experiment.device: no device named '{name}' with a nic "
                            "table in the scenario")
    return dev


def run_experiment(text: str, source: str, table: object, sweep: object,
                   fixed: Sequence[Override], seed: int | None, code_dir: Path | None,
                   allow_code: bool) -> Report:
    """Run the grid of the scenario's ``[sweep]`` table (with the ``fixed``
    overrides; ``seed`` None: the table's seeds, else the scenario's) and
    summarise it as ``[experiment]`` says."""
    from irqlab.sweep.driver import sweep_rows
    from irqlab.sweep.spec import Axis, SweepError, make_grid, table_axes

    base, _ = parse(text, source, fixed)
    exp = validate(base, table, source)
    try:
        axes, seeds, zipped = table_axes(sweep if sweep is not None else {}, source)
        axes += [Axis(ov.path, (ov.value,), ov.where) for ov in fixed]  # --set wins
        grid = make_grid(axes, (seed,) if seed is not None else seeds or (base.scenario.seed,),
                         zipped, source)
    except SweepError as exc:
        raise ScenarioError(str(exc)) from None
    specs = [parse(text, source, (*grid.fixed, *point))[0] for point in grid.points()]
    for spec in specs:  # every point must still have the device
        _device_of(spec, exp, source)
    jobs = exp.workers or min(len(specs) * len(grid.seeds), os.cpu_count() or 1)
    rows = sweep_rows(text, source, code_dir, allow_code, grid, jobs)
    points = [Point(spec, _device_of(spec, exp, source), point_rows)
              for spec, point_rows in zip(specs, rows, strict=True)]
    results, notes = KINDS[exp.kind](points)
    meta = base.scenario
    return Report(source="simulation", cpus=base.machine.cpus, seed=grid.seeds[0],
                  duration_ns=meta.duration, results=results, warnings=notes,
                  title=f"{meta.name}: {meta.description}" if meta.description else meta.name)
