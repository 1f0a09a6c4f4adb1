"""Guest throughput against bare metal, per injection mode and interrupt rate.

The scenario's first ``[[vm]]`` and the first device assigned to it (an
SR-IOV NIC) run at each rate of ``rates`` (Poisson arrivals): once on bare
metal (the device the host's, on the vCPU's host CPU, the VM's workload the
host's) and once under each injection mode.  Throughput is the workload's
share of its CPU; the table gives the guest's relative to bare metal's, with
the exits per assigned interrupt and the guest-visible latency: the exiting
modes lose more with every interrupt, the exitless ones stay near 1.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.report import Report, ReportWarning
from irqlab.machine.build import build
from irqlab.machine.run import cpu_time_ns, simulate
from irqlab.runner import guest_stats, simulation_report
from irqlab.scenario.loader import ScenarioError
from irqlab.scenario.schema import INJECTION_MODES, Arrival, Rate, Scenario, Workload


class VmInjectionExperiment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["vm-injection"]
    rates: list[Rate] = Field(min_length=1)
    #: default: every mode of the machine's arch
    modes: list[str] | None = None


def _at_rate(spec: Scenario, dev: str, rate: float, **update: Any) -> Scenario:
    arrival = Arrival.model_construct(kind="poisson", rate=rate)  # rate: validated already
    devices = [d.model_copy(update={"arrival": arrival}) if d.name == dev else d for d in spec.device]
    return spec.model_copy(update={"device": devices, **update})


def _host_cpu(spec: Scenario) -> int:
    """The host CPU of the first VM's first vCPU (as ``Kvm`` places it)."""
    vm = spec.vm[0]
    return vm.pin[0] if vm.pin is not None else spec.machine.cpus - 1


def run(spec: Scenario, exp: VmInjectionExperiment, seed: int, duration_ns: int) -> Report:
    source = f"scenario '{spec.scenario.name}'"
    modes = exp.modes if exp.modes is not None else list(INJECTION_MODES.get(spec.machine.arch, ()))
    if not spec.vm:
        raise ScenarioError(f"{source}: experiment: vm-injection needs a [[vm]]")
    vm = spec.vm[0]
    dev = next((d for d in spec.device if d.assign == vm.name), None)
    if dev is None:
        raise ScenarioError(f"{source}: experiment: vm-injection needs a device assigned to '{vm.name}'")
    bad = [m for m in modes if m not in INJECTION_MODES.get(spec.machine.arch, ())]
    if bad:
        raise ScenarioError(f"{source}: experiment.modes: {bad[0]!r} is not an {spec.machine.arch} "
                            f"injection mode")
    workload = vm.workload or Workload()
    pcpu = _host_cpu(spec)
    results: list[dict[str, Any]] = []
    for rate in sorted(exp.rates):
        bare = _at_rate(spec, dev.name, rate, vm=[], machine=spec.machine.model_copy(
            update={"workload": workload}))
        bare = bare.model_copy(update={"device": [
            d.model_copy(update={"assign": None, "cpu": pcpu}) for d in bare.device if d.name == dev.name]})
        m = build(bare, seed)
        simulate(m, duration_ns)
        base = cpu_time_ns(m)[pcpu]["user"] / duration_ns
        results.append({"rate_per_s": round(rate), "mode": "bare-metal", "throughput_vs_bare_metal": 1.0,
                        "exits_per_device_interrupt": 0.0, "latency_p99_us": None})
        for mode in modes:
            vms = [vm.model_copy(update={"injection": mode, "workload": workload}), *spec.vm[1:]]
            guest = build(_at_rate(spec, dev.name, rate, vm=vms), seed)
            stats = IrqStats(spec.machine.cpus)
            guests = guest_stats(guest)
            simulate(guest, duration_ns, [stats], guest_sinks={n: [g] for n, g in guests.items()})
            r = simulation_report(guest, stats, guests=guests).vms[vm.name].to_json()
            share = r["guest_work_share"]
            results.append({
                "rate_per_s": round(rate), "mode": mode,
                "throughput_vs_bare_metal": round(share / base, 4) if base else None,
                "exits_per_device_interrupt": r["exits_per_device_interrupt"],
                "latency_p99_us": r["latency_ns"]["p99"] / 1000 if r["latency_ns"]["count"] else None,
            })
    notes = [ReportWarning(kind="vm-injection", irq=None, time_ns=None, message=(
        "throughput_vs_bare_metal: the guest workload's share of its vCPU over the same workload's "
        "share of the same host CPU on bare metal, with the same device arrivals (same seed)"))]
    title = f"{spec.scenario.name}: {spec.scenario.description}" if spec.scenario.description \
        else spec.scenario.name
    return Report(source="simulation", cpus=spec.machine.cpus, seed=seed, duration_ns=duration_ns,
                  results=results, warnings=notes, title=title)
