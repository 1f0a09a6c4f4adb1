"""Experiments: sweeps of many simulated runs described by a scenario's
``[experiment]`` table, reported as one table of results.

``run_experiment`` validates the table for its ``kind`` (errors name the
field, as ``irqlab.scenario.loader`` does) and runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from irqlab.scenario.loader import ScenarioError, format_errors

if TYPE_CHECKING:
    from irqlab.analysis.report import Report
    from irqlab.scenario.schema import Scenario


def _kinds() -> dict[str, tuple[type[BaseModel], Callable[..., Report]]]:
    from irqlab.experiments import livelock, moderation, vminjection

    return {
        "receive-livelock": (livelock.LivelockExperiment, livelock.run),
        "moderation": (moderation.ModerationExperiment, moderation.run),
        "vm-injection": (vminjection.VmInjectionExperiment, vminjection.run),
    }


def validate(spec: Scenario, experiment: object) -> BaseModel:
    """The experiment table as its model; ScenarioError naming the field."""
    source = f"scenario '{spec.scenario.name}'"
    if not isinstance(experiment, dict):
        raise ScenarioError(f"{source}: experiment: expected a table")
    kinds = _kinds()
    kind = experiment.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise ScenarioError(f"{source}: experiment.kind: expected one of "
                            f"{', '.join(repr(k) for k in kinds)}, got {kind!r}")
    model, _ = kinds[kind]
    try:
        return model.model_validate(experiment)
    except ValidationError as exc:
        raise ScenarioError(format_errors(source, exc, prefix="experiment.")) from None


def run_experiment(spec: Scenario, experiment: dict[str, Any] | object, seed: int | None,
                   duration_ns: int) -> Report:
    """Run the scenario's experiment; ``seed`` None means the scenario's."""
    exp = validate(spec, experiment)
    _, runner = _kinds()[exp.kind]  # type: ignore[attr-defined]
    return runner(spec, exp, spec.scenario.seed if seed is None else seed, duration_ns)
