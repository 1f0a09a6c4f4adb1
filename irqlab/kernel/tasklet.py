"""Tasklets (``kernel/softirq.c``): deferred functions run by the TASKLET
softirq (``tasklet_schedule``) or the HI softirq (``tasklet_hi_schedule``).

* ``TASKLET_STATE_SCHED`` coalesces: scheduling a tasklet that is already
  scheduled and has not started yet does nothing.  The bit is cleared just
  before the function runs, so a tasklet scheduled while it runs runs again.
* ``TASKLET_STATE_RUN`` is a trylock: a tasklet never runs concurrently with
  itself.  Found running on another CPU, it is put back on this CPU's list and
  the softirq raised again (the restart loop, then ksoftirqd, retries it).
* The function runs in softirq context: atomic, sleeping is a bug.
* ``tasklet_entry`` / ``tasklet_exit`` (include/trace/events/irq.h, v6.5)
  bracket the function.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from irqlab.events import TASKLET_ENTRY, TASKLET_EXIT
from irqlab.kernel.softirq import HI, TASKLET
from irqlab.sim.engine import StopSimulation

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.kernel import Kernel

TASKLET_STATE_SCHED = 1 << 0
TASKLET_STATE_RUN = 1 << 1
# CPU time to find a tasklet running elsewhere and queue it again (model
# parameter: a few cache misses); ksoftirqd spins on it in these steps.
TASKLET_RETRY_NS = 100

DriverFn = Callable[["HandlerContext"], Any]


def call_driver_fn(k: Kernel, ctx: HandlerContext, fn: DriverFn, what: str) -> Any:
    """Call deferred driver code ``fn(ctx)`` (tasklet, IRQ thread, work item);
    an exception is logged and reported like a hard handler's, and the call
    returns None."""
    try:
        return fn(ctx)
    except StopSimulation:
        raise
    except Exception as exc:
        name = getattr(fn, "symbol", None) or getattr(fn, "__qualname__", None) or repr(fn)
        k.printk(f"{what} {name} raised {exc!r}")
        k.warn("handler-exception", ctx.irq if ctx.irq >= 0 else None,
               f"{what} {name} raised {type(exc).__name__}: {exc}", once=True)
        return None


class Tasklet:
    """``struct tasklet_struct``: ``func(ctx)`` spends CPU time through ``ctx``."""

    __slots__ = ("func", "name", "runs", "state")

    def __init__(self, func: DriverFn, name: str = "") -> None:
        self.func = func
        self.name = name or getattr(func, "__qualname__", "tasklet")
        self.state = 0
        self.runs = 0


class Tasklets:
    """The per-CPU tasklet lists and the HI / TASKLET softirq actions."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.vec: list[list[Tasklet]] = [[] for _ in range(k.ncpus)]
        self.hi_vec: list[list[Tasklet]] = [[] for _ in range(k.ncpus)]
        k.softirqs.open_softirq(TASKLET, self._tasklet_action)
        k.softirqs.open_softirq(HI, self._tasklet_hi_action)

    def schedule(self, cpu: int, t: Tasklet) -> bool:
        """``tasklet_schedule``; False when it was already scheduled."""
        return self._schedule(cpu, t, self.vec, TASKLET)

    def hi_schedule(self, cpu: int, t: Tasklet) -> bool:
        """``tasklet_hi_schedule``: the HI softirq, which runs before all others."""
        return self._schedule(cpu, t, self.hi_vec, HI)

    def _schedule(self, cpu: int, t: Tasklet, vec: list[list[Tasklet]], nr: int) -> bool:
        if t.state & TASKLET_STATE_SCHED:
            return False
        t.state |= TASKLET_STATE_SCHED
        vec[cpu].append(t)
        self.k.raise_softirq(cpu, nr)
        return True

    def _tasklet_action(self, k: Kernel, cpu: int) -> Generator[int, None, None]:
        return self._action(cpu, self.vec, TASKLET)

    def _tasklet_hi_action(self, k: Kernel, cpu: int) -> Generator[int, None, None]:
        return self._action(cpu, self.hi_vec, HI)

    def _action(self, cpu: int, vec: list[list[Tasklet]], nr: int) -> Generator[int, None, None]:
        """``tasklet_action_common``; first the work handlers queued for the
        vector directly (``ctx.raise_softirq`` with a cost)."""
        k = self.k
        cost = k.softirqs.default_action(k, cpu, nr)
        if cost:
            yield cost
        todo = vec[cpu]
        vec[cpu] = []
        ctx = k.handler_ctx[cpu]
        for t in todo:
            if not t.state & TASKLET_STATE_RUN:  # tasklet_trylock
                t.state = (t.state | TASKLET_STATE_RUN) & ~TASKLET_STATE_SCHED
                ctx.irq = -1
                ctx.action = None
                ctx.cost = 0
                ctx.atomic = True
                k.trace.emit(k.engine.now, cpu, TASKLET_ENTRY, -1, 0, t.name)
                call_driver_fn(k, ctx, t.func, "tasklet")
                t.runs += 1
                if ctx.cost:
                    yield ctx.cost
                k.trace.emit(k.engine.now, cpu, TASKLET_EXIT, -1, 0, t.name)
                t.state &= ~TASKLET_STATE_RUN  # tasklet_unlock
                continue
            vec[cpu].append(t)
            k.raise_softirq(cpu, nr)  # __raise_softirq_irqoff: the loop restarts
            yield TASKLET_RETRY_NS
