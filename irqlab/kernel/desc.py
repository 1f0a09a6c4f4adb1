"""The IRQ descriptor: per-line state only (``include/linux/irqdesc.h``).

Depth counts nested disables; ``istate`` holds the core-internal IRQS_* bits
and ``state`` the IRQD_* bits; ``kstat`` the per-CPU counts that
``/proc/interrupts`` prints; ``irq_count``/``irqs_unhandled``/``last_unhandled``
and ``threads_handled``/``threads_handled_last`` belong to the spurious detector.  Policy lives in the flow handler
(``handle_irq``), hardware operations in ``chip``, driver code in ``action``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from irqlab.kernel.flags import IRQD_IRQ_DISABLED, IRQD_IRQ_MASKED, IRQD_LEVEL

if TYPE_CHECKING:
    from irqlab.kernel.action import IrqAction
    from irqlab.kernel.chip import IrqChip
    from irqlab.kernel.kernel import Kernel

FlowHandler = Callable[["Kernel", "IrqDesc", int], Generator[int, None, Any]]


class IrqDesc:
    __slots__ = (
        "action", "affinity", "affinity_mask", "chip", "chip_data", "depth", "drop_eoi",
        "handle_irq", "hwirq", "irq", "irq_count", "irqs_unhandled", "istate", "kstat",
        "last_unhandled", "name", "node", "pending_mask", "state",
        "threads_active", "threads_handled", "threads_handled_last", "threads_oneshot", "vector",
    )

    def __init__(self, irq: int, cpus: int, chip: IrqChip, hwirq: int, handle_irq: FlowHandler,
                 flow_name: str, level: bool) -> None:
        self.irq = irq
        self.hwirq = hwirq
        self.chip = chip
        self.handle_irq = handle_irq
        self.name = flow_name  # desc->name: the flow name /proc/interrupts shows ("fasteoi")
        self.action: list[IrqAction] = []
        self.istate = 0
        # Lines start masked and disabled until the first request_irq starts them.
        self.state = IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED | (IRQD_LEVEL if level else 0)
        self.depth = 1
        self.kstat = [0] * cpus
        self.irq_count = 0
        self.irqs_unhandled = 0
        self.last_unhandled = 0
        self.threads_oneshot = 0
        self.threads_active = 0
        #: times a threaded handler returned IRQ_HANDLED (irq_thread_fn), and
        #: the value the spurious detector last saw (bit 31: SPURIOUS_DEFERRED)
        self.threads_handled = 0
        self.threads_handled_last = 0
        self.affinity = 0  # effective affinity: one CPU
        #: smp_affinity, the CPUs asked for (bit N = CPU N; irq_common_data.affinity),
        #: irq_default_affinity (every CPU) until the platform sets it
        self.affinity_mask = (1 << cpus) - 1
        self.pending_mask = 0  # desc->pending_mask: a move waiting for the next interrupt
        self.node = 0  # NUMA node (/proc/irq/N/node)
        #: the platform's per-line state (irq_data.chip_data: x86's apic_chip_data)
        self.chip_data: Any = None
        self.vector = -1  # x86: vector allocated on the affinity CPU
        self.drop_eoi = 0  # fault injection: 0 off, 1 drop the next EOI, 2 drop every EOI

    @property
    def level(self) -> bool:
        return bool(self.state & IRQD_LEVEL)

    @property
    def disabled(self) -> bool:
        return bool(self.state & IRQD_IRQ_DISABLED)

    @property
    def masked(self) -> bool:
        return bool(self.state & IRQD_IRQ_MASKED)

    @property
    def total(self) -> int:
        return sum(self.kstat)
