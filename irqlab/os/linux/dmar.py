"""The Linux VT-d fault interrupt handler (``drivers/iommu/intel/dmar.c``
``dmar_fault``): read FSTS, walk the pending fault records from FRI, clear
each (RW1C) and print it, then clear PFO/PPF/PRO.

Printing is rate limited by one ``static DEFINE_RATELIMIT_STATE(rs,
DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST)`` (5 s, 10) shared by the
status line and every record of every unit; each pass of the record loop takes
a token before it tests the record's F bit (so the pass that ends the loop
takes one too).  Records are drained even when not printed, and when a new
interval starts after misses ``___ratelimit`` prints ``dmar_fault: N callbacks
suppressed``.  The lines are the kernel's::

    DMAR: DRHD: handling fault status reg 3
    DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7cd80000 [fault reason 0x01] Present bit in root entry is clear
    DMAR: [INTR-REMAP] Request device [00:1f.0] fault index 0x10 [fault reason 0x22] Present field in the IRTE entry is clear
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab import vtd
from irqlab.hw.iommu import FSTS_FRI_SHIFT, FSTS_PFO, FSTS_PPF, FSTS_PRO, FaultRecord, VtdUnit
from irqlab.hw.remapping import bdf
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.ratelimit import ratelimit_state

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext

#: model parameters: the handler's base cost and the cost of one record
BASE_NS, PER_RECORD_NS = 1_000, 600


def fault_line(rec: FaultRecord) -> str:
    """``dmar_fault_do_one``'s message (without the ``DMAR: `` prefix)."""
    reason = vtd.reason_text(rec.reason)
    if vtd.is_irq_remap(rec.reason):
        return (f"[INTR-REMAP] Request device [{bdf(rec.sid)}] fault index {rec.address >> 48:#x} "
                f"[fault reason {rec.reason:#04x}] {reason}")
    access = "DMA Read" if rec.read else "DMA Write"
    return (f"[{access} NO_PASID] Request device [{bdf(rec.sid)}] fault addr {rec.address:#x} "
            f"[fault reason {rec.reason:#04x}] {reason}")


class DmarFault:
    """``dmar_fault`` for one unit, with its two rate-limited call sites."""

    def __init__(self) -> None:
        self.symbol = "dmar_fault"

    def __call__(self, ctx: HandlerContext) -> int:
        k = ctx.k
        unit: VtdUnit = ctx.action.dev_id  # type: ignore[union-attr]
        ctx.cost += BASE_NS
        fsts = unit.fsts
        rs = ratelimit_state(k, "dmar_fault")  # the function's static state: all units share it
        if fsts and rs.ok(k):
            k.printk(f"DMAR: DRHD: handling fault status reg {fsts:x}")
        if not fsts & FSTS_PPF:
            return IRQ_HANDLED  # goto unlock_exit: FSTS is not written
        idx = (fsts >> FSTS_FRI_SHIFT) & 0xFF
        while True:
            ratelimited = not rs.ok(k)
            rec = unit.records[idx]
            if not rec.fault:
                break
            line = fault_line(rec)
            unit.clear_record(idx)  # writel(DMA_FRCD_F) before printing
            ctx.cost += PER_RECORD_NS
            if not ratelimited:
                k.printk(f"DMAR: {line}")
            idx = (idx + 1) % len(unit.records)
        unit.write_fsts(FSTS_PFO | FSTS_PPF | FSTS_PRO)
        return IRQ_HANDLED
