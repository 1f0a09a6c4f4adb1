"""``--set PATH=VALUE``: paths by name and index, TOML values, errors naming the --set."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.scenario.loader import ScenarioError, load, parse
from irqlab.scenario.override import OverrideError, parse_override, parse_value


def with_sets(ref: str, *sets: str):
    spec, _ = load(ref, [parse_override(s) for s in sets])
    return spec


def test_a_device_by_name_and_by_index() -> None:
    spec = with_sets("default", "device.eth0.arrival.rate=300k/s", "device[1].handler.cost=2us",
                     "machine.cpus=8", "scenario.duration=10ms")
    assert spec.device[0].name == "eth0" and spec.device[0].arrival.rate == 300_000.0
    assert spec.device[1].handler.cost.value == 2_000
    assert spec.machine.cpus == 8 and spec.scenario.duration == 10_000_000


def test_names_holding_dots_and_brackets_take_the_longest_match() -> None:
    spec = with_sets("default", "device.ahci[0000:00:1f.2].handler.cost=7us")
    assert spec.device[1].name == "ahci[0000:00:1f.2]"
    assert spec.device[1].handler.cost.value == 7_000


def test_an_override_reads_as_the_same_value_in_the_file(small) -> None:
    text = small.read_text()
    edited = text.replace('rate = "50k/s"', 'rate = "120k/s"').replace("cpus = 1", "cpus = 3")
    by_file, _ = parse(edited, "x.toml")
    by_set, _ = parse(text, "x.toml", [parse_override("device.eth0.arrival.rate=120k/s"),
                                       parse_override("machine.cpus=3")])
    assert by_set == by_file


@pytest.mark.parametrize(("text", "value"), [
    ("8", 8), ("2.5", 2.5), ("true", True), ('"quoted"', "quoted"), ("300k/s", "300k/s"),
    ("[0, 1]", [0, 1]), ('{ dist = "fixed", value = "2us" }', {"dist": "fixed", "value": "2us"}),
])
def test_values_are_toml_or_bare_strings(text, value) -> None:
    assert parse_value(text) == value


def test_inline_tables_and_missing_tables() -> None:
    spec = with_sets("default", 'device[0].handler.cost={ dist = "uniform", min = "1us", max = "3us" }',
                     "machine.workload.threads=2")
    assert spec.device[0].handler.cost.dist == "uniform" and spec.device[0].handler.cost.max == 3_000
    assert spec.machine.workload is not None and spec.machine.workload.threads == 2


@pytest.mark.parametrize(("assignment", "message"), [
    ("device.eth9.arrival.rate=1k/s", "--set device.eth9.arrival.rate: no device named eth9"),
    ("device[9].handler.cost=1us", "--set device[9].handler.cost: device has 4 entries, no [9]"),
    ("machine.cpus=many", "<builtin default>: --set machine.cpus: Input should be a valid integer"),
    ("device.eth0.arrival.rat=1k/s",
     "<builtin default>: --set device.eth0.arrival.rat: unknown key (not allowed here)"),
    ("device[1].handler.cost=fast",
     "<builtin default>: --set device[1].handler.cost: value: expected a duration"),
    ("scenario.duration=0ms", "<builtin default>: --set scenario.duration: expected a time above zero"),
    ("machine.cpus.x=1", "--set machine.cpus.x: machine.cpus is a value, not a table"),
])
def test_errors_name_the_set(assignment, message) -> None:
    with pytest.raises(ScenarioError) as err:
        with_sets("default", assignment)
    assert str(err.value).startswith(message)


def test_errors_elsewhere_say_which_set_they_follow() -> None:
    with pytest.raises(ScenarioError, match=r"cpu 1 is not one of the 1 CPUs \(after --set machine.cpus\)"):
        with_sets("default", "machine.cpus=1")


def test_malformed_assignment() -> None:
    with pytest.raises(OverrideError, match="expected PATH=VALUE"):
        parse_override("machine.cpus")


def test_run_set_changes_the_run_and_bad_sets_are_one_line() -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["run", "--set", "scenario.duration=3ms", "--set",
                              "device.eth0.arrival.rate=200k/s", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["duration_ns"] == 3_000_000
    assert out["irq_per_s"]["24"] + out["irq_per_s"]["25"] > 100_000  # 200k/s offered, not 20k/s
    bad = runner.invoke(cli, ["run", "--set", "device.eth9.arrival.rate=300k/s"])
    assert bad.exit_code == 2
    assert bad.output == "Error: --set device.eth9.arrival.rate: no device named eth9\n"
