"""Running a built machine.

Events go to every sink given (the streaming analysis, trace writers).  After
the run the machine reports plain data: its warnings (kernel warnings, softirq
work handed to ksoftirqd, a vector left in service after a missed EOI) and the
CPU time per context; ``irqlab.runner`` turns them into a report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from irqlab.kernel.cpu import CONTEXT_NAMES
from irqlab.kernel.kernel import KernelWarning
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
    if m.spec.timer.enabled:
        k.start_tick()
    for devs in m.devices.values():
        for dev in devs:
            dev.start()
    m.engine.run(until_ns=duration_ns, max_events=max_events, progress=progress)
    if m.engine.stop_reason:
        k.warn("stopped", None, f"run stopped at {m.engine.now} ns: {m.engine.stop_reason}")


def blocked_after_missed_eoi(m: Machine) -> list[KernelWarning]:
    """x86: vectors left in the ISR with no handler running.  Their class and
    every lower one stay blocked on that CPU (PPR), while higher classes still
    arrive (Intel SDM 10.8.3.1)."""
    out: list[KernelWarning] = []
    if m.apic is None:
        return out
    k = m.kernel
    for cpu, lapic in enumerate(m.apic.lapics):
        c = k.cpus[cpu]
        if c.in_irq or not c.irqs_on or lapic.isr.highest() < 0:
            continue  # an interrupt is being taken or handled: its ISR bit is not stale
        stale = m.apic.in_service(cpu)
        top = stale[0]
        cls = top >> 4
        irq = k.vector_irq[cpu].get(top)
        irq_no = getattr(irq, "irq", None)
        pending = [v for v in m.apic.pending(cpu) if v >> 4 <= cls]
        desc = ", ".join(f"{v:#04x}" for v in pending) or "none yet"
        out.append(KernelWarning(
            "missed-eoi", irq_no, m.engine.now,
            (f"CPU{cpu}: vector {top:#04x}"
                     + (f" (irq {irq_no})" if irq_no is not None else "")
                     + f" is still in service: its EOI never came, so priority classes "
                       f"{cls:#x} and lower are blocked on CPU{cpu} (PPR={lapic.ppr():#04x}); "
                       f"blocked in IRR: {desc}; higher classes are still delivered"),
        ))
    return out


def machine_warnings(m: Machine) -> list[KernelWarning]:
    """Everything the run has to warn about: the kernel's warnings, how many
    more were rate-limited away, vectors left blocked by a missed EOI, and
    ksoftirqd taking over softirq work."""
    k = m.kernel
    out = list(k.warnings)
    out += [KernelWarning(kind, irq, m.engine.now,
                     f"{n} more {kind} warnings" + (f" for irq {irq}" if irq is not None else "")
                     + " suppressed")
            for (kind, irq), n in sorted(k.warn_suppressed.items(), key=lambda kv: str(kv[0]))]
    out += blocked_after_missed_eoi(m)
    out += [KernelWarning("ksoftirqd", None, m.engine.now, note) for note in handoff_notes(k)]
    return out


def cpu_time_ns(m: Machine) -> dict[int, dict[str, int]]:
    """``/proc/stat``-like time per CPU and context."""
    return {c.index: dict(zip(CONTEXT_NAMES, c.account(), strict=True)) for c in m.kernel.cpus}
