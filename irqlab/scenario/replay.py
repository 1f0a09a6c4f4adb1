"""Replaying a real workload: per-IRQ arrival times and measured handler costs
from a trace drive the simulator's devices, so that what-if questions (another
affinity, moderation, handler cost, controller) can be asked of a real load.

A traced IRQ is matched to a scenario device whose name is one of its action
names; that device gets the captured arrivals, and the measured handler costs
unless its ``handler.cost`` is set in the scenario.  Traced IRQs with no such
device get an MSI-X device of their own on the CPU that handled most of them.
System vectors (LOC, RES...) are left to the scenario's timer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from statistics import median
from typing import Protocol

from irqlab.scenario.schema import Arrival, Cost, DeviceSpec, Scenario


class TracedIrq(Protocol):
    """What replay needs of one traced IRQ (``irqlab.analysis.arrivals.IrqArrivals``)."""

    @property
    def times_ns(self) -> Sequence[int]: ...
    @property
    def cpus(self) -> Sequence[int]: ...
    @property
    def handler_ns(self) -> Sequence[int]: ...
    @property
    def actions(self) -> Sequence[str]: ...


def replay_scenario(base: Scenario | None, traced: Mapping[str, TracedIrq], cpus: int,
                    source: str) -> Scenario:
    """A scenario whose devices replay ``traced`` (labels -> arrivals)."""
    if base is None:
        base = Scenario.model_validate({"machine": {"arch": "x86", "cpus": max(cpus, 1)},
                                        "timer": {"enabled": False}})
    spec = base.model_copy(deep=True)
    times_all = [a.times_ns for a in traced.values() if a.times_ns]
    start = min((t[0] for t in times_all), default=0)
    end = max((t[-1] for t in times_all), default=start)
    spec.scenario.name = f"replay of {source}"
    spec.scenario.description = f"arrivals and handler costs of {source}"
    spec.scenario.duration = end - start + 1_000_000
    by_name = {d.name: d for d in spec.device}
    for label, arr in traced.items():
        if not label.isdigit() or not arr.times_ns:
            continue
        measured = [c for c in arr.handler_ns if c >= 0]
        fill = int(median(measured)) if measured else 1_000
        dev = next((by_name[a] for a in arr.actions if a in by_name), None)
        if dev is None:
            cpu = Counter(arr.cpus).most_common(1)[0][0] if arr.cpus else 0
            dev = DeviceSpec.model_validate({"name": _device_name(arr, label), "kind": "msix",
                                             "cpu": min(cpu, spec.machine.cpus - 1)})
            spec.device.append(dev)
        dev.arrival = Arrival.model_validate({"kind": "replay", "times": ["0ns"]})
        dev.arrival.times = [t - start for t in arr.times_ns]
        if "cost" not in dev.handler.model_fields_set:
            dev.handler.cost = Cost.model_validate({"dist": "replay", "values": ["0ns"]})
            dev.handler.cost.values = [c if c >= 0 else fill for c in arr.handler_ns]
    return spec


def _device_name(arr: TracedIrq, label: str) -> str:
    name = arr.actions[0] if arr.actions else f"irq{label}"
    return re.sub(r"[^\w.\-/:\[\]]", "_", name)
