"""Quantities with units (irqlab.units) and how bad ones reach the user."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.units import UnitError, format_ns, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("250ns", 250), ("1.5us", 1_500), ("1.5µs", 1_500), ("10ms", 10_000_000),
        ("2s", 2_000_000_000), (" 3 ms ", 3_000_000), ("1e3us", 1_000_000), ("0.1us", 100),
        ("0ns", 0),
    ],
)
def test_good_durations(text: str, ns: int) -> None:
    assert parse_duration(text) == ns
    assert type(parse_duration(text)) is int


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1.5x", "'1.5x'"), ("10", "unit"), ("ms", "'ms'"), ("-1ms", "'-1ms'"), ("1 m s", "unit"),
        ("", "unit"), (10, "unit"), (1.5, "unit"), (True, "unit"), ("1e400s", "64-bit"),
        ("300000000y", "unit"), ("1e11s", "64-bit"),
    ],
)
def test_bad_durations_name_the_problem(text: object, problem: str) -> None:
    with pytest.raises(UnitError, match=problem):
        parse_duration(text)  # type: ignore[arg-type]


def test_longest_duration_fits_the_64_bit_clock() -> None:
    assert parse_duration("9.2e18ns") == 9_200_000_000_000_000_000


@pytest.mark.parametrize(
    ("text", "per_s"),
    [
        ("250k/s", 250e3), ("1.2M/s", 1.2e6), ("300/ms", 300e3), ("2/us", 2e6), ("1G/s", 1e9),
        ("5 K / s", 5e3), ("1/ns", 1e9), ("0.5/s", 0.5),
    ],
)
def test_good_rates(text: str, per_s: float) -> None:
    assert parse_rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("250k", "'250k'"), ("250kHz", "'250kHz'"), ("1.2m/s", "'1.2m/s'"), ("-5/s", "'-5/s'"),
        ("5/min", "'5/min'"), (250000, "unit"), ("0/s", "above zero"), ("1e400/s", "finite"),
    ],
)
def test_bad_rates_name_the_problem(text: object, problem: str) -> None:
    with pytest.raises(UnitError, match=problem):
        parse_rate(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ns", "text"),
    [(999, "999ns"), (1_500, "1.5us"), (2_500_000, "2.5ms"), (3_000_000_000, "3s")],
)
def test_format_ns(ns: int, text: str) -> None:
    assert format_ns(ns) == text


def test_run_duration_with_a_bad_unit_names_the_option() -> None:
    result = CliRunner().invoke(cli, ["run", "--duration", "1.5x"])
    assert result.exit_code == 2
    assert "--duration" in result.output and "'1.5x'" in result.output


def test_scenario_duration_with_a_bad_unit_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[scenario]\nduration = "1.5x"\n')
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 2
    assert f"{path}: scenario.duration:" in result.output and "'1.5x'" in result.output
