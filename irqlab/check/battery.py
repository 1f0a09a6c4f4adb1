"""The battery: twelve checks in a fixed order, each one function of the rig
and the budget (docs/checklist.md gives each one's reason and source)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from irqlab.check.budget import Budget
from irqlab.check.concurrency import concurrency
from irqlab.check.driver import CheckError, load_driver
from irqlab.check.harness import OSES, PLATFORMS, Rig
from irqlab.check.protocol import (
    level_ack,
    lost_eoi,
    shared_line,
    sleep_in_atomic,
    spurious_call,
    threaded_oneshot,
)
from irqlab.check.result import Checklist, CheckResult
from irqlab.check.rta import response_time_bound
from irqlab.check.timing import deferral, flood, nesting, top_half_budget
from irqlab.scenario.schema import Scenario

Check = Callable[[Rig, Budget], CheckResult]

CHECKS: dict[str, Check] = {
    "top-half-budget": top_half_budget,
    "deferral": deferral,
    "sleep-in-atomic": sleep_in_atomic,
    "shared-line": shared_line,
    "level-ack": level_ack,
    "lost-eoi": lost_eoi,
    "flood": flood,
    "spurious-call": spurious_call,
    "concurrency": concurrency,
    "nesting": nesting,
    "threaded-oneshot": threaded_oneshot,
    "response-time-bound": response_time_bound,
}

#: OS personalities the simulator builds today (``machine.os``)
AVAILABLE_OSES = ("linux", "windows")


def run_battery(driver_path: str | Path, *, platform: str = "x86", os: str = "linux",
                budget: Budget | None = None, scenario: Scenario | None = None,
                allow_code: bool = False, seed: int = 1,
                progress: Callable[[str], None] | None = None) -> Checklist:
    """Load DRIVER (with consent) and run every check on it."""
    if platform not in PLATFORMS:
        raise CheckError(f"--platform: expected one of {', '.join(PLATFORMS)}, got {platform!r}")
    if os not in OSES:
        raise CheckError(f"--os: expected one of {', '.join(OSES)}, got {os!r}")
    if os not in AVAILABLE_OSES:
        raise CheckError(f"--os {os}: not available yet (this simulator builds "
                         f"{' and '.join(AVAILABLE_OSES)} machines)")
    driver = load_driver(driver_path, allow_code)
    for shared in driver.shared:
        shared.reset()
    rig = Rig(driver, platform, os, seed, scenario)
    budget = budget or Budget()
    results = []
    for name, check in CHECKS.items():
        if progress is not None:
            progress(name)
        results.append(check(rig, budget))
    return Checklist(str(driver_path), platform, os, seed, results)
