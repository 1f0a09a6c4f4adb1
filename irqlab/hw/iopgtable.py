"""IOMMU domains and their I/O page tables: IOVA pages -> physical pages with
read / write permission, as a DMA-remapping unit walks them.

Sources: Intel VT-d specification, "Second-Level Paging Entries" (a leaf
entry's bit 0 R and bit 1 W; an entry with R = W = 0 is not present) and
QEMU ``hw/i386/intel_iommu.c`` ``vtd_iova_to_slpte`` (an access the entry does
not allow faults, reason ``VTD_FR_WRITE`` 0x05 or ``VTD_FR_READ`` 0x06);
Linux ``include/linux/iommu.h`` ``IOMMU_READ`` / ``IOMMU_WRITE`` and
``iommu_map`` (mapping a page that is mapped is ``-EEXIST``).  The walk keeps
the leaf entries only: the levels above them change no outcome modelled here.
"""

from __future__ import annotations

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
IOMMU_READ = 1 << 0  # the device may read (DMA_TO_DEVICE)
IOMMU_WRITE = 1 << 1  # the device may write (DMA_FROM_DEVICE)
_PROT_MASK = IOMMU_READ | IOMMU_WRITE


class MapError(ValueError):
    """An ``iommu_map`` / ``iommu_unmap`` the page table refuses."""


class Domain:
    """One IOMMU domain: an I/O virtual address space shared by the devices
    attached to it.  ``id`` is the domain id the hardware reports (VT-d DID,
    AMD-Vi DomainID, SMMU ASID/VMID)."""

    __slots__ = ("id", "ptes")

    def __init__(self, domain_id: int) -> None:
        self.id = domain_id
        #: IOVA page frame -> physical page frame << 2 | prot
        self.ptes: dict[int, int] = {}

    def map(self, iova: int, paddr: int, size: int, prot: int) -> None:
        """Map ``size`` bytes (whole pages) at ``iova`` to ``paddr``."""
        if (iova | paddr | size) & (PAGE_SIZE - 1) or size <= 0:
            raise MapError(f"iommu_map: iova {iova:#x}, paddr {paddr:#x}, size {size:#x} are not "
                           "page aligned")
        if not prot & _PROT_MASK:
            raise MapError("iommu_map: a mapping needs IOMMU_READ or IOMMU_WRITE")
        first = iova >> PAGE_SHIFT
        pages = range(first, first + (size >> PAGE_SHIFT))
        taken = next((p for p in pages if p in self.ptes), None)
        if taken is not None:
            raise MapError(f"iommu_map: iova {taken << PAGE_SHIFT:#x} is already mapped (-EEXIST)")
        base = paddr >> PAGE_SHIFT
        for n, pfn in enumerate(pages):
            self.ptes[pfn] = (base + n) << 2 | prot & _PROT_MASK

    def unmap(self, iova: int, size: int) -> int:
        """Clear the entries of ``size`` bytes at ``iova``; the bytes that were mapped."""
        first = iova >> PAGE_SHIFT
        last = (iova + size - 1) >> PAGE_SHIFT
        return sum(PAGE_SIZE for pfn in range(first, last + 1) if self.ptes.pop(pfn, None) is not None)

    def walk(self, iova: int) -> int:
        """The leaf entry of ``iova``: physical frame << 2 | prot, 0 when not present."""
        return self.ptes.get(iova >> PAGE_SHIFT, 0)
