"""Handler cost samplers (irqlab.machine.driver.cost_model): each draws what
the ``random`` method it stands for draws from the same stream, including
``gauss``'s kept second deviate when ``gauss`` is also called elsewhere."""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import cycle

import pytest

from irqlab.machine.driver import cost_model
from irqlab.scenario.schema import Cost


def _reference(spec: Cost, rng: random.Random) -> Callable[[], int]:
    """The samplers as plain ``random`` calls."""
    return {
        "fixed": lambda: spec.value or 0,
        "uniform": lambda: rng.randint(spec.min or 0, spec.max or 0),
        "exponential": lambda: round(rng.expovariate(1.0) * (spec.mean or 0)),
        "normal": lambda: max(0, round(rng.gauss(spec.mean or 0, spec.sd or 0))),
        "replay": cycle(spec.values or []).__next__,
    }[spec.dist]


@pytest.mark.parametrize("spec", [
    Cost(dist="fixed", value="1500ns"),
    Cost(dist="uniform", min="1000ns", max="4000ns"),
    Cost(dist="exponential", mean="2500ns"),
    Cost(dist="normal", mean="1500ns", sd="300ns"),
    Cost(dist="normal", mean="100ns", sd="400ns"),  # often below 0: truncated
    Cost(dist="replay", values=["5ns", "7ns", "9ns"]),
])
def test_samples_equal_the_random_methods_on_the_same_stream(spec: Cost) -> None:
    ours, theirs = random.Random(7), random.Random(7)
    sample = cost_model(spec, ours).sample
    reference = _reference(spec, theirs)
    got: list[float] = []
    want: list[float] = []
    for i in range(2001):
        got.append(sample())
        want.append(reference())
        if i % 3 == 0:  # another user of the stream, between draws
            got.append(ours.gauss(0.0, 1.0))
            want.append(theirs.gauss(0.0, 1.0))
    assert got == want
    assert all(type(v) is int for v in got[::4])
    assert ours.getstate() == theirs.getstate()
