"""irqaction: one registered handler, the driver's code (``struct irqaction``),
and the context a handler runs with.

A handler is a plain Python callable ``handler(ctx) -> irqreturn``.  Through
``ctx`` it spends CPU time, reads and clears its device, raises softirqs,
wakes its thread or schedules work.  Anything that may sleep, called in
atomic (hard-interrupt or softirq) context, is a "scheduling while atomic" violation recorded with
the IRQ, the time and the call site (``kernel/sched/core.c`` ``__schedule_bug``:
"BUG: scheduling while atomic").
"""

from __future__ import annotations

from collections.abc import Callable
from math import isfinite
from typing import TYPE_CHECKING, Any

from irqlab.kernel.callsite import call_site
from irqlab.kernel.napi import napi_schedule
from irqlab.kernel.spinlock import Held, SpinLock
from irqlab.sim.engine import StopSimulation

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel

Handler = Callable[["HandlerContext"], int]


class IrqAction:
    __slots__ = ("dev_id", "flags", "handler", "irq", "name", "thread", "thread_fn", "thread_mask")

    def __init__(self, irq: int, handler: Handler | None, thread_fn: Handler | None, flags: int,
                 name: str, dev_id: Any) -> None:
        self.irq = irq
        self.handler = handler
        self.thread_fn = thread_fn
        self.flags = flags
        self.name = name
        self.dev_id = dev_id
        self.thread_mask = 0
        self.thread: Any = None  # the irq thread (kernel.irqthread), when threaded


def handler_symbol(action: IrqAction, thread: bool) -> str:
    """``%ps`` of a handler: ``function [module]`` for driver code."""
    fn = action.thread_fn if thread else action.handler
    name = getattr(fn, "symbol", None) or getattr(fn, "__qualname__", None) or repr(fn)
    module = getattr(fn, "module", None)
    return f"{name} [{module}]" if module else str(name)


def schedule_bug(ctx: HandlerContext, what: str, site: str) -> None:
    """``BUG: scheduling while atomic`` (kernel/sched/core.c ``__schedule_bug``);
    with ``atomic_sleep = "bug"`` the run stops there."""
    k = ctx.k
    msg = f"BUG: scheduling while atomic: {what} in irq {ctx.irq} handler at {site}"
    k.printk(msg)
    k.warn("atomic-sleep", ctx.irq, msg, time_ns=ctx.now)
    if k.atomic_sleep_policy == "bug":
        raise StopSimulation(msg)


class HandlerContext:
    """What a handler sees.  One instance per CPU, reused for every call."""

    __slots__ = ("action", "atomic", "cost", "cpu", "irq", "k", "locks")

    def __init__(self, k: Kernel, cpu: int) -> None:
        self.k = k
        self.cpu = cpu
        self.irq = -1
        self.action: IrqAction | None = None
        self.cost = 0
        self.atomic = True  # hard IRQ or softirq context: sleeping is a bug
        self.locks: list[tuple[SpinLock, bool]] = []  # held now, with "interrupts off"

    @property
    def now(self) -> int:
        return self.k.engine.now + self.cost

    @property
    def device(self) -> Any:
        """The ``dev_id`` given to request_irq (a simulated device)."""
        return self.action.dev_id if self.action is not None else None

    def spend(self, ns: object) -> None:
        """Consume ``ns`` of CPU time, an int or a float (the clock counts whole
        ns: a float is rounded); anything else is a TypeError."""
        if type(ns) is int:
            n = ns
        elif isinstance(ns, int | float) and isfinite(ns):
            n = round(ns)
        else:
            raise TypeError(f"ctx.spend() takes a time in ns, got {ns!r}")
        if n < 0:
            raise ValueError(f"ctx.spend() takes a time in ns, got {n} (negative)")
        self.cost += n

    def might_sleep(self, what: str = "might_sleep") -> None:
        """Mark a call that may sleep (mutex_lock, msleep, GFP_KERNEL ...)."""
        if self.atomic:
            schedule_bug(self, what, call_site())

    def msleep(self, ms: float) -> None:
        self.might_sleep("msleep")

    def mutex_lock(self) -> None:
        self.might_sleep("mutex_lock")

    def kmalloc(self, size: int, gfp: str = "GFP_KERNEL") -> None:
        """An allocation: GFP_KERNEL may sleep (direct reclaim), GFP_ATOMIC and
        GFP_NOWAIT never do (include/linux/gfp_types.h)."""
        if gfp not in ("GFP_ATOMIC", "GFP_NOWAIT"):
            self.might_sleep(f"kmalloc({gfp})")

    def wait_for_completion(self) -> None:
        self.might_sleep("wait_for_completion")

    def spin_lock(self, lock: SpinLock) -> Held:
        """``with ctx.spin_lock(lock):`` (interrupts stay as they are)."""
        return Held(self, lock, irqsave=False)

    def spin_lock_irqsave(self, lock: SpinLock) -> Held:
        """``with ctx.spin_lock_irqsave(lock):`` (local interrupts off while held)."""
        return Held(self, lock, irqsave=True)

    def raise_softirq(self, nr: int) -> None:
        self.k.raise_softirq(self.cpu, nr)

    def schedule_work(self, work: Any) -> bool:
        """``schedule_work`` on the system workqueue; False if already pending."""
        return bool(self.k.workqueue.queue_work_on(self.cpu, work))

    def queue_work_on(self, cpu: int, work: Any) -> bool:
        """``queue_work_on(cpu, system_wq, work)``: waking another CPU's kworker
        costs an IPI; False if already pending."""
        return bool(self.k.workqueue.queue_work_on(cpu, work, self.cpu))

    def tasklet_schedule(self, tasklet: Any) -> bool:
        """False if the tasklet was already scheduled."""
        return bool(self.k.tasklets.schedule(self.cpu, tasklet))

    def napi_schedule(self, napi: Any) -> None:
        napi_schedule(napi, self.cpu)

    def disable_irq_nosync(self, irq: int | None = None) -> None:
        self.k.disable_irq(self.irq if irq is None else irq)

    def enable_irq(self, irq: int | None = None) -> None:
        self.k.enable_irq(self.irq if irq is None else irq)
