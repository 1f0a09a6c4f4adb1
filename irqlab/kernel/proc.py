"""``/proc/interrupts`` and ``/proc/softirqs`` of a simulated kernel
(``kernel/irq/proc.c`` ``show_interrupts``, ``fs/proc/softirqs.c``).

One row per IRQ that has an action (lines without one are skipped, as
``show_interrupts`` does), then the architecture's rows
(``arch_show_interrupts``: LOC, SPU, ERR, MIS on x86; ``Err`` elsewhere),
which the platform renders from the counts the kernel keeps per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.events import SOFTIRQ_NAMES, CounterRow, CounterSnapshot

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel


class IrqStat:
    """Per-CPU counts of the architecture's rows (``irq_cpustat_t``) and the
    global error count (``irq_err_count``)."""

    __slots__ = ("counts", "err_count", "ncpus")

    def __init__(self, ncpus: int) -> None:
        self.ncpus = ncpus
        self.counts: dict[str, list[int]] = {}
        self.err_count = 0

    def inc(self, row: str, cpu: int) -> None:
        counts = self.counts.get(row)
        if counts is None:
            counts = self.counts[row] = [0] * self.ncpus
        counts[cpu] += 1


def show_interrupts(k: Kernel) -> CounterSnapshot:
    """Counters as ``/proc/interrupts`` and ``/proc/softirqs`` would show them."""
    snap = CounterSnapshot(cpus=k.ncpus, ts_ns=k.engine.now)
    for irq in sorted(k.descs):
        d = k.descs[irq]
        if not d.action:
            continue
        names = [a.name for a in d.action]
        snap.rows[str(irq)] = CounterRow(
            label=str(irq), per_cpu=list(d.kstat), chip=d.chip.name, hwirq=str(d.hwirq),
            trigger=k.arch.trigger_name(d), flow=d.name, name=", ".join(names), handlers=names,
        )
    k.arch.arch_show_interrupts(k, snap)
    for nr, name in enumerate(SOFTIRQ_NAMES):
        snap.softirqs[name] = list(k.softirqs.counts[nr])
    return snap
