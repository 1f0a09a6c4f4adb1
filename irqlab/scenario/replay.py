"""Replaying a real workload: per-IRQ arrival times and measured handler costs
from a trace drive the simulator's devices, so that what-if questions (another
affinity, moderation, handler cost, controller) can be asked of a real load.

A traced IRQ is matched to a scenario device whose name is one of its action
names; that device gets the captured arrivals, and the measured handler costs
unless its ``handler.cost`` is set in the scenario.  Traced IRQs with no such
device get an MSI-X device of their own on the CPU that handled most of them.

By default the whole interrupt load is kept:

* system vectors (``LOC``, ``RES``, ``CAL``, ``TLB``...: x86 timer and IPIs, which
  the kernel handles without an ``irq_desc``) each get one MSI-X device per CPU
  they were handled on, named ``<tracepoint>-cpuN`` (``local_timer-cpu0``),
  replaying their arrivals and costs there.  ``LOC`` is left out when the
  scenario's own periodic timer is enabled (it would be counted twice).
* softirq work a handler raised (``IrqArrivals.softirq_ns``) is raised again by
  its replayed device: ``handler.softirq`` is the vector with the most run time
  and ``handler.softirq_cost`` the total of all its vectors per arrival (the
  scenario handler raises one vector; the CPU time is kept, the split between
  vectors is not).  Windows machines get it as ``handler.dpc_cost``.  A device
  whose ``handler.softirq`` / ``dpc_cost`` the scenario sets keeps its own.

``vectors=False`` / ``softirqs=False`` drop either (device IRQs only).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from statistics import median
from typing import Protocol

from irqlab.events import SOFTIRQ_NAMES
from irqlab.scenario.schema import Arrival, Cost, DeviceSpec, Scenario

TIMER_ROW = "LOC"
"""The /proc/interrupts row of the x86 local APIC timer, which the scenario's timer models."""


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
    @property
    def softirq_ns(self) -> Mapping[int, int]: ...


def replay_scenario(base: Scenario | None, traced: Mapping[str, TracedIrq], cpus: int,
                    source: str, *, vectors: bool = True, softirqs: bool = True) -> Scenario:
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
        if not arr.times_ns:
            continue
        if label.isdigit():
            dev = next((by_name[a] for a in arr.actions if a in by_name), None)
            if dev is None:
                cpu = Counter(arr.cpus).most_common(1)[0][0] if arr.cpus else 0
                dev = _device(spec, _name(arr.actions[0] if arr.actions else f"irq{label}"), cpu)
            _replay(dev, arr, range(len(arr.times_ns)), start)
            if softirqs:
                _raise(spec, dev, arr)
        elif vectors and not (label == TIMER_ROW and spec.timer.enabled):
            for cpu in sorted(set(arr.cpus)):
                name = _name(f"{arr.actions[0] if arr.actions else label}-cpu{cpu}")
                dev = by_name.get(name) or _device(spec, name, cpu)
                _replay(dev, arr, [i for i, c in enumerate(arr.cpus) if c == cpu], start)
                if softirqs:
                    _raise(spec, dev, arr)
    return spec


def _device(spec: Scenario, name: str, cpu: int) -> DeviceSpec:
    dev = DeviceSpec.model_validate({"name": name, "kind": "msix",
                                     "cpu": min(cpu, spec.machine.cpus - 1)})
    spec.device.append(dev)
    return dev


def _replay(dev: DeviceSpec, arr: TracedIrq, picked: Sequence[int], start: int) -> None:
    """``dev`` replays the arrivals ``picked`` of ``arr``, and their measured
    handler costs unless the scenario set ``handler.cost`` (missing exits: the
    median of the measured ones)."""
    dev.arrival = Arrival.model_validate({"kind": "replay", "times": ["0ns"]})
    dev.arrival.times = [arr.times_ns[i] - start for i in picked]
    if "cost" not in dev.handler.model_fields_set:
        measured = [c for c in arr.handler_ns if c >= 0]
        fill = int(median(measured)) if measured else 1_000
        dev.handler.cost = Cost.model_validate({"dist": "replay", "values": ["0ns"]})
        dev.handler.cost.values = [c if c >= 0 else fill
                                   for c in (arr.handler_ns[i] for i in picked)]


def _raise(spec: Scenario, dev: DeviceSpec, arr: TracedIrq) -> None:
    """``dev``'s handler raises the softirq work ``arr``'s handlers raised."""
    work = {v: ns for v, ns in arr.softirq_ns.items() if 0 <= v < len(SOFTIRQ_NAMES)}
    total = sum(work.values())
    if not total or {"softirq", "dpc_cost"} & dev.handler.model_fields_set:
        return
    per_arrival = max(total // len(arr.times_ns), 1)
    if spec.machine.os == "windows":
        dev.handler.dpc_cost = per_arrival
    else:
        vec = max(work, key=lambda v: work[v])
        dev.handler.softirq = SOFTIRQ_NAMES[vec]
        dev.handler.softirq_cost = per_arrival


def _name(text: str) -> str:
    return re.sub(r"[^\w.\-/:\[\]]", "_", text)
