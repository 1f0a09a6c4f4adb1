"""The Linux VT-d fault interrupt handler (``drivers/iommu/intel/dmar.c``
``dmar_fault``): read FSTS, walk the pending fault records from FRI, clear
each (RW1C) and print it, then clear PFO/PPF/PRO.

Printing is rate limited as ``pr_err_ratelimited`` does (``DEFAULT_RATELIMIT_
INTERVAL`` 5 s, ``DEFAULT_RATELIMIT_BURST`` 10, one state per call site): the
records are still drained, and the next printed message is preceded by
``dmar_fault: N callbacks suppressed``.  The lines are the kernel's::

    DMAR: DRHD: handling fault status reg 3
    DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7cd80000 [fault reason 0x01] Present bit in root entry is clear
    DMAR: [INTR-REMAP] Request device [00:1f.0] fault index 0x10 [fault reason 0x22] Present field in the IRTE entry is clear
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab import vtd
from irqlab.hw.iommu import FSTS_FRI_SHIFT, FSTS_PFO, FSTS_PPF, FSTS_PRO, FaultRecord, VtdUnit
from irqlab.kernel.flags import IRQ_HANDLED

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.kernel import Kernel

RATELIMIT_INTERVAL_NS = 5_000_000_000  # DEFAULT_RATELIMIT_INTERVAL = 5 * HZ
RATELIMIT_BURST = 10  # DEFAULT_RATELIMIT_BURST
#: model parameters: the handler's base cost and the cost of one record
BASE_NS, PER_RECORD_NS = 1_000, 600


class Ratelimit:
    """``struct ratelimit_state`` (lib/ratelimit.c ``___ratelimit``)."""

    __slots__ = ("begin", "func", "missed", "printed")

    def __init__(self, func: str) -> None:
        self.func = func
        self.begin = -RATELIMIT_INTERVAL_NS
        self.printed = 0
        self.missed = 0

    def ok(self, k: Kernel) -> bool:
        now = k.engine.now
        if now - self.begin >= RATELIMIT_INTERVAL_NS:
            if self.missed:
                k.printk(f"{self.func}: {self.missed} callbacks suppressed")
            self.begin, self.printed, self.missed = now, 0, 0
        if self.printed < RATELIMIT_BURST:
            self.printed += 1
            return True
        self.missed += 1
        return False


def bdf(sid: int) -> str:
    """``%02x:%02x.%d`` of a source id."""
    return f"{sid >> 8:02x}:{(sid >> 3) & 0x1F:02x}.{sid & 7}"


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
        self.status_rs = Ratelimit("dmar_fault")
        self.record_rs = Ratelimit("dmar_fault")
        self.symbol = "dmar_fault"

    def __call__(self, ctx: HandlerContext) -> int:
        k = ctx.k
        unit: VtdUnit = ctx.action.dev_id  # type: ignore[union-attr]
        ctx.cost += BASE_NS
        fsts = unit.fsts
        if fsts and self.status_rs.ok(k):
            k.printk(f"DMAR: DRHD: handling fault status reg {fsts:x}")
        if fsts & FSTS_PPF:
            idx = (fsts >> FSTS_FRI_SHIFT) & 0xFF
            while True:
                rec = unit.records[idx]
                if not rec.fault:
                    break
                line = fault_line(rec)
                unit.clear_record(idx)  # writel(DMA_FRCD_F) before printing
                ctx.cost += PER_RECORD_NS
                if self.record_rs.ok(k):
                    k.printk(f"DMAR: {line}")
                idx = (idx + 1) % len(unit.records)
        unit.write_fsts(FSTS_PFO | FSTS_PPF | FSTS_PRO)
        return IRQ_HANDLED
