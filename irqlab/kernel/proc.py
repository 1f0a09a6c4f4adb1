"""``/proc/interrupts``, ``/proc/softirqs`` and ``/proc/irq/N/`` of a
simulated kernel (``kernel/irq/proc.c``, ``fs/proc/softirqs.c``).

One row per IRQ that has an action (lines without one are skipped, as
``show_interrupts`` does), then the architecture's rows
(``arch_show_interrupts``: LOC, SPU, ERR, MIS on x86; ``Err`` elsewhere),
which the platform renders from the counts the kernel keeps per row.  Columns
stay for offline CPUs (Linux prints online CPUs only), so counts taken before
a CPU went offline still add up.

``/proc/irq/N/`` as ``kernel/irq/proc.c`` prints it: ``smp_affinity`` (the
pending mask while a move waits for the next interrupt) and
``effective_affinity`` as ``%*pb``, their ``_list`` forms as ``%*pbl``,
``node`` as ``%d``, ``spurious`` as ``count %u`` / ``unhandled %u`` /
``last_unhandled %u ms``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.events import SOFTIRQ_NAMES, CounterRow, CounterSnapshot
from irqlab.kernel.cpumask import bitmap_list_string, bitmap_string
from irqlab.kernel.flags import IRQD_SETAFFINITY_PENDING
from irqlab.kernel.jiffies import jiffies_to_msecs

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
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
        snap.irq_files[str(irq)] = irq_proc_files(k, d)
    k.arch.arch_show_interrupts(k, snap)
    for nr, name in enumerate(SOFTIRQ_NAMES):
        snap.softirqs[name] = list(k.softirqs.counts[nr])
    return snap


def irq_proc_files(k: Kernel, d: IrqDesc) -> dict[str, str]:
    """The files of ``/proc/irq/N/`` (see the module docstring)."""
    mask = d.pending_mask if d.state & IRQD_SETAFFINITY_PENDING else d.affinity_mask
    effective = 1 << d.affinity
    return {
        "smp_affinity": bitmap_string(mask, k.ncpus),
        "smp_affinity_list": bitmap_list_string(mask),
        "effective_affinity": bitmap_string(effective, k.ncpus),
        "effective_affinity_list": bitmap_list_string(effective),
        "node": str(d.node),
        "spurious": (f"count {d.irq_count}\nunhandled {d.irqs_unhandled}\n"
                     f"last_unhandled {jiffies_to_msecs(d.last_unhandled, k.hz)} ms"),
    }
