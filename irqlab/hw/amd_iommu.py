"""AMD I/O Virtualization Technology (AMD-Vi) IOMMU: the shared walks
(``hw.remapping``) reported through the event log and its MSI.

Sources: AMD IOMMU specification, "Event Log" and "IO_PAGE_FAULT Event";
Linux ``drivers/iommu/amd/amd_iommu_types.h`` (``EVENT_TYPE_*``, ``EVENT_FLAG_*``,
``MMIO_STATUS_*``, ``EVT_BUFFER_SIZE`` 8192) and ``iommu.c`` ``iommu_print_event``.

* The event log is a ring of 16-byte entries (512 in Linux's 8 KiB buffer): the
  IOMMU writes at the tail, software consumes from the head.  A full log drops
  the event and sets ``EventOverflow`` (status bit 0).
* Each entry: dword 0 DeviceID [15:0]; dword 1 DomainID [15:0], flags [27:16],
  type [31:28]; dwords 2-3 the address.
* A failed DMA walk is an ``IO_PAGE_FAULT`` (type 0x2).  Flags: ``RW`` 0x020 for a
  write, ``PR`` 0x010 when the page entry was present, ``PE`` 0x040 when its
  permission forbade the access.  A requester with no usable device table entry
  reports DomainID 0 (as Linux logs for devices not yet attached, e.g.
  ``nvme 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000 ...]``).
  A blocked interrupt is an ``IO_PAGE_FAULT`` with ``I`` 0x008 (interrupt
  request) at the interrupt address range 0xFEE00000 [the spec's event layout;
  which address the entry carries is inferred].
* Writing an event sets ``EventLogInt`` (status bit 1, RW1C); the event MSI is
  sent when that bit goes 0 -> 1, held while the MSI is masked and sent on
  unmask.
"""

from __future__ import annotations

from irqlab.hw import remapping
from irqlab.hw.apic import Apic
from irqlab.hw.msi import decode
from irqlab.hw.remapping import RemapUnit

EVT_ENTRIES = 8192 // 16  # EVT_BUFFER_SIZE / EVENT_ENTRY_SIZE
EVENT_TYPE_SHIFT, EVENT_FLAGS_SHIFT = 28, 16
EVENT_TYPE_IO_FAULT = 0x2
EVENT_FLAG_I, EVENT_FLAG_PR, EVENT_FLAG_RW, EVENT_FLAG_PE = 0x008, 0x010, 0x020, 0x040
MMIO_STATUS_EVT_OVERFLOW = 1 << 0
MMIO_STATUS_EVT_INT = 1 << 1
INTERRUPT_RANGE = 0xFEE00000


class AmdIommu(RemapUnit):
    """One AMD-Vi IOMMU (``name`` as Linux numbers them: ``AMD-Vi0``)."""

    vendor = "amd"

    def __init__(self, apic: Apic, name: str = "AMD-Vi0", entries: int = EVT_ENTRIES) -> None:
        super().__init__(name)
        self.apic = apic
        self.log: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * entries
        self.head = 0  # software's next entry
        self.tail = 0  # the IOMMU's next entry
        self.status = 0
        self.masked = True  # the event MSI comes up masked
        self.held = False
        self.msi_address = 0
        self.msi_data = 0
        self.recorded = 0
        self.dropped_overflow = 0
        self.events_sent = 0

    # -- configuration ------------------------------------------------------------------
    def program_fault_event(self, address: int, data: int) -> None:
        """The event interrupt's MSI message."""
        decode(address, data)
        self.msi_address, self.msi_data = address, data

    def set_masked(self, masked: bool) -> None:
        self.masked = masked
        if not masked and self.held:
            self.held = False
            self._send()

    # -- hardware ---------------------------------------------------------------------
    def record(self, outcome: int, sid: int, address: int, write: bool) -> bool:
        domain = self.context.get(sid)
        domain_id = 0 if domain is None else domain.id
        if outcome in remapping.IR_OUTCOMES:
            flags, address = EVENT_FLAG_I, INTERRUPT_RANGE
        else:
            flags = EVENT_FLAG_RW if write else 0
            if outcome == remapping.NO_PERMISSION:
                flags |= EVENT_FLAG_PR | EVENT_FLAG_PE
        return self.log_event(sid, domain_id, flags, EVENT_TYPE_IO_FAULT, address)

    def fault_code(self, outcome: int, write: bool) -> int:
        return EVENT_TYPE_IO_FAULT

    def log_event(self, devid: int, domain_id: int, flags: int, kind: int, address: int) -> bool:
        """Write one event at the tail; False when the log was full."""
        nxt = (self.tail + 1) % len(self.log)
        if nxt == self.head:
            self.status |= MMIO_STATUS_EVT_OVERFLOW
            self.dropped_overflow += 1
            return False
        self.log[self.tail] = (devid & 0xFFFF,
                               domain_id & 0xFFFF | (flags & 0xFFF) << EVENT_FLAGS_SHIFT
                               | kind << EVENT_TYPE_SHIFT,
                               address & 0xFFFFFFFF, address >> 32)
        self.tail = nxt
        self.recorded += 1
        if not self.status & MMIO_STATUS_EVT_INT:
            self.status |= MMIO_STATUS_EVT_INT
            if self.masked:
                self.held = True
            else:
                self._send()
        return True

    def _send(self) -> None:
        self.events_sent += 1
        dest, vector, level = decode(self.msi_address, self.msi_data)
        self.apic.accept_by_id(dest, vector, level)

    # -- software view ------------------------------------------------------------------
    def write_status(self, value: int) -> None:
        """RW1C write of the status register's event bits."""
        self.status &= ~(value & (MMIO_STATUS_EVT_INT | MMIO_STATUS_EVT_OVERFLOW))
