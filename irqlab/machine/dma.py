"""Drivers' DMA through the IOMMU, the mistakes that make it fault, and the
link from each IOMMU fault back to the driver call that caused it.

The DMA API (Linux ``kernel/dma/mapping.c`` over ``drivers/iommu/dma-iommu.c``):

* every MSI-X (PCIe) device gets its own domain (domain ids from 1, as the
  VT-d, AMD-Vi and SMMUv3 drivers allocate them) and is attached at probe;
* ``dma_map_single`` allocates an IOVA top-down below 4 GiB (for a PCI device
  ``iommu_dma_alloc_iova`` tries a 32-bit address first), maps it with
  ``IOMMU_WRITE`` for ``DMA_FROM_DEVICE`` and ``IOMMU_READ`` for ``DMA_TO_DEVICE``
  (``dma_info_to_prot``); ``dma_unmap_single`` clears the entries and frees the
  IOVA, reused once ``IOVA_REUSE`` are free;
* the driver keeps ``RX_RING`` buffers posted (``hw.dmaring``) and, in its
  interrupt handler, unmaps each buffer the device filled and posts a new one;
  a device given to a guest through vfio-pci instead has its buffers mapped
  once (the VMM maps guest memory with ``VFIO_IOMMU_MAP_DMA``) and reposted as
  they are;
* interrupt remapping: each MSI-X vector of a device gets an IRTE at probe.

Mistakes (``[[fault]]`` kinds, each from its ``at``):

* ``dma-after-unmap``: the driver tears its ring down (``dma_unmap_single`` of
  every posted buffer) but leaves the device's queue running: the device's
  next writes hit unmapped IOVAs;
* ``dma-wrong-direction``: the refill maps buffers ``DMA_TO_DEVICE``: the
  device may read them, and its write is refused;
* ``dma-unmapped-iova``: the refill posts the buffer's physical address
  (``virt_to_phys``) in the descriptor, an address no ``dma_map_single``
  returned: a stale descriptor;
* ``no-context-entry``: ``iommu_detach_device`` clears the device's context
  entry while its DMA goes on;
* ``bad-irte``: the device's IRTEs are freed (``irq_domain_free_irqs``, the
  remapping domain's ``clear_entries``) while the device still signals.

Not modelled: the IOTLB.  The buffers a teardown unmaps were posted and never
written, so no cached translation of theirs could hide the fault, even under
Linux's lazy (flush-queue) invalidation, the x86 default.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irqlab import vtd
from irqlab.hw import remapping
from irqlab.hw.dmaring import DmaSignal, RxRing
from irqlab.hw.iopgtable import IOMMU_READ, IOMMU_WRITE, PAGE_SHIFT, PAGE_SIZE, Domain
from irqlab.hw.remapping import RemapUnit, bdf
from irqlab.hw.smmu_v3 import EVENT_NAMES
from irqlab.machine.machine import Machine

if TYPE_CHECKING:
    from irqlab.scenario.schema import FaultSpec

#: model parameter: receive buffers a driver keeps posted (a small NIC ring)
RX_RING = 64
DMA_FROM_DEVICE, DMA_TO_DEVICE = "DMA_FROM_DEVICE", "DMA_TO_DEVICE"
_PROT = {DMA_FROM_DEVICE: IOMMU_WRITE, DMA_TO_DEVICE: IOMMU_READ}
IOVA_TOP = 1 << 32  # the first IOVAs a PCI device gets sit just below 4 GiB
#: model parameter: freed IOVAs are reused, oldest first, once this many are
#: free (Linux's per-CPU IOVA caches hand them out again even sooner)
IOVA_REUSE = 1024
#: buffers come from physical memory above 4 GiB, so a physical address never
#: passes for an IOVA of the 32-bit range
PHYS_BASE = 1 << 36

#: the calls that map and unmap a device's buffers: the DMA API of a Linux
#: driver, or for a device given to user space through vfio-pci the VMM's
#: ``VFIO_IOMMU_MAP_DMA`` / ``VFIO_IOMMU_UNMAP_DMA`` ioctls (vfio_iommu_type1)
DMA_API_CALLS = ("dma_map_single", "dma_unmap_single")
VFIO_CALLS = ("VFIO_IOMMU_MAP_DMA", "VFIO_IOMMU_UNMAP_DMA")
#: Windows drivers map through their DMA adapter (``DMA_OPERATIONS``)
WDM_CALLS = ("GetScatterGatherList", "PutScatterGatherList")


def api_calls(os_name: str, driver: str) -> tuple[str, str]:
    """The (map, unmap) calls of ``driver`` under ``os_name``."""
    if driver == "vfio_pci":
        return VFIO_CALLS
    return WDM_CALLS if os_name == "windows" else DMA_API_CALLS


#: what the walk found, per outcome (the ``walk`` of a fault link)
OUTCOME_NAMES = {
    remapping.NO_ROOT: "root entry not present",
    remapping.NO_CONTEXT: "context entry not present",
    remapping.NOT_PRESENT: "page not mapped",
    remapping.NO_PERMISSION: "access not permitted by the mapping",
    remapping.IR_INDEX: "interrupt index beyond the remapping table",
    remapping.IR_NOT_PRESENT: "IRTE not present",
    remapping.IR_SID: "IRTE source-id mismatch",
}


def reason_text(vendor: str, code: int, outcome: int) -> str:
    """The name of a vendor's fault record: the VT-d reason text (``irqlab.vtd``),
    the AMD-Vi event with what the walk found, the SMMUv3 event name."""
    if vendor == "intel":
        return vtd.reason_text(code)
    if vendor == "amd":
        return f"IO_PAGE_FAULT ({OUTCOME_NAMES[outcome]})"
    return EVENT_NAMES[code]


class Call:
    """One DMA API (or IOMMU API) call, as the fault link reports it."""

    __slots__ = ("call", "direction", "iova", "size", "time_ns")

    def __init__(self, call: str, time_ns: int, iova: int | None = None, size: int = 0,
                 direction: str | None = None) -> None:
        self.call = call
        self.time_ns = time_ns
        self.iova = iova
        self.size = size
        self.direction = direction

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"call": self.call, "time_ns": self.time_ns}
        if self.iova is not None:
            out["iova"] = f"{self.iova:#x}"
            out["size"] = self.size
        if self.direction is not None:
            out["direction"] = self.direction
        return out


class DeviceDma:
    """One device's DMA state as its driver keeps it."""

    def __init__(self, m: Machine, name: str, sid: int, domain: Domain, ring: RxRing,
                 alloc_page: Callable[[], int]) -> None:
        self.m = m
        self.alloc_page = alloc_page
        self.name = name
        self.driver = m.drivers[name].module
        self.map_call, self.unmap_call = api_calls(m.spec.machine.os, self.driver)
        #: buffers stay mapped and are reposted (guest memory behind vfio-pci)
        self.static = self.driver == "vfio_pci"
        self.sid = sid
        self.domain = domain
        self.ring = ring
        self.next_iova = IOVA_TOP
        self.free: deque[int] = deque()
        #: IOVA page -> the last call that mapped, unmapped or posted it
        self.calls: dict[int, Call] = {}
        self.irtes: dict[int, int] = {}  # IRTE index -> MSI-X vector
        self.irte_call: Call | None = None
        self.detach_call: Call | None = None
        self.torn_down = False
        self.direction = DMA_FROM_DEVICE
        self.post_physical = False
        self.mistake: dict[str, int] = {}  # mistake kind -> index of its [[fault]]

    # -- the DMA API ----------------------------------------------------------------------
    def dma_map_single(self, paddr: int, direction: str) -> int:
        if len(self.free) >= IOVA_REUSE or self.next_iova <= PAGE_SIZE:
            iova = self.free.popleft()
        else:
            self.next_iova -= PAGE_SIZE
            iova = self.next_iova
        self.domain.map(iova, paddr, PAGE_SIZE, _PROT[direction])
        self.calls[iova >> PAGE_SHIFT] = Call(self.map_call, self.m.engine.now, iova, PAGE_SIZE,
                                              direction)
        return iova

    def dma_unmap_single(self, iova: int) -> None:
        """Unmap (with the direction it was mapped with, as the API requires)."""
        mapped = self.calls.get(iova >> PAGE_SHIFT)
        self.domain.unmap(iova, PAGE_SIZE)
        self.free.append(iova)
        self.calls[iova >> PAGE_SHIFT] = Call(self.unmap_call, self.m.engine.now, iova, PAGE_SIZE,
                                              None if mapped is None else mapped.direction)

    # -- the driver -----------------------------------------------------------------------
    def post_buffer(self) -> None:
        paddr = self.alloc_page()
        if self.post_physical:
            # the mistake: the descriptor gets the CPU's physical address
            self.calls[paddr >> PAGE_SHIFT] = Call(f"descriptor write without {self.map_call}",
                                                   self.m.engine.now, paddr, PAGE_SIZE)
            self.ring.posted.append(paddr)
            return
        self.ring.posted.append(self.dma_map_single(paddr, self.direction))

    def refill(self, took: int) -> None:
        """The interrupt handler: unmap what the device filled, post new buffers."""
        if self.torn_down:
            return
        done = self.ring.completed
        for _ in range(min(took, len(done))):
            iova = done.popleft()
            if self.static and self.direction == DMA_FROM_DEVICE and not self.post_physical:
                self.ring.posted.append(iova)
                continue
            if iova >> PAGE_SHIFT in self.domain.ptes:
                self.dma_unmap_single(iova)
            else:  # a buffer posted unmapped (or torn down): forget its descriptor write
                self.calls.pop(iova >> PAGE_SHIFT, None)
            self.post_buffer()

    def tear_down(self) -> None:
        """The ring teardown that forgets to stop the device's queue."""
        self.torn_down = True
        for iova in self.ring.posted:
            self.dma_unmap_single(iova)


class DmaMachine:
    """The DMA state of a machine with an IOMMU, and its fault links."""

    def __init__(self, m: Machine, unit: RemapUnit) -> None:
        self.m = m
        self.unit = unit
        self.devices: dict[int, DeviceDma] = {}  # by requester id
        self.by_name: dict[str, DeviceDma] = {}
        self.next_page = PHYS_BASE
        self.folded: dict[tuple[Any, ...], dict[str, Any]] = {}
        unit.on_fault = self.fault

    def alloc_page(self) -> int:
        """A page of the kernel's memory for a buffer (never freed in the model)."""
        self.next_page += PAGE_SIZE
        return self.next_page

    def probe(self, name: str) -> DeviceDma:
        """Attach the device to a domain of its own, post its receive ring and
        put its DMA in front of its interrupt signals."""
        m = self.m
        sid = m.sids[name]
        domain = Domain(len(self.devices) + 1)
        self.unit.attach(sid, domain)
        ring = RxRing(self.unit, sid)
        dev = DeviceDma(m, name, sid, domain, ring, self.alloc_page)
        self.devices[sid] = self.by_name[name] = dev
        dev.irtes = {i: irte.vector for i, irte in self.unit.irt.items() if irte.sid == sid}
        for _ in range(RX_RING):
            dev.post_buffer()
        for hw in m.devices[name]:
            hw.signal = DmaSignal(hw.signal, ring)
        m.drivers[name].dma = dev
        return dev

    # -- mistakes -------------------------------------------------------------------------
    def make_mistake(self, i: int, fault: FaultSpec) -> None:
        dev = self.by_name[fault.device or ""]
        self.m.engine.at(fault.at, self._mistake, (dev, i, fault.kind))

    def _mistake(self, arg: tuple[DeviceDma, int, str]) -> None:
        dev, label, kind = arg
        if kind in dev.mistake:
            return  # made already: a repeat finds nothing left to change, and the faults stay the first's
        now = self.m.engine.now
        dev.mistake[kind] = label
        if kind == "dma-after-unmap":
            dev.tear_down()
        elif kind == "dma-wrong-direction":
            dev.direction = DMA_TO_DEVICE
        elif kind == "dma-unmapped-iova":
            dev.post_physical = True
        elif kind == "no-context-entry":
            self.unit.detach(dev.sid)
            dev.detach_call = Call("iommu_detach_device", now)
        elif kind == "bad-irte":
            for index in dev.irtes:
                self.unit.clear_irte(index)
            dev.irte_call = Call("irq_domain_free_irqs", now)

    # -- fault links ----------------------------------------------------------------------
    def fault(self, outcome: int, sid: int, address: int, write: bool, recorded: bool) -> None:
        """Link a faulting request to the driver call behind it (``recorded``:
        whether the IOMMU's log kept it).  Requests that differ only in their
        address, time and the instance of the call are folded into one entry
        with a count, its first and its last."""
        dev = self.devices.get(sid)
        interrupt = outcome in remapping.IR_OUTCOMES
        cause, kind = self._cause(dev, outcome, address) if dev is not None else (None, "")
        label = dev.mistake.get(kind) if dev is not None and kind else None
        access = "interrupt" if interrupt else "write" if write else "read"
        key = (sid, access, outcome, cause.call if cause else None, label)
        one: dict[str, Any] = {
            "time_ns": self.m.engine.now,
            "address": None if interrupt else f"{address:#x}",
            "irte_index": address if interrupt else None,
            "vector": dev.irtes.get(address) if dev is not None and interrupt else None,
            "cause": None if cause is None else cause.to_json(),
        }
        entry = self.folded.get(key)
        if entry is None:
            code = self.unit.fault_code(outcome, write)
            entry = self.folded[key] = {
                "iommu": self.unit.vendor,
                "device": dev.name if dev else None,
                "driver": dev.driver if dev else None,
                "requester": bdf(sid),
                "access": access,
                "walk": OUTCOME_NAMES[outcome],
                "reason_code": f"{code:#x}",
                "reason": reason_text(self.unit.vendor, code, outcome),
                "mistake": None if label is None else {"kind": kind, "fault": label},
                "count": 0,
                "recorded": 0,
                "first": one,
            }
        entry["count"] += 1
        entry["recorded"] += recorded
        entry["last"] = one

    def faults(self) -> list[dict[str, Any]]:
        """The folded fault links, in order of first appearance."""
        return list(self.folded.values())

    @staticmethod
    def _cause(dev: DeviceDma, outcome: int, address: int) -> tuple[Call | None, str]:
        if outcome in remapping.IR_OUTCOMES:
            return dev.irte_call, "bad-irte"
        if outcome in (remapping.NO_ROOT, remapping.NO_CONTEXT):
            return dev.detach_call, "no-context-entry"
        call = dev.calls.get(address >> PAGE_SHIFT)
        if call is None:
            return None, ""
        if call.call == dev.unmap_call:
            return call, "dma-after-unmap"
        if call.direction == DMA_TO_DEVICE:
            return call, "dma-wrong-direction"
        return call, "dma-unmapped-iova"
