"""Threaded interrupt handlers (``kernel/irq/manage.c``: ``setup_irq_thread``,
``__irq_wake_thread``, ``irq_thread``, ``irq_finalize_oneshot``).

* Each action with a ``thread_fn`` gets a kernel thread ``irq/N-name`` at
  SCHED_FIFO priority MAX_RT_PRIO/2 = 50 (``sched_set_fifo``), bound to the
  line's CPU.  It runs ``thread_fn`` in process context, where sleeping is
  allowed.
* A primary handler returning IRQ_WAKE_THREAD wakes it.  Wake-ups coalesce on
  IRQTF_RUNTHREAD: while a wake-up is pending and the thread has not started,
  further ones do nothing (the thread runs once for all of them).  A wake-up
  adds the action's ``thread_mask`` to ``desc.threads_oneshot``.
* IRQF_ONESHOT: the flow handler leaves the line masked while
  ``threads_oneshot`` is not 0; when the thread has run, ``irq_finalize_oneshot``
  clears its bit (unless it was woken again meanwhile: the line stays masked
  for the next run) and the last one unmasks the line (EOI first on
  IRQCHIP_EOI_THREADED chips: ``unmask_threaded_irq``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.chip import IRQCHIP_EOI_THREADED, unmask_irq
from irqlab.kernel.flags import IRQ_HANDLED, IRQD_IRQ_DISABLED, IRQD_IRQ_MASKED, IRQS_ONESHOT
from irqlab.kernel.sched import MAX_RT_PRIO, SCHED_FIFO, SLEEP, SLEEPING, Body, Thread
from irqlab.kernel.tasklet import call_driver_fn

if TYPE_CHECKING:
    from irqlab.kernel.action import IrqAction
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel

IRQ_THREAD_PRIO = MAX_RT_PRIO // 2  # sched_set_fifo()


class IrqThread:
    """The thread of one action and its IRQTF_RUNTHREAD bit."""

    __slots__ = ("action", "coalesced", "desc", "runthread", "thread")

    def __init__(self, desc: IrqDesc, action: IrqAction) -> None:
        self.desc = desc
        self.action = action
        self.runthread = False  # IRQTF_RUNTHREAD
        self.coalesced = 0  # wake-ups that found RUNTHREAD already set
        self.thread: Thread


def setup_irq_thread(k: Kernel, desc: IrqDesc, action: IrqAction) -> None:
    it = IrqThread(desc, action)
    it.thread = k.sched.kthread_create(f"irq/{desc.irq}-{action.name}", desc.affinity,
                                       irq_thread(k, it), SCHED_FIFO, IRQ_THREAD_PRIO)
    action.thread = it


def irq_wake_thread(k: Kernel, desc: IrqDesc, action: IrqAction, cpu: int) -> None:
    """``__irq_wake_thread`` from the handler on ``cpu``; without a thread
    function the kernel only logs (``warn_no_thread``).  A thread on another
    CPU (the line moved while this interrupt was in flight) is woken there
    by IPI."""
    if action.thread_fn is None:
        k.printk(f"IRQ {desc.irq} device {action.name} returned IRQ_WAKE_THREAD "
                 "but no thread function available.")
        return
    it: IrqThread = action.thread
    if it.runthread:
        it.coalesced += 1
        return
    it.runthread = True
    desc.threads_oneshot |= action.thread_mask
    desc.threads_active += 1
    thread = it.thread
    if thread.cpu != desc.affinity and thread.state == SLEEPING:
        thread.cpu = desc.affinity  # IRQTF_AFFINITY: the thread follows a moved line
    k.sched.wake_up_process(thread, cpu)


def irq_thread(k: Kernel, it: IrqThread) -> Body:
    desc, action = it.desc, it.action
    thread_fn = action.thread_fn
    assert thread_fn is not None
    ctx = HandlerContext(k, desc.affinity)
    ctx.atomic = False  # process context
    ctx.irq = desc.irq
    ctx.action = action
    while True:
        while not it.runthread:  # irq_wait_for_interrupt
            yield SLEEP
        it.runthread = False
        ctx.cpu = it.thread.cpu
        ctx.cost = 0
        ret = call_driver_fn(k, ctx, thread_fn, f"irq {desc.irq}: thread handler")
        if ctx.cost:
            yield ctx.cost
        if ret == IRQ_HANDLED:
            desc.threads_handled += 1  # read by the spurious detector
        irq_finalize_oneshot(it, ctx.cpu)
        desc.threads_active -= 1  # wake_threads_waitq


def irq_finalize_oneshot(it: IrqThread, cpu: int) -> None:
    desc = it.desc
    if not desc.istate & IRQS_ONESHOT or it.runthread:
        return
    desc.threads_oneshot &= ~it.action.thread_mask
    if not desc.threads_oneshot and desc.state & (IRQD_IRQ_DISABLED | IRQD_IRQ_MASKED) == IRQD_IRQ_MASKED:
        if desc.chip.flags & IRQCHIP_EOI_THREADED:  # unmask_threaded_irq
            desc.chip.irq_eoi(desc, cpu)
        unmask_irq(desc)
