"""The battery: twelve checks in a fixed order, each one function of the rig
and the budget (docs/checklist.md gives each one's reason and source)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from irqlab.check.budget import Budget
from irqlab.check.concurrency import concurrency
from irqlab.check.driver import CheckError, load_driver, load_machine
from irqlab.check.harness import OSES, PLATFORMS, Rig, hosts
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
from irqlab.runner import simulation_report

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

def run_battery(driver_path: str | Path, *, platform: str | None = None, os: str | None = None,
                budget: Budget | None = None, scenario: str | Path | None = None,
                allow_code: bool = False, seed: int | None = None,
                progress: Callable[[str], None] | None = None) -> Checklist:
    """Load DRIVER (with consent) and run every check on it, on the machine
    of ``scenario`` (a file; its other devices' code bound with the same
    consent), of DRIVER when it is a scenario, or built for ``platform`` and
    ``os`` (default x86, linux).  ``seed`` defaults to the scenario's, or 1."""
    for option, value, allowed in (("--platform", platform, PLATFORMS), ("--os", os, OSES)):
        if value is not None and value not in allowed:
            raise CheckError(f"{option}: expected one of {', '.join(allowed)}, got {value!r}")
    if os is not None:
        ok = hosts(os)
        if not ok:
            raise CheckError(f"--os {os}: not available yet (the simulator builds no {os} machine)")
        if platform is not None and platform not in ok:
            raise CheckError(f"--os {os}: {os} runs on --platform {' or '.join(ok)}, "
                             f"not {platform}")
        platform = platform or ok[0]
    driver = load_driver(driver_path, allow_code)
    if scenario is not None and driver.scenario is not None:
        raise CheckError(f"{driver_path}: is a scenario: it brings its machine, --scenario is "
                         "not needed")
    base = load_machine(scenario, allow_code) if scenario is not None else None
    machine = base or driver.scenario
    where = scenario if scenario is not None else driver_path
    if machine is not None:
        for option, given, has in (("--platform", platform, machine.machine.arch),
                                   ("--os", os, machine.machine.os)):
            if given is not None and given != has:
                raise CheckError(f"{where}: {option} {given} contradicts the scenario's machine "
                                 f"({has})")
        platform, os = machine.machine.arch, machine.machine.os
        seed = machine.scenario.seed if seed is None else seed
    platform, os, seed = platform or "x86", os or "linux", 1 if seed is None else seed
    for shared in driver.shared:
        shared.reset()
    rig = Rig(driver, platform, os, seed, base)
    budget = budget or Budget()
    results = []
    for name, check in CHECKS.items():
        if progress is not None:
            progress(name)
        results.append(check(rig, budget))
    nominal = rig.nominal()
    report = None if nominal.refused else simulation_report(nominal.machine, nominal.stats,
                                                             title=f"{rig.name} at its nominal load")
    return Checklist(str(driver_path), platform, os, seed, results, report)
