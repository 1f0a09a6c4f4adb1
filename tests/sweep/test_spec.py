"""Sweep grids: value lists, ranges keeping their units, seeds, --zip, [sweep] tables."""

from __future__ import annotations

import tomllib

import pytest

from irqlab.scenario.override import Override
from irqlab.sweep.spec import (
    SweepError,
    cli_axes,
    make_grid,
    parse_seeds,
    parse_values,
    table_axes,
)


@pytest.mark.parametrize(("text", "values"), [
    ("1,2,4", (1, 2, 4)),
    ("1..4", (1, 2, 3, 4)),
    ("0..10:step=5", (0, 5, 10)),
    ("0.1..0.3:step=0.1", (0.1, 0.2, 0.3)),
    ("100k/s..500k/s:step=100k/s", ("100k/s", "200k/s", "300k/s", "400k/s", "500k/s")),
    ("1us..2us:step=250ns", ("1us", "1.25us", "1.5us", "1.75us", "2us")),
    ("1M/s..2M/s:step=500k/s", ("1M/s", "1.5M/s", "2M/s")),
    ("2us,3us", ("2us", "3us")),
    ('[0, 1],[1, 0]', ([0, 1], [1, 0])),
    ('{ dist = "fixed", value = "1us" },{ dist = "fixed", value = "2us" }',
     ({"dist": "fixed", "value": "1us"}, {"dist": "fixed", "value": "2us"})),
    ("true,false", (True, False)),
])
def test_values(text, values) -> None:
    assert parse_values(text, "--set x") == values


@pytest.mark.parametrize(("text", "message"), [
    ("1us..2us", "a range of durations or rates needs ':step='"),
    ("5..1", "the range ends before it starts"),
    ("1..5:step=0", "step must be above zero"),
    ("1us..5:step=1us", "mixes numbers and quantities"),
    ("fast..slow:step=x", "'fast' is not a number, a duration"),
    ("1,,2", "empty value"),
    ("0..1e9", "values (at most"),
    ("1..inf", "a range needs finite ends and step (no inf or nan)"),
    ("nan..3", "a range needs finite ends and step (no inf or nan)"),
    ("1..3:step=inf", "a range needs finite ends and step (no inf or nan)"),
    ("0..1e300:step=1e-300", "more than 1000000 values"),
    ("-1e308..1e308", "more than 1000000 values"),
])
def test_bad_values_name_the_set(text, message) -> None:
    with pytest.raises(SweepError, match=r"^--set x: ") as err:
        parse_values(text, "--set x")
    assert message in str(err.value)


def test_seeds() -> None:
    assert parse_seeds("1..5") == (1, 2, 3, 4, 5)
    assert parse_seeds("3,9") == (3, 9)
    assert parse_seeds("7") == (7,)
    for bad in ("1,1", "-1", "a", "1.5"):
        with pytest.raises(SweepError, match=r"^--seeds: "):
            parse_seeds(bad)


def test_product_zip_and_fixed_values() -> None:
    axes = cli_axes(["machine.cpus=1,2", "device.eth0.arrival.rate=10k/s,20k/s",
                     "scenario.duration=2ms"])
    grid = make_grid(axes, (1, 2), False)
    assert [a.path for a in grid.axes] == ["machine.cpus", "device.eth0.arrival.rate"]
    assert grid.fixed == (Override("scenario.duration", "2ms"),)
    assert [tuple(o.value for o in p) for p in grid.points()] == [
        (1, "10k/s"), (1, "20k/s"), (2, "10k/s"), (2, "20k/s")]
    zipped = make_grid(axes, (1,), True)
    assert [tuple(o.value for o in p) for p in zipped.points()] == [(1, "10k/s"), (2, "20k/s")]
    with pytest.raises(SweepError, match=r"--zip pairs axes of equal length: machine\.cpus has 3"):
        make_grid(cli_axes(["machine.cpus=1,2,3", "machine.hz=100,250"]), (1,), True)


def test_a_later_set_of_the_same_path_wins() -> None:
    grid = make_grid([*cli_axes(["machine.cpus=1,2"]), *cli_axes(["machine.cpus=4,8"])], (1,), False)
    assert grid.axes[0].values == (4, 8)


def test_sweep_table() -> None:
    table = tomllib.loads("""
[sweep]
seeds = "1..3"
zip = true
[sweep.set]
machine.cpus = [1, 2]
"device[0]".handler.cost = { start = "1us", stop = "2us", step = "1us" }
device.eth0.arrival.rate = "10k/s,20k/s"
""")["sweep"]
    axes, seeds, zipped = table_axes(table, "s.toml")
    assert seeds == (1, 2, 3) and zipped
    assert [(a.path, a.values, a.where) for a in axes] == [
        ("machine.cpus", (1, 2), "sweep.set.machine.cpus"),
        ("device[0].handler.cost", ("1us", "2us"), "sweep.set.device[0].handler.cost"),
        ("device.eth0.arrival.rate", ("10k/s", "20k/s"), "sweep.set.device.eth0.arrival.rate")]


@pytest.mark.parametrize(("toml", "message"), [
    ('[sweep]\nseed = "1..3"', "s.toml: sweep.seed: unknown key"),
    ('[sweep]\nseeds = [1, 1]', "s.toml: sweep.seeds: a seed is given twice"),
    ('[sweep]\nzip = "yes"', "s.toml: sweep.zip: expected true or false"),
    ('[sweep.set]\nmachine.cpus = []', "s.toml: sweep.set.machine.cpus: no values"),
    ('[sweep.set]\nmachine.cpus = { start = 1 }', "s.toml: sweep.set.machine.cpus: a range is"),
    ('[sweep.set]\nmachine.cpus = "4..1"', "s.toml: sweep.set.machine.cpus: the range ends"),
])
def test_bad_sweep_tables_name_the_field(toml, message) -> None:
    with pytest.raises(SweepError) as err:
        table_axes(tomllib.loads(toml)["sweep"], "s.toml")
    assert str(err.value).startswith(message)


def test_zip_groups_pair_some_axes_and_cross_the_rest() -> None:
    table = tomllib.loads("""
[sweep]
zip = [["device.eth0.nic.receive", "device.eth0.nic.rx_usecs"]]
[sweep.set]
device.eth0.arrival.rate = ["10k/s", "20k/s"]
device.eth0.nic.receive = ["per-packet", "napi", "per-packet"]
device.eth0.nic.rx_usecs = [0, 0, 50]
""")["sweep"]
    axes, _, zipped = table_axes(table, "s.toml")
    grid = make_grid(axes, (1,), zipped, "s.toml")
    points = [tuple(o.value for o in p) for p in grid.points()]
    # the rate axis comes first in the file: it is the outer loop; columns keep axis order
    assert points == [("10k/s", "per-packet", 0), ("10k/s", "napi", 0), ("10k/s", "per-packet", 50),
                      ("20k/s", "per-packet", 0), ("20k/s", "napi", 0), ("20k/s", "per-packet", 50)]
    assert [o.path for o in grid.points()[0]] == [
        "device.eth0.arrival.rate", "device.eth0.nic.receive", "device.eth0.nic.rx_usecs"]


@pytest.mark.parametrize(("zip_", "message"), [
    ('[["a.b"]]', "s.toml: sweep.zip: expected true or false, or groups of paths"),
    ('[["machine.cpus", "nope.x"]]', "s.toml: sweep.zip: 'nope.x' is not a path of sweep.set"),
    ('[["machine.cpus", "machine.hz"]]',
     "s.toml: sweep.zip pairs axes of equal length: machine.cpus has 2, machine.hz has 3"),
    ('[["machine.cpus", "machine.hz"], ["machine.hz", "machine.cpus"]]',
     "s.toml: sweep.zip: 'machine.hz' is named twice (a path is in one group only)"),
    ('[["machine.cpus", "machine.cpus"]]',
     "s.toml: sweep.zip: 'machine.cpus' is named twice (a path is in one group only)"),
])
def test_bad_zip_groups_name_the_field(zip_: str, message: str) -> None:
    table = tomllib.loads(f"[sweep]\nzip = {zip_}\n[sweep.set]\nmachine.cpus = [1, 2]\n"
                          "machine.hz = [100, 250, 1000]\n")["sweep"]
    with pytest.raises(SweepError) as err:
        axes, _, zipped = table_axes(table, "s.toml")
        make_grid(axes, (1,), zipped, "s.toml")
    assert str(err.value).startswith(message)
