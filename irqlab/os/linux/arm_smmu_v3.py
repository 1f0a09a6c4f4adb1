"""The Linux Arm SMMUv3 event queue interrupt
(``drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c``, Linux 6.14):
``devm_request_threaded_irq(dev, irq, NULL, arm_smmu_evtq_thread, IRQF_ONESHOT,
"arm-smmu-v3-evtq", smmu)``.

``arm_smmu_evtq_thread`` reads records until the queue is empty, and for each
one the kernel does not handle prints (``arm_smmu_dump_event``, one static
rate limit, 5 s / 10) the raw record and its decoding::

    arm-smmu-v3 arm-smmu-v3.0.auto: event 0x10 received:
    arm-smmu-v3 arm-smmu-v3.0.auto: \t0x0000010000000010
    ... (four dwords)
    arm-smmu-v3 arm-smmu-v3.0.auto: event: F_TRANSLATION client: 0000:01:00.0 sid: 0x100 ssid: 0x0 iova: 0xfffff000 ipa: 0x0
    arm-smmu-v3 arm-smmu-v3.0.auto: unpriv data write s1 "Input address caused fault" stag: 0x0

Other events print ``event: C_BAD_STE client: ... sid: ... ssid: ...``.  A lost
record prints ``EVTQ overflow detected -- events lost``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.hw.smmu_v3 import (
    EVENT_NAMES,
    EVT_ID_PERMISSION_FAULT,
    EVT_ID_TRANSLATION_FAULT,
    EVTQ_0_SID_SHIFT,
    EVTQ_1_RNW,
    SmmuV3,
)
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.ratelimit import ratelimit_state

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext

#: model parameters: the thread's base cost and the cost of one record
BASE_NS, PER_EVENT_NS = 1_000, 700
#: ``event_class_str`` of arm-smmu-v3.c
_CLASS = ("CD fetch", "Stage 1 translation table fetch", "Input address caused fault", "Reserved")


def event_lines(record: tuple[int, int, int, int], client: str | None) -> list[str]:
    """``arm_smmu_dump_event``'s lines for one record (without the device prefix)."""
    event = record[0] & 0xFF
    sid = record[0] >> EVTQ_0_SID_SHIFT
    name = EVENT_NAMES.get(event, f"UNKNOWN_{event:#04x}")
    who = f"client: {client or '(unassigned sid)'} sid: {sid:#x} ssid: 0x0"
    lines = [f"event 0x{event:02x} received:", *(f"\t0x{dw:016x}" for dw in record)]
    if event in (EVT_ID_TRANSLATION_FAULT, EVT_ID_PERMISSION_FAULT):
        access = "read" if record[1] & EVTQ_1_RNW else "write"
        lines.append(f"event: {name} {who} iova: {record[2]:#x} ipa: 0x0")
        lines.append(f'unpriv data {access} s1 "{_CLASS[(record[1] >> 40) & 3]}" stag: 0x0')
    else:
        lines.append(f"event: {name} {who}")
    return lines


class ArmSmmuEvtqThread:
    """``arm_smmu_evtq_thread``; ``clients`` maps a StreamID to the master's
    device name (``0000:bb:dd.f``)."""

    symbol = "arm_smmu_evtq_thread"

    def __init__(self, clients: dict[int, str]) -> None:
        self.clients = clients
        self.overflow = False

    def __call__(self, ctx: HandlerContext) -> int:
        k = ctx.k
        smmu: SmmuV3 = ctx.action.dev_id  # type: ignore[union-attr]
        ctx.cost += BASE_NS
        prefix = f"arm-smmu-v3 {smmu.name}: "
        while True:
            record = smmu.pop()
            if record is None:
                break
            ctx.cost += PER_EVENT_NS
            if ratelimit_state(k, "arm_smmu_dump_event").ok(k):
                client = self.clients.get(record[0] >> EVTQ_0_SID_SHIFT)
                for line in event_lines(record, client):
                    k.printk(prefix + line)
        if smmu.overflow != self.overflow:  # queue_sync_prod_in: OVFLG toggled
            self.overflow = smmu.overflow
            k.printk(prefix + "EVTQ overflow detected -- events lost")
        return IRQ_HANDLED
