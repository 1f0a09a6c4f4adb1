"""Running a guest scenario and reading its report's ``vms`` section."""

from __future__ import annotations

from typing import Any

from irqlab.analysis.irqstats import IrqStats
from irqlab.machine.build import build
from irqlab.machine.machine import Machine
from irqlab.machine.run import simulate
from irqlab.runner import guest_stats, simulation_report
from irqlab.scenario.loader import parse


def run_guests(text: str) -> tuple[Machine, dict[str, Any]]:
    """Build and run the scenario ``text``; the machine and its report's JSON."""
    spec, _ = parse(text, "<test>")
    m = build(spec)
    stats = IrqStats(spec.machine.cpus)
    guests = guest_stats(m)
    simulate(m, spec.scenario.duration, [stats], guest_sinks={n: [g] for n, g in guests.items()})
    return m, simulation_report(m, stats, guests=guests).to_json()


def scenario(mode: str, *, arch: str = "x86", timer: bool = False, workload: bool = True,
             duration: str = "5ms", extra: str = "") -> str:
    """A 2-CPU host, a one-vCPU guest on CPU 1 and an assigned VF raising every
    100 us (50 us after each period starts, so every one is handled in time)."""
    return f"""
[scenario]
duration = "{duration}"
[machine]
arch = "{arch}"
cpus = 2
hz = 1000
[timer]
enabled = {str(timer).lower()}
[[vm]]
name = "guest0"
pin = [1]
injection = "{mode}"
{"workload = {}" if workload else ""}
[[device]]
name = "vf0"
kind = "msix"
assign = "guest0"
arrival = {{ kind = "periodic", period = "100us", phase = "50us" }}
handler = {{ cost = "2us" }}
{extra}
"""
