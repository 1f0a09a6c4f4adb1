"""The Linux personality (``machine.os = "linux"``): the generic
``irqlab.kernel`` as it is (``kernel/irq``, softirqs, threads), hard-IRQ
handlers never nested, the tick raising the TIMER softirq; the VT-d fault
fault interrupt runs ``dmar_fault`` (``linux.dmar``), the AMD-Vi event log
interrupt ``amd_iommu_int_thread`` (``linux.amd_iommu``), the SMMUv3 event
queue interrupt ``arm_smmu_evtq_thread`` (``linux.arm_smmu_v3``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irqlab.os.base import nvic_facts, os_kernel
from irqlab.osview import NVIC, PROC_INTERRUPTS, SOFTIRQS, OsView

if TYPE_CHECKING:
    from irqlab.hw.remapping import RemapUnit
    from irqlab.kernel.action import Handler
    from irqlab.machine.machine import Machine
    from irqlab.platform.base import Board


class Linux:
    name = "linux"

    def __init__(self, m: Machine, board: Board) -> None:
        self.kernel = os_kernel(m, board)

    def finish(self, m: Machine) -> None:
        return None

    def iommu_fault_isr(self, m: Machine, unit: RemapUnit) -> tuple[Handler | None, Handler | None]:
        # each IOMMU's driver is imported when a scenario has that IOMMU (start-up)
        from irqlab.hw.remapping import bdf

        if unit.vendor == "intel":
            from irqlab.os.linux.dmar import DmarFault

            return DmarFault(), None
        pci = {sid: f"0000:{bdf(sid)}" for sid in m.sids.values()}
        if unit.vendor == "amd":  # pci_err's prefix: "<driver> <device>"
            from irqlab.os.linux.amd_iommu import AmdIommuIntThread, amd_iommu_int_handler

            prefixes = {m.sids[name]: f"{drv.module} {pci[m.sids[name]]}"
                        for name, drv in m.drivers.items()}
            return amd_iommu_int_handler, AmdIommuIntThread(prefixes)
        from irqlab.os.linux.arm_smmu_v3 import ArmSmmuEvtqThread

        return None, ArmSmmuEvtqThread(pci)

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
