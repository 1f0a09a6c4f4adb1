"""A few seconds of the fuzz harness (tests/fuzz/harness.py) in the normal suite:
inputs of every area, with a fixed seed, never a traceback, a bad exit status
or a hang.  The full run (5,000 inputs and more): ``python tests/fuzz/harness.py``."""

from __future__ import annotations

import os

import pytest

from tests.fuzz.harness import Outcome, cases, make_seeds, run_all

SLICE = 40
SEED = 20261207

AREAS = ["ftrace", "irqlab-trace", "procfs", "triage", "scenario", "outputs", "options"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    seeds = make_seeds(tmp_path_factory.mktemp("seeds"))
    return run_all(cases(SEED, seeds, SLICE, os.geteuid() == 0, big=False), jobs=2, timeout=30)


def test_the_slice_covers_every_area_and_stdout_on_a_full_disk(outcomes: list[Outcome]) -> None:
    assert len(outcomes) == SLICE
    assert {o.case.area for o in outcomes} == set(AREAS)
    assert any(o.case.stdout_full for o in outcomes)


@pytest.mark.parametrize("area", AREAS)
def test_no_traceback_bad_status_or_hang(outcomes: list[Outcome], area: str) -> None:
    failed = [f"irqlab {' '.join(o.case.argv)} [{o.case.what}]: status {o.status}: "
              f"{(o.detail.strip().splitlines() or [''])[-1]}"
              for o in outcomes if o.case.area == area and o.failed]
    assert failed == []
