"""The Linux personality (``machine.os = "linux"``): the generic
``irqlab.kernel`` as it is (``kernel/irq``, softirqs, threads), hard-IRQ
handlers never nested, the tick raising the TIMER softirq; the VT-d fault
interrupt runs ``dmar_fault`` (``linux.dmar``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irqlab.os.base import nvic_facts, os_kernel
from irqlab.os.linux.dmar import DmarFault
from irqlab.osview import NVIC, PROC_INTERRUPTS, SOFTIRQS, OsView

if TYPE_CHECKING:
    from irqlab.machine.machine import Machine
    from irqlab.platform.base import Board


class Linux:
    name = "linux"

    def __init__(self, m: Machine, board: Board) -> None:
        self.kernel = os_kernel(m, board)

    def finish(self, m: Machine) -> None:
        return None

    def iommu_fault_isr(self) -> DmarFault:
        return DmarFault()

    def results(self) -> list[dict[str, Any]] | None:
        """The threads (``ps``-like), if any ran."""
        return self.kernel.sched.table() or None

    def report_view(self) -> OsView:
        """``/proc/interrupts`` and the softirqs; on a Cortex-M also the NVIC's
        tail-chained and late-arrival entries."""
        nvic = nvic_facts(self.kernel)
        if nvic is None:
            return OsView(os=self.name)
        return OsView(os=self.name, sections=(PROC_INTERRUPTS, SOFTIRQS, NVIC),
                      facts={NVIC: nvic})
