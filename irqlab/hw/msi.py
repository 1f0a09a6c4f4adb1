"""x86 MSI / MSI-X messages and a PCI function's MSI-X table.

Message format (Linux ``arch/x86/include/asm/msi.h``; QEMU ``apic_send_msi``;
Intel SDM "Message Signalled Interrupts"):

* address: bits 31:20 = 0xFEE, 19:12 destination APIC id, bit 3 redirection
  hint, bit 2 destination mode (1 = logical), bit 4 = 1 remappable format;
* data: bits 7:0 vector, 10:8 delivery mode (0 fixed, 1 lowest priority,
  2 SMI, 4 NMI, 5 INIT, 7 ExtINT), bit 14 level assert, bit 15 trigger (1 = level).

An MSI is a posted memory write: the local APIC treats it like any other
message (IRR bit), with no Remote IRR and no EOI broadcast.  MSI-X vectors have
a per-vector mask bit; a message raised while masked sets the Pending Bit
Array entry and is sent when the vector is unmasked (PCI Local Bus spec, MSI-X).
Only physical destinations with fixed or lowest-priority delivery are modelled;
other messages are refused with :class:`MsiError`.
"""

from __future__ import annotations

from irqlab.hw.apic import Apic

MSI_ADDR_BASE = 0xFEE00000
MSI_ADDR_BASE_MASK = 0xFFF00000
MSI_ADDR_DEST_SHIFT = 12
MSI_ADDR_REMAPPABLE = 1 << 4
MSI_ADDR_DEST_MODE_LOGICAL = 1 << 2
MSI_DATA_DELIVERY_SHIFT = 8
MSI_DATA_LEVEL_TRIGGER = 1 << 15
DELIVERY_FIXED, DELIVERY_LOWEST = 0, 1
#: delivery modes of data bits 10:8 (SDM); only fixed and lowest priority go
#: through IRR/ISR, the others bypass them and are not modelled
DELIVERY_MODES = {0: "fixed", 1: "lowest priority", 2: "SMI", 4: "NMI", 5: "INIT", 7: "ExtINT"}


class MsiError(ValueError):
    """A message that is not a valid x86 compatibility-format MSI."""


def compose(dest_apic_id: int, vector: int, delivery_mode: int = DELIVERY_FIXED) -> tuple[int, int]:
    """(address, data) of a fixed-delivery, physical-destination, edge MSI."""
    if not 0 <= dest_apic_id <= 0xFF:
        raise MsiError(f"destination APIC id {dest_apic_id} does not fit address bits 19:12")
    if not 0 <= vector <= 0xFF:
        raise MsiError(f"vector {vector} does not fit data bits 7:0")
    if delivery_mode not in DELIVERY_MODES:
        raise MsiError(f"delivery mode {delivery_mode} is reserved (data bits 10:8)")
    return (MSI_ADDR_BASE | dest_apic_id << MSI_ADDR_DEST_SHIFT,
            delivery_mode << MSI_DATA_DELIVERY_SHIFT | vector)


def decode(address: int, data: int) -> tuple[int, int, bool]:
    """(destination APIC id, vector, level) of a compatibility-format,
    physical-destination, fixed or lowest-priority message."""
    if address & MSI_ADDR_BASE_MASK != MSI_ADDR_BASE:
        raise MsiError(f"MSI address {address:#x} is not in the 0xFEExxxxx window")
    if address & MSI_ADDR_REMAPPABLE:
        raise MsiError(f"MSI address {address:#x} uses the remappable format (needs an IOMMU)")
    if address & MSI_ADDR_DEST_MODE_LOGICAL:
        raise MsiError(f"MSI address {address:#x} uses logical destination mode (not modelled)")
    mode = (data >> MSI_DATA_DELIVERY_SHIFT) & 7
    if mode not in (DELIVERY_FIXED, DELIVERY_LOWEST):
        name = DELIVERY_MODES.get(mode, "reserved")
        raise MsiError(f"MSI data {data:#x}: delivery mode {mode} ({name}) bypasses IRR/ISR "
                       f"and is not modelled")
    return (address >> MSI_ADDR_DEST_SHIFT) & 0xFF, data & 0xFF, bool(data & MSI_DATA_LEVEL_TRIGGER)


class MsixTable:
    """MSI-X table and Pending Bit Array of one PCI function.

    Each entry is decoded once when programmed; a signal is then the posted
    write reaching the local APICs.  An entry never programmed has no valid
    destination, so its messages are lost (counted in ``sent``)."""

    __slots__ = ("address", "apic", "data", "masked", "pending", "route", "sent")

    def __init__(self, apic: Apic, vectors: int) -> None:
        self.apic = apic
        self.address = [0] * vectors
        self.data = [0] * vectors
        #: decoded (destination APIC id, vector, level) of each entry
        self.route: list[tuple[int, int, bool]] = [(-1, 0, False)] * vectors
        self.masked = [True] * vectors  # vectors come up masked
        self.pending = [False] * vectors
        self.sent = 0

    def program(self, index: int, address: int, data: int) -> None:
        """Write entry ``index``; an invalid message is refused with :class:`MsiError`."""
        self.route[index] = decode(address, data)
        self.address[index] = address
        self.data[index] = data

    def signal(self, index: int) -> None:
        """The function raises vector ``index``: sent, or held in the PBA while masked."""
        if self.masked[index]:
            self.pending[index] = True
            return
        self.sent += 1
        dest, vector, level = self.route[index]
        self.apic.accept_by_id(dest, vector, level)

    def mask(self, index: int) -> None:
        self.masked[index] = True

    def unmask(self, index: int) -> None:
        """Clear the vector's mask bit; a pending message is sent now."""
        self.masked[index] = False
        if self.pending[index]:
            self.pending[index] = False
            self.signal(index)
