"""The Linux AMD-Vi event log interrupt (``drivers/iommu/amd/iommu.c``, as of
Linux 6.4): ``request_threaded_irq(irq, amd_iommu_int_handler,
amd_iommu_int_thread, 0, "AMD-Vi", iommu)``.

The hard handler only wakes the thread.  ``amd_iommu_int_thread`` reads the
status register and, while an event bit is set, writes the bits back (RW1C),
drains the log from head to tail (``iommu_poll_events``) and re-reads it; an
overflow prints ``IOMMU event log overflow`` (rate limited) and restarts
logging.  ``iommu_print_event`` prints an ``IO_PAGE_FAULT`` through
``amd_iommu_report_page_fault`` with the device's own rate limit
(``dev_data->rs``, 5 s / 10)::

    ixgbe 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0001 address=0xfffff000 flags=0x0020]

and a requester the kernel does not know as ``AMD-Vi: Event logged
[IO_PAGE_FAULT device=0000:01:00.0 domain=... address=... flags=...]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.hw.amd_iommu import (
    EVENT_FLAGS_SHIFT,
    EVENT_TYPE_IO_FAULT,
    EVENT_TYPE_SHIFT,
    MMIO_STATUS_EVT_INT,
    MMIO_STATUS_EVT_OVERFLOW,
    AmdIommu,
)
from irqlab.hw.remapping import bdf
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_WAKE_THREAD
from irqlab.kernel.ratelimit import Ratelimit, ratelimit_state

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext

#: model parameters: the thread's base cost and the cost of one event
BASE_NS, PER_EVENT_NS = 1_000, 500
_INT_MASK = MMIO_STATUS_EVT_INT | MMIO_STATUS_EVT_OVERFLOW


def amd_iommu_int_handler(ctx: HandlerContext) -> int:
    """The hard-IRQ half: wake the thread."""
    return IRQ_WAKE_THREAD


def event_line(event: tuple[int, int, int, int], pci_dev: str | None) -> str:
    """``iommu_print_event``'s line for one entry (without the device prefix)."""
    devid = event[0] & 0xFFFF
    domain = event[1] & 0xFFFF
    flags = (event[1] >> EVENT_FLAGS_SHIFT) & 0xFFF
    kind = event[1] >> EVENT_TYPE_SHIFT
    address = event[3] << 32 | event[2]
    if kind != EVENT_TYPE_IO_FAULT:
        return ("AMD-Vi: Event logged [UNKNOWN "  # sic: Linux prints no closing bracket
                + " ".join(f"event[{i}]=0x{dw:08x}" for i, dw in enumerate(event)))
    where = "" if pci_dev else f"device=0000:{bdf(devid)} "
    return (f"AMD-Vi: Event logged [IO_PAGE_FAULT {where}domain=0x{domain:04x} "
            f"address=0x{address:x} flags=0x{flags:04x}]")


class AmdIommuIntThread:
    """``amd_iommu_int_thread``; ``devices`` maps a DeviceID to the
    ``pci_err`` prefix of its device (``"<driver> 0000:bb:dd.f"``)."""

    symbol = "amd_iommu_int_thread"

    def __init__(self, devices: dict[int, str]) -> None:
        self.devices = devices
        self.rs: dict[int, Ratelimit] = {}

    def __call__(self, ctx: HandlerContext) -> int:
        k = ctx.k
        unit: AmdIommu = ctx.action.dev_id  # type: ignore[union-attr]
        ctx.cost += BASE_NS
        status = unit.status
        while status & _INT_MASK:
            unit.write_status(_INT_MASK)
            if status & MMIO_STATUS_EVT_INT:
                while unit.head != unit.tail:
                    self._print_event(ctx, unit.log[unit.head])
                    unit.head = (unit.head + 1) % len(unit.log)
            if status & MMIO_STATUS_EVT_OVERFLOW and ratelimit_state(k, "amd_iommu_int_thread").ok(k):
                k.printk("AMD-Vi: IOMMU event log overflow")
            status = unit.status
        return IRQ_HANDLED

    def _print_event(self, ctx: HandlerContext, event: tuple[int, int, int, int]) -> None:
        k = ctx.k
        ctx.cost += PER_EVENT_NS
        devid = event[0] & 0xFFFF
        pci_dev = self.devices.get(devid)
        if pci_dev is None:
            if ratelimit_state(k, "amd_iommu_report_page_fault").ok(k):
                k.printk(event_line(event, None))
            return
        rs = self.rs.get(devid)
        if rs is None:
            rs = self.rs[devid] = Ratelimit("amd_iommu_report_page_fault")
        if rs.ok(k):
            k.printk(f"{pci_dev}: {event_line(event, pci_dev)}")
