"""Names and tables a scenario is validated against that the run path also
reads: importable without pydantic (:mod:`irqlab.scenario.schema` imports
them from here)."""

from __future__ import annotations

#: the machine variants, by ``machine.arch``
ARCHES = ("x86", "arm64", "armv7m")

#: injection modes per architecture (``irqlab.virt.modes``)
INJECTION_MODES: dict[str, tuple[str, ...]] = {
    "x86": ("emulated", "apicv", "posted", "eli-partial", "eli-full"),
    "arm64": ("emulated", "vgic"),
}

#: the fault kinds that change what a driver does with its DMA mappings and
#: interrupt remapping entries (``irqlab.machine.dma``), so the IOMMU faults for real
DMA_MISTAKES = ("dma-after-unmap", "dma-wrong-direction", "dma-unmapped-iova", "no-context-entry",
                "bad-irte")

MAX_DEVICES = (1 << 16) - 1
"""Most devices a scenario holds: the PCI requester ids of one segment, less
00:00.0 (the host bridge).  VT-d names a DMA's source by this 16-bit id (the
fault recording register's SID [79:64]: bus[15:8], dev[7:3], fn[2:0]), and
irqlab models one segment with one DMAR unit."""

#: the name of each IOMMU's own interrupt (its /proc/interrupts row)
IOMMU_IRQ = {"intel": "dmar0", "amd": "AMD-Vi", "arm-smmuv3": "arm-smmu-v3-evtq"}
