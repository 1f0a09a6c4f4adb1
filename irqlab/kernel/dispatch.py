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

``ivt_handle_interrupt`` is a generator yielding CPU time, which handles every
case.  The common case (a CPU not already in the dispatcher, a descriptor with
one action on an edge or fasteoi flow, softirq actions that return their CPU
time) also runs as ``IrqFrame``, an explicit state machine over the same steps
(the flow's ``*_begin``/``*_end`` parts, ``action_enter``/``action_exit``, the
softirq loop's ``SoftirqLoop`` steps), without a generator per nesting level:
the same chip calls, events and CPU segments in the same order, so the two give
byte-identical runs.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from irqlab.kernel.cpu import IRQ
from irqlab.kernel.desc import IrqDesc
from irqlab.kernel.flags import IRQD_IRQ_INPROGRESS, IRQS_PENDING
from irqlab.kernel.flow import (
    edge_begin,
    edge_loop,
    edge_replay,
    fasteoi_begin,
    fasteoi_end,
    handle_edge_irq,
    handle_fasteoi_irq,
)
from irqlab.kernel.handle import action_enter, action_exit, handle_irq_event
from irqlab.kernel.softirq import ActionResult, SoftirqLoop
from irqlab.kernel.spurious import note_interrupt

if TYPE_CHECKING:
    from irqlab.kernel.action import IrqAction
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel

Dispatch = Generator[int, None, None]


def ivt_handle_interrupt(k: Kernel, cpu: Cpu, vector: int | None) -> Dispatch:
    cost = irq_enter(k, cpu)
    if cost:
        yield cost
    yield from handle_vector(k, cpu, vector)


def irq_enter(k: Kernel, cpu: Cpu) -> int:
    """Exception entry and context save: returns their CPU time."""
    cpu.ctx = IRQ
    chained = cpu.chain
    cpu.chain = False
    return k.ctrl.entry_ns(cpu.index, chained) + k.save_ns


def handle_vector(k: Kernel, cpu: Cpu, vector: int | None) -> Dispatch:
    """Steps 2 to 5, after the entry."""
    c = cpu.index
    ctrl = k.ctrl
    if vector is None:
        vector = ctrl.acknowledge(c)
    cpu.in_irq += 1
    if vector == k.spurious_id:
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
    yield from irq_return(k, cpu, vector)


def irq_return(k: Kernel, cpu: Cpu, vector: int) -> Dispatch:
    """``irq_exit`` (softirqs) and the exception return."""
    cpu.in_irq -= 1
    c = cpu.index
    if not cpu.in_irq and k.softirqs.pending[c] and not k.softirqs.running[c]:
        yield from k.softirqs.handle(k, cpu)  # irq_exit -> invoke_softirq
    cost = exception_return(k, cpu, vector)
    if cost:
        yield cost
    cpu.irqs_on = True


def exception_return(k: Kernel, cpu: Cpu, vector: int) -> int:
    """EOI on return (NVIC), then tail-chaining or the return's CPU time."""
    cpu.ctx = IRQ
    c = cpu.index
    ctrl = k.ctrl
    if k.eoi_on_return and vector != k.spurious_id:
        ctrl.eoi(c, vector)
    if k.tail_chaining and ctrl.deliverable(c):
        cpu.chain = True
        return 0
    return ctrl.exit_ns(c, False) + k.restore_ns


class IrqFrame:
    """One CPU's interrupt on the common path, as a state machine whose states
    are the continuations of its CPU segments: entry, the action, the softirqs
    on exit (``SoftirqLoop``), the return.  Anything else (a spurious or empty
    vector, a system vector, a shared line, another flow, a replayed edge, a
    softirq action that is a generator) continues as the generator from where
    the frame stands.  Two frames per CPU: an interrupt taken while the
    first is busy (during its softirqs, or in a handler with nesting enabled)
    takes its ``inner`` frame; one nested deeper runs as the generator."""

    __slots__ = ("_dispatch_cb", "_handled_cb", "_returned_cb", "_softirq_done_cb", "action", "busy",
                 "cpu", "desc", "edge", "inner", "k", "res", "softirq", "vector")

    def __init__(self, k: Kernel, cpu: Cpu, inner: IrqFrame | None = None) -> None:
        self.k = k
        self.cpu = cpu
        self.inner = inner
        self.busy = False
        self.vector = 0
        self.desc: IrqDesc | None = None
        self.action: IrqAction | None = None
        self.edge = False
        self.res = 0
        self.softirq = SoftirqLoop(k, cpu)
        # The continuations, bound once: one is scheduled for every segment.
        self._dispatch_cb = self._dispatch
        self._handled_cb = self._handled
        self._softirq_done_cb = self._softirq_done
        self._returned_cb = self._returned

    def enter(self, vector: int | None) -> None:
        """Take an interrupt (``vector`` None: acknowledged after the entry)."""
        self.busy = True
        cost = irq_enter(self.k, self.cpu)
        if vector is None:
            self.vector = -1
        else:
            self.vector = vector
        if cost:
            self.cpu.exec(IRQ, cost, self._dispatch_cb, None)
        else:
            self._dispatch(None)

    def _dispatch(self, _: object) -> None:
        k = self.k
        cpu = self.cpu
        c = cpu.index
        vector = self.vector
        if vector < 0:
            vector = self.vector = k.ctrl.acknowledge(c)
        desc = k.vector_irq[c].get(vector)
        if (type(desc) is not IrqDesc or len(desc.action) != 1 or vector == k.spurious_id
                or (desc.handle_irq is not handle_fasteoi_irq
                    and desc.handle_irq is not handle_edge_irq)):
            self.busy = False
            cpu.step(handle_vector(k, cpu, vector))
            return
        cpu.in_irq += 1
        if k.split_eoi:
            k.ctrl.eoi(c, vector)
        if k.irq_nesting:
            cpu.irqs_on = True
        self.desc = desc
        self.edge = desc.handle_irq is handle_edge_irq
        if edge_begin(desc, c) and edge_loop(desc) if self.edge else fasteoi_begin(desc, c):
            self._handle(desc)
        else:
            self._flow_done()

    def _handle(self, desc: IrqDesc) -> None:
        """``handle_irq_event`` with its one action: the handler's time runs as a segment."""
        k = self.k
        c = self.cpu.index
        desc.istate &= ~IRQS_PENDING
        desc.state |= IRQD_IRQ_INPROGRESS
        self.action = action = desc.action[0]
        self.res = action_enter(k, desc, c, action)
        cost = k.handler_ctx[c].cost
        if cost:
            self.cpu.exec(IRQ, cost, self._handled_cb, None)
        else:
            self._handled(None)

    def _handled(self, _: object) -> None:
        k = self.k
        c = self.cpu.index
        desc = self.desc
        action = self.action
        assert desc is not None and action is not None
        action_exit(k, desc, c, action, self.res)
        note_interrupt(k, desc, self.res)
        desc.state &= ~IRQD_IRQ_INPROGRESS
        if self.edge:
            if edge_replay(desc):
                if not desc.action or len(desc.action) != 1:
                    self.busy = False
                    self.cpu.step(self._edge_rest(desc))
                    return
                if edge_loop(desc):
                    self._handle(desc)
                    return
        else:
            fasteoi_end(k, desc, c)
        self._flow_done()

    def _edge_rest(self, desc: IrqDesc) -> Dispatch:
        """The rest of ``handle_edge_irq``'s loop and of the dispatch, as the generator."""
        k = self.k
        c = self.cpu.index
        while edge_loop(desc):
            yield from handle_irq_event(k, desc, c)
            if not edge_replay(desc):
                break
        self.cpu.irqs_on = False
        yield from irq_return(k, self.cpu, self.vector)

    def _flow_done(self) -> None:
        k = self.k
        cpu = self.cpu
        cpu.irqs_on = False
        self.desc = None
        self.action = None
        cpu.in_irq -= 1
        c = cpu.index
        if not cpu.in_irq and k.softirqs.pending[c] and not k.softirqs.running[c]:
            self._softirq(self.softirq.start(False))  # irq_exit -> invoke_softirq
        else:
            self._exception_return()

    def _softirq(self, result: ActionResult) -> None:
        """Follow the softirq loop from an action's result: its time runs as
        a segment; an action that is a generator continues as one."""
        cpu = self.cpu
        loop = self.softirq
        while result is not None:
            if not isinstance(result, int):
                cpu.step(self._softirq_rest(result))
                return
            if result:
                cpu.exec(cpu.ctx, result, self._softirq_done_cb, None)
                return
            loop.action_done()
            result = loop.next()
        self._exception_return()

    def _softirq_done(self, _: object) -> None:
        loop = self.softirq
        loop.action_done()
        self._softirq(loop.next())

    def _softirq_rest(self, result: ActionResult) -> Dispatch:
        """The softirq loop and the return, as the generator."""
        yield from self.softirq.drive(result)
        cost = exception_return(self.k, self.cpu, self.vector)
        if cost:
            yield cost
        self._returned(None)

    def _exception_return(self) -> None:
        cost = exception_return(self.k, self.cpu, self.vector)
        if cost:
            self.cpu.exec(IRQ, cost, self._returned_cb, None)
        else:
            self._returned(None)

    def _returned(self, _: object) -> None:
        self.cpu.irqs_on = True
        self.busy = False
