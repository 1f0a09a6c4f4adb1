"""Scenarios written back as TOML (``irqlab replay --save-scenario``) load to the same model."""

import pytest

from irqlab.scenario.dump import dumps
from irqlab.scenario.loader import builtin_names, load, parse


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_scenario_round_trips(name: str) -> None:
    spec, _ = load(name)
    text = dumps(spec)
    back, _ = parse(text, f"{name} dumped")
    assert back == spec


def test_units_are_written_and_none_left_out() -> None:
    spec, _ = parse('[[device]]\nname = "nic"\nkind = "msix"\n'
                    '[device.arrival]\nkind = "poisson"\nrate = "250k/s"\n'
                    '[device.handler]\ncost = { dist = "replay", values = ["1us", "1.5us"] }\n',
                    "t.toml")
    text = dumps(spec)
    assert 'rate = "250000.0/s"' in text and '"1500ns"' in text
    assert "python" not in text and "vector =" not in text  # None: not in TOML
    assert parse(text, "again")[0] == spec
