"""Running a simulation with the analysis attached: the glue between the
machine (which only produces events, counters and warnings) and the report
(which knows nothing of the simulator)."""

from __future__ import annotations

from irqlab.analysis.histogram import Histogram
from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.report import Report, ReportWarning, VmReport
from irqlab.machine.machine import Machine
from irqlab.machine.run import cpu_time_ns, machine_warnings


def guest_stats(m: Machine) -> dict[str, IrqStats]:
    """One analysis per guest of ``m``, for ``simulate(..., guest_sinks=...)``."""
    if m.hypervisor is None:
        return {}
    return {vm.name: IrqStats(len(vm.vcpus)) for vm in m.hypervisor.vms}


def _vm_reports(m: Machine, guests: dict[str, IrqStats]) -> dict[str, VmReport]:
    out: dict[str, VmReport] = {}
    for vm in m.hypervisor.vms if m.hypervisor is not None else []:
        r = vm.results()
        latency = Histogram()
        stats = guests.get(vm.name)
        if stats is not None:  # every device of a guest is one assigned to it
            guest = vm.machine
            for dev in guest.spec.device:
                for irq in guest.irqs[dev.name]:
                    hist = stats.latency_ns.get(str(irq))
                    if hist is not None:
                        latency.merge(hist)
        out[vm.name] = VmReport(
            injection=r["injection"], vcpus=r["vcpus"], pin=r["pin"], exits=r["exits"],
            assigned_interrupts=r["assigned_interrupts"], assigned_exits=r["assigned_exits"],
            latency=latency, guest_work_share=r["guest_work_share"], pir_coalesced=r["pir_coalesced"],
            counters=vm.machine.kernel.snapshot())
    return out


def simulation_report(m: Machine, stats: IrqStats | None, title: str | None = None,
                      guests: dict[str, IrqStats] | None = None) -> Report:
    """The report of a finished run of ``m`` (``stats`` fed with its events,
    ``guests`` with its guests')."""
    k = m.kernel
    spec = m.spec.scenario
    return Report(
        source="simulation", cpus=k.ncpus, seed=m.seed, duration_ns=m.engine.now,
        counters=k.snapshot(), stats=stats,
        warnings=[ReportWarning(kind=w.kind, irq=w.irq, time_ns=w.time_ns, message=w.message)
                  for w in machine_warnings(m)],
        cpu_time_ns=cpu_time_ns(m),
        results=m.os.results(),
        rx={name: path.report() for name, path in m.nics.items()},
        placement=m.balancer.report() if m.balancer.policy != "static" else None,
        view=m.os.report_view(),
        log=list(k.log),
        vector_matrix=m.board.vector_matrix(),
        iommu_faults=None if m.dma is None else m.dma.faults(),
        title=title or (f"{spec.name}: {spec.description}" if spec.description else spec.name),
        vms=_vm_reports(m, guests or {}),
    )
