"""Walking the action chain (``kernel/irq/handle.c``).

``handle_irq_event`` clears IRQS_PENDING, marks the line in progress, calls
every action in registration order (a shared line calls all of them), ORs
their return values, wakes threads for IRQ_WAKE_THREAD, and passes the result
to the spurious detector.  It is a generator that yields each action's CPU
cost, so ``irq_handler_entry``/``irq_handler_exit`` carry exact times and a
nested interrupt can preempt a running handler.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.kernel.flags import (
    IRQ_NONE,
    IRQ_WAKE_THREAD,
    IRQD_IRQ_INPROGRESS,
    IRQS_PENDING,
)
from irqlab.kernel.spurious import note_interrupt

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel


def handle_irq_event(k: Kernel, desc: IrqDesc, cpu: int) -> Generator[int, None, int]:
    desc.istate &= ~IRQS_PENDING
    desc.state |= IRQD_IRQ_INPROGRESS
    retval = yield from handle_irq_event_percpu(k, desc, cpu)
    desc.state &= ~IRQD_IRQ_INPROGRESS
    return retval


def handle_irq_event_percpu(k: Kernel, desc: IrqDesc, cpu: int) -> Generator[int, None, int]:
    emit = k.emit
    engine = k.engine
    ctx = k.ctx[cpu]
    irq = desc.irq
    retval = IRQ_NONE
    for action in desc.action:
        emit(engine.now, cpu, IRQ_ENTRY, irq, 0, action.name)
        ctx.action = action
        ctx.irq = irq
        ctx.cost = 0
        res = k.call_handler(ctx, action)
        if ctx.cost:
            yield ctx.cost
        emit(engine.now, cpu, IRQ_EXIT, irq, 1 if res else 0, action.name)
        if res & IRQ_WAKE_THREAD:
            k.irq_wake_thread(desc, action)
        retval |= res
    note_interrupt(k, desc, retval)
    return retval

