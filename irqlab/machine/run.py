"""Running a built machine and turning the run into a report.

Events go to every sink given (the streaming analysis, trace writers); the
kernel's counters become the ``/proc/interrupts`` table; kernel warnings,
softirq work handed to ksoftirqd and the controllers' end state (a vector left
in service after a missed EOI) become report warnings; the threads and their
CPU time become the ``results`` table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.report import Report, Warning
from irqlab.kernel.cpu import CONTEXT_NAMES
from irqlab.kernel.ksoftirqd import handoff_notes
from irqlab.machine.build import Machine


class Sink(Protocol):
    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None: ...


def _fan_out(sinks: Sequence[Sink]) -> Callable[[int, int, int, int, int, str], None]:
    if len(sinks) == 1:
        return sinks[0].feed
    feeds = [s.feed for s in sinks]

    def emit(ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        for feed in feeds:
            feed(ts, cpu, kind, irq, value, name)

    return emit


def simulate(m: Machine, duration_ns: int, sinks: Sequence[Sink] = (), max_events: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> None:
    """Run ``m`` for ``duration_ns`` of simulated time (or ``max_events``)."""
    k = m.kernel
    if sinks:
        emit = _fan_out(sinks)
        k.emit = emit
        for devs in m.devices.values():
            for dev in devs:
                dev.trace = emit
    k.start()
    for dev in m.timers:
        dev.start()
    for devs in m.devices.values():
        for dev in devs:
            dev.start()
    m.engine.run(until_ns=duration_ns, max_events=max_events, progress=progress)
    if m.engine.stop_reason:
        k.warn("stopped", None, f"run stopped at {m.engine.now} ns: {m.engine.stop_reason}")


def blocked_after_missed_eoi(m: Machine) -> list[Warning]:
    """x86: vectors left in the ISR with no handler running.  Their class and
    every lower one stay blocked on that CPU (PPR), while higher classes still
    arrive (Intel SDM 10.8.3.1)."""
    out: list[Warning] = []
    if m.apic is None:
        return out
    k = m.kernel
    for cpu, lapic in enumerate(m.apic.lapics):
        if k.cpus[cpu].in_irq or not lapic.isr:
            continue
        stale = m.apic.in_service(cpu)
        top = stale[0]
        cls = top >> 4
        irq = k.vector_irq[cpu].get(top)
        irq_no = getattr(irq, "irq", None)
        pending = [v for v in m.apic.pending(cpu) if v >> 4 <= cls]
        desc = ", ".join(f"{v:#04x}" for v in pending) or "none yet"
        out.append(Warning(
            kind="missed-eoi", irq=irq_no, time_ns=m.engine.now,
            message=(f"CPU{cpu}: vector {top:#04x}"
                     + (f" (irq {irq_no})" if irq_no is not None else "")
                     + f" is still in service: its EOI never came, so priority classes "
                       f"{cls:#x} and lower are blocked on CPU{cpu} (PPR={lapic.ppr():#04x}); "
                       f"blocked in IRR: {desc}; higher classes are still delivered"),
        ))
    return out


def simulation_report(m: Machine, stats: IrqStats | None, title: str | None = None) -> Report:
    k = m.kernel
    warnings = [Warning(kind=w.kind, irq=w.irq, time_ns=w.time_ns, message=w.message)
                for w in k.warnings]
    warnings += [Warning(kind=kind, irq=irq, time_ns=None,
                         message=f"{n} more {kind} warnings" + (f" for irq {irq}" if irq is not None else "")
                         + " suppressed")
                 for (kind, irq), n in sorted(k.warn_suppressed.items(), key=lambda kv: str(kv[0]))]
    warnings += blocked_after_missed_eoi(m)
    warnings += [Warning(kind="ksoftirqd", irq=None, time_ns=None, message=note)
                 for note in handoff_notes(k)]
    cpu_time = {c.index: dict(zip(CONTEXT_NAMES, c.account(), strict=True)) for c in k.cpus}
    spec = m.spec.scenario
    return Report(
        source="simulation", cpus=k.ncpus, seed=m.seed, duration_ns=m.engine.now,
        counters=k.snapshot(), stats=stats, warnings=warnings, cpu_time_ns=cpu_time,
        results=k.sched.table() or None,
        title=title or (f"{spec.name}: {spec.description}" if spec.description else spec.name),
    )
