"""Running a built machine.

Events go to every sink given (the streaming analysis, trace writers).  After
the run the machine reports plain data: its warnings (kernel warnings, softirq
work handed to ksoftirqd, a vector left in service after a missed EOI) and the
CPU time per context; ``irqlab.runner`` turns them into a report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from irqlab.analysis.irqstats import IrqStats
from irqlab.events import Sink
from irqlab.kernel.cpu import CONTEXT_NAMES
from irqlab.kernel.ksoftirqd import handoff_notes
from irqlab.kernel.printk import KernelWarning
from irqlab.machine.machine import Machine


def simulate(m: Machine, duration_ns: int, sinks: Sequence[Sink] = (), max_events: int | None = None,
             progress: Callable[[int, int], None] | None = None,
             guest_sinks: Mapping[str, Sequence[Sink]] | None = None) -> None:
    """Run ``m`` for ``duration_ns`` of simulated time (or ``max_events``);
    the events of each guest go to its ``guest_sinks``."""
    k = m.kernel
    _connect(m, sinks)
    _start(m)
    if m.hypervisor is not None:
        for vm in m.hypervisor.vms:
            _connect(vm.machine, (guest_sinks or {}).get(vm.name, ()))
            m.hypervisor.boot(vm)
            _start(vm.machine)
    m.engine.run(until_ns=duration_ns, max_events=max_events, progress=progress)
    if m.engine.stop_reason:
        k.warn("stopped", None, f"run stopped at {m.engine.now} ns: {m.engine.stop_reason}")


def _connect(m: Machine, sinks: Sequence[Sink]) -> None:
    """The machine's events to ``sinks``; the streaming statistics among them
    are called first and directly (:meth:`irqlab.events.Tracepoints.connect`)."""
    stats = next((s for s in sinks if isinstance(s, IrqStats)), None)
    m.trace.connect([s for s in sinks if s is not stats], stats)


def _start(m: Machine) -> None:
    m.kernel.start()
    if m.spec.timer.enabled:
        m.kernel.tick.start()
    for devs in m.devices.values():
        for dev in devs:
            dev.start()
    m.balancer.start()


def machine_warnings(m: Machine) -> list[KernelWarning]:
    """Everything the run has to warn about: the kernel's warnings, how many
    more were rate-limited away, vectors left blocked by a missed EOI, and
    ksoftirqd taking over softirq work."""
    k = m.kernel
    out = list(k.warnings)
    out += [KernelWarning(kind, irq, m.engine.now,
                     f"{n} more {kind} warnings" + (f" for irq {irq}" if irq is not None else "")
                     + " suppressed")
            for (kind, irq), n in sorted(k.klog.suppressed.items(), key=lambda kv: str(kv[0]))]
    out += m.platform.missed_eoi(m)
    out += [KernelWarning("ksoftirqd", None, m.engine.now, note) for note in handoff_notes(k)]
    return out


def cpu_time_ns(m: Machine) -> dict[int, dict[str, int]]:
    """``/proc/stat``-like time per CPU and context."""
    return {c.index: dict(zip(CONTEXT_NAMES, c.account(), strict=True)) for c in m.kernel.cpus}
