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
from irqlab.kernel.action import handler_symbol
from irqlab.kernel.flags import (
    IRQ_NONE,
    IRQ_WAKE_THREAD,
    IRQD_IRQ_INPROGRESS,
    IRQS_PENDING,
    IRQS_POLL_INPROGRESS,
    IRQS_SPURIOUS_DISABLED,
)
from irqlab.kernel.irqthread import irq_wake_thread
from irqlab.kernel.spurious import note_interrupt
from irqlab.sim.engine import StopSimulation

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext, IrqAction
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel


def handle_irq_event(k: Kernel, desc: IrqDesc, cpu: int) -> Generator[int, None, int]:
    desc.istate &= ~IRQS_PENDING
    desc.state |= IRQD_IRQ_INPROGRESS
    retval = yield from handle_irq_event_percpu(k, desc, cpu)
    desc.state &= ~IRQD_IRQ_INPROGRESS
    return retval


def handle_irq_event_percpu(k: Kernel, desc: IrqDesc, cpu: int) -> Generator[int, None, int]:
    retval = IRQ_NONE
    for action in desc.action:
        res = action_enter(k, desc, cpu, action)
        cost = k.handler_ctx[cpu].cost
        if cost:
            yield cost
        action_exit(k, desc, cpu, action, res)
        retval |= res
    note_interrupt(k, desc, retval)
    return retval


def action_enter(k: Kernel, desc: IrqDesc, cpu: int, action: IrqAction) -> int:
    """``irq_handler_entry`` and the handler's call; its CPU time is left in
    the CPU's handler context (``cost``).  Returns its return value."""
    irq = desc.irq
    trace = k.trace
    if trace.enabled:
        trace.emit(k.engine.now, cpu, IRQ_ENTRY, irq, 0, action.name)
    ctx = k.handler_ctx[cpu]
    ctx.action = action
    ctx.irq = irq
    ctx.cost = 0
    return call_handler(k, ctx, action)


def action_exit(k: Kernel, desc: IrqDesc, cpu: int, action: IrqAction, res: int) -> None:
    """``irq_handler_exit`` once the handler's time has passed; its thread
    woken for IRQ_WAKE_THREAD."""
    trace = k.trace
    if trace.enabled:
        trace.emit(k.engine.now, cpu, IRQ_EXIT, desc.irq, 1 if res else 0, action.name)
    if res & IRQ_WAKE_THREAD:
        irq_wake_thread(k, desc, action, cpu)


def call_handler(k: Kernel, ctx: HandlerContext, action: IrqAction) -> int:
    """Call the action's handler in atomic context; a handler that raises is
    the driver's bug, logged and counted as IRQ_NONE, never the simulator's end."""
    ctx.atomic = True
    try:
        res = action.handler(ctx)  # type: ignore[misc]
    except StopSimulation:
        raise
    except (Exception, SystemExit) as exc:
        k.printk(f"irq {action.irq}: handler {handler_symbol(action, False)} raised {exc!r}")
        k.warn("handler-exception", action.irq,
               f"handler {action.name} of irq {action.irq} raised {type(exc).__name__}: {exc}",
               once=True)
        return IRQ_NONE
    return res if isinstance(res, int) else IRQ_NONE


def try_one_irq(k: Kernel, desc: IrqDesc, cpu: int) -> Generator[int, None, None]:
    """``try_one_irq`` (spurious.c) for the poller: run the actions of a line
    (its interrupts are not counted by ``note_interrupt`` meanwhile); a line in
    progress on some CPU is marked PENDING instead, and the poll repeats while
    PENDING was set during it.  Kept beside ``handle_irq_event``, which it calls."""
    if desc.state & IRQD_IRQ_INPROGRESS:
        desc.istate |= IRQS_PENDING
        return
    desc.istate |= IRQS_POLL_INPROGRESS
    while True:
        yield from handle_irq_event(k, desc, cpu)
        if not (desc.istate & IRQS_PENDING and desc.action):
            break
    desc.istate &= ~IRQS_POLL_INPROGRESS


def poll_irq(k: Kernel, desc: IrqDesc) -> None:
    """Run a disabled shared line's handlers from the poll timer (on CPU 0,
    accounted as softirq time), unless CPU 0 is in hard-IRQ context."""
    c = k.cpus[0]
    if c.in_irq or not desc.istate & IRQS_SPURIOUS_DISABLED:
        return
    c.start(try_one_irq(k, desc, 0))
