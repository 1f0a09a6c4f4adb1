"""Guest throughput against bare metal, per injection mode and interrupt rate.

The grid crosses the first ``[[vm]]``'s injection modes with the rates of the
device assigned to it.  Each run holds its own bare metal: the experiment's
``device`` is the host's twin of the assigned device (same handler, same rate,
zipped with it in the grid) on a host CPU of its own, where the host's
workload runs as the guest's runs on its vCPU.  Throughput is the workload's
share of its CPU; the summary gives the guest's relative to bare metal's,
with the exits per assigned interrupt and the guest-visible latency: the
exiting modes lose more with every interrupt, the exitless ones stay near 1.
"""

from __future__ import annotations

from typing import Any

from irqlab.analysis.report import ReportWarning
from irqlab.experiments.point import Point
from irqlab.scenario.loader import ScenarioError
from irqlab.scenario.schema import DeviceSpec, Scenario


def baseline_of(spec: Scenario, name: str, source: str) -> DeviceSpec:
    """The bare-metal twin ``name``: a host device, beside a guest with a
    device assigned to it and work on both sides."""
    if not spec.vm or not any(d.assign == spec.vm[0].name for d in spec.device):
        raise ScenarioError(f"{source}: experiment: vm-injection needs a [[vm]] with a device "
                            "assigned to it")
    dev = next((d for d in spec.device if d.name == name), None)
    if dev is None or dev.assign is not None:
        raise ScenarioError(f"{source}: experiment.device: no host device named '{name}' (the "
                            "bare-metal twin of the assigned device)")
    if spec.vm[0].workload is None or spec.machine.workload is None:
        raise ScenarioError(f"{source}: experiment: vm-injection compares workloads: it needs "
                            "vm.workload and machine.workload")
    return dev


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarise(points: list[Point]) -> tuple[list[dict[str, Any]], list[ReportWarning]]:
    results = []
    for p in points:
        vm = p.spec.vm[0]
        bare_cpu = p.device.cpu if isinstance(p.device.cpu, int) else p.device.cpu[0]
        pre = f"vms.{vm.name}."
        ratios, exits, p99 = [], [], []
        for r in p.rows:
            bare = r[f"cpu_time_ns.{bare_cpu}.user"] / r["duration_ns"]
            if bare and f"{pre}guest_work_share" in r:
                ratios.append(r[f"{pre}guest_work_share"] / bare)
            if f"{pre}exits_per_device_interrupt" in r:
                exits.append(r[f"{pre}exits_per_device_interrupt"])
            if r.get(f"{pre}latency_ns.count"):
                p99.append(r[f"{pre}latency_ns.p99"] / 1000)
        results.append({"rate_per_s": round(p.device.arrival.rate or 0), "mode": vm.injection,
                        "throughput_vs_bare_metal": _mean(ratios),
                        "exits_per_device_interrupt": _mean(exits), "latency_p99_us": _mean(p99)})
    notes = [ReportWarning(kind="vm-injection", irq=None, time_ns=None, message=(
        "throughput_vs_bare_metal: the guest workload's share of its vCPU over the host "
        "workload's share of the bare-metal twin's CPU in the same run; exiting modes lose more "
        "with every interrupt, exitless ones (posted, eli-full) stay at bare metal"))]
    return results, notes
