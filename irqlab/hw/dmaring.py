"""A PCIe function's receive descriptor ring, as the device sees it: the
driver posts buffer addresses (DMA addresses: IOVAs behind an IOMMU); for each
request the device takes the next posted descriptor, writes its data there
(an upstream write that the IOMMU translates) and then sends its MSI.  The
write comes first: PCIe orders a posted write before the later MSI write.

A posted write gets no completion, so a write the IOMMU blocks does not stop
the device: it still signals.  With no descriptor posted the device has no
buffer and drops the data, still signalling its request.
"""

from __future__ import annotations

from collections import deque

from irqlab.hw.device import Signal
from irqlab.hw.remapping import RemapUnit


class RxRing:
    """Descriptors posted to the device and those it has written back."""

    __slots__ = ("completed", "posted", "sid", "unit")

    def __init__(self, unit: RemapUnit, sid: int) -> None:
        self.unit = unit
        self.sid = sid
        self.posted: deque[int] = deque()  # owned by the device, in ring order
        self.completed: deque[int] = deque()  # written back, for the driver

    def device_write(self) -> None:
        """The device writes one received buffer into the next posted descriptor."""
        if not self.posted:
            return
        iova = self.posted.popleft()
        self.unit.dma(self.sid, iova, True)
        self.completed.append(iova)


class DmaSignal(Signal):
    """The device's signal behind its DMA: each raise writes a buffer first."""

    __slots__ = ("inner", "ring")

    def __init__(self, inner: Signal, ring: RxRing) -> None:
        self.inner = inner
        self.ring = ring

    @property
    def level(self) -> bool:
        return self.inner.level

    def raise_(self) -> None:
        self.ring.device_write()
        self.inner.raise_()

    def quiesce(self) -> None:
        self.inner.quiesce()
