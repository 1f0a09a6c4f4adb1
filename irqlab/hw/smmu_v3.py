"""Arm SMMUv3: the shared walks (``hw.remapping``) reported as event-queue
records, with the event queue's wired interrupt.

Sources: Arm SMMUv3 architecture (IHI 0070), 7.3 "Event records" (F_TRANSLATION
0x10, F_PERMISSION 0x13, C_BAD_STE 0x04) and 3.5 "Command and Event queues";
Linux ``drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h`` (``EVTQ_0_ID`` [7:0],
``EVTQ_0_SID`` [63:32], ``EVTQ_1_RnW`` bit 35, ``EVTQ_2_ADDR``; 32-byte records).

* A StreamID with no valid stream table entry (a master not attached:
  STE.V = 0) gives C_BAD_STE, which carries no address; a leaf entry that is not
  present gives F_TRANSLATION and one without the access's permission
  F_PERMISSION, both with the input address (IOVA), CLASS = IN (input address),
  RnW set for a read.  Interrupts are not remapped by the SMMU (the GIC ITS
  translates MSIs), so no interrupt outcome reaches it.
* The queue is a ring: PROD advances as records are written, CONS as software
  reads them; a full queue drops the record and toggles the overflow flag.
  The event queue interrupt (edge) is pulsed when records arrive in an empty
  queue.
"""

from __future__ import annotations

from collections.abc import Callable

from irqlab.hw import remapping
from irqlab.hw.remapping import RemapUnit

EVTQ_ENTRIES = 128
EVT_ID_BAD_STE, EVT_ID_TRANSLATION_FAULT, EVT_ID_PERMISSION_FAULT = 0x04, 0x10, 0x13
EVTQ_0_SID_SHIFT = 32
EVTQ_1_RNW = 1 << 35
EVTQ_1_CLASS_SHIFT = 40
CLASS_IN = 2  # the fault is in the input address
EVENT_NAMES = {EVT_ID_BAD_STE: "C_BAD_STE", EVT_ID_TRANSLATION_FAULT: "F_TRANSLATION",
               EVT_ID_PERMISSION_FAULT: "F_PERMISSION"}
_IDS = {
    remapping.NO_ROOT: EVT_ID_BAD_STE,
    remapping.NO_CONTEXT: EVT_ID_BAD_STE,
    remapping.NOT_PRESENT: EVT_ID_TRANSLATION_FAULT,
    remapping.NO_PERMISSION: EVT_ID_PERMISSION_FAULT,
}


class SmmuV3(RemapUnit):
    """One SMMUv3 (``name`` as the platform device: ``arm-smmu-v3.0.auto``)."""

    vendor = "arm-smmuv3"

    def __init__(self, irq_line: Callable[[], None], name: str = "arm-smmu-v3.0.auto",
                 entries: int = EVTQ_ENTRIES) -> None:
        super().__init__(name)
        self.irq_line = irq_line  # pulses the event queue's wired interrupt
        self.queue: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * entries
        self.prod = 0
        self.cons = 0
        self.overflow = False
        self.recorded = 0
        self.dropped_overflow = 0
        self.events_sent = 0

    def record(self, outcome: int, sid: int, address: int, write: bool) -> bool:
        event = _IDS[outcome]  # an interrupt outcome never reaches an SMMU: KeyError is a bug
        dw1 = 0 if write else EVTQ_1_RNW
        dw2 = 0
        if event != EVT_ID_BAD_STE:
            dw1 |= CLASS_IN << EVTQ_1_CLASS_SHIFT
            dw2 = address
        return self.write_record((event | sid << EVTQ_0_SID_SHIFT, dw1, dw2, 0))

    def fault_code(self, outcome: int, write: bool) -> int:
        return _IDS[outcome]

    def write_record(self, record: tuple[int, int, int, int]) -> bool:
        """Queue one record at PROD; False when the queue was full."""
        size = len(self.queue)
        if self.prod - self.cons >= size:
            self.overflow = not self.overflow
            self.dropped_overflow += 1
            return False
        was_empty = self.prod == self.cons
        self.queue[self.prod % size] = record
        self.prod += 1
        self.recorded += 1
        if was_empty:
            self.events_sent += 1
            self.irq_line()
        return True

    def pop(self) -> tuple[int, int, int, int] | None:
        """Software reads the record at CONS (``queue_remove_raw``), or None when empty."""
        if self.cons == self.prod:
            return None
        record = self.queue[self.cons % len(self.queue)]
        self.cons += 1
        return record
