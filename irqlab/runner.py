"""Running a simulation with the analysis attached: the glue between the
machine (which only produces events, counters and warnings) and the report
(which knows nothing of the simulator)."""

from __future__ import annotations

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.report import Report, ReportWarning
from irqlab.machine.machine import Machine
from irqlab.machine.run import cpu_time_ns, machine_warnings


def simulation_report(m: Machine, stats: IrqStats | None, title: str | None = None) -> Report:
    """The report of a finished run of ``m`` (``stats`` fed with its events)."""
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
        log=list(k.log),
        title=title or (f"{spec.name}: {spec.description}" if spec.description else spec.name),
    )
