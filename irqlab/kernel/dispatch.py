"""``ivt_handle_interrupt``: the interrupt dispatcher, from exception entry to
return, for every controller personality.

Sequence (``arch/x86/kernel/irq.c`` ``common_interrupt``,
``drivers/irqchip/irq-gic-v3.c`` ``gic_handle_irq``, the Cortex-M exception
model):

1. hardware entry (the controller's cost; tail-chained entries are cheaper)
   and the kernel's context save;
2. acknowledge (already done at INTA on x86; IAR read / late arrival after
   entry elsewhere); the spurious id takes no EOI; GIC EOImode 1 drops the
   priority at once;
3. look-up in this CPU's vector table: an IRQ descriptor runs its flow
   handler, a system vector its own handler, an empty slot is acknowledged
   and reported ("No irq handler for %d.%u" on x86, "Unexpected interrupt"
   on the GIC);
4. ``irq_exit``: pending softirqs run with interrupts enabled;
5. exception return (the NVIC's EOI; tail-chaining skips the unstacking when
   another exception is pending), context restore, interrupts enabled again.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from irqlab.kernel.cpu import IRQ
from irqlab.kernel.desc import IrqDesc

if TYPE_CHECKING:
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel


def ivt_handle_interrupt(k: Kernel, cpu: Cpu, vector: int | None) -> Generator[int, None, None]:
    c = cpu.index
    ctrl = k.ctrl
    cpu.ctx = IRQ
    chained = cpu.chain
    cpu.chain = False
    cost = ctrl.entry_ns(c, chained) + k.save_ns
    if cost:
        yield cost
    if vector is None:
        vector = ctrl.acknowledge(c)
    cpu.in_irq += 1
    if vector == ctrl.spurious:
        k.arch.spurious_vector(k, c, vector)
    else:
        if k.split_eoi:
            ctrl.eoi(c, vector)
        entry = k.vector_irq[c].get(vector)
        if entry is None:
            k.arch.no_irq_handler(k, c, vector)
        elif type(entry) is IrqDesc:
            if k.irq_nesting:
                cpu.irqs_on = True
            yield from entry.handle_irq(k, entry, c)
            cpu.irqs_on = False
        else:
            yield from entry(k, cpu, vector)
    cpu.in_irq -= 1
    if not cpu.in_irq and k.softirqs.pending[c] and not k.softirqs.running[c]:
        yield from k.softirqs.handle(k, cpu)  # irq_exit -> invoke_softirq
    cpu.ctx = IRQ
    if k.eoi_on_return and vector != ctrl.spurious:
        ctrl.eoi(c, vector)
    if k.tail_chaining and ctrl.deliverable(c):
        cpu.chain = True
    else:
        cost = ctrl.exit_ns(c, False) + k.restore_ns
        if cost:
            yield cost
    cpu.irqs_on = True
