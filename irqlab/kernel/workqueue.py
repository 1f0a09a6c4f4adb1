"""Workqueues (``kernel/workqueue.c``): the system workqueue's per-CPU worker
pools, served by normal-priority ``kworker/N:M`` threads.

* ``queue_work_on``: a work item whose WORK_STRUCT_PENDING bit is set is not
  queued again; the bit is cleared just before the function runs, so work
  queued while it runs runs once more afterwards.
* Work runs in process context: it may sleep.  A work function takes the
  context and either spends CPU time through it, or is a generator yielding
  costs (ns) and :class:`~irqlab.kernel.sched.Sleep` (``msleep``, waiting for
  the device).
* Concurrency management (``wq_worker_sleeping`` / ``kick_pool``): when the
  last running worker of a pool sleeps while work is queued, an idle worker is
  woken, or a new one created.  A work item is never run by two workers of a
  pool at once: while it runs, the others leave it queued.

Tracepoints (include/trace/events/workqueue.h): ``workqueue_queue_work`` when
an item is queued, ``workqueue_execute_start`` / ``_end`` around its function
in the worker; a work item's identity (the ``%p`` of its ``work_struct``) is a
number given at its first queueing, in order.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from irqlab.events import WORK_END, WORK_QUEUE, WORK_START
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.sched import SLEEP, Body, Sleep, Thread
from irqlab.kernel.tasklet import DriverFn, call_driver_fn

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel


class Work:
    """``struct work_struct``."""

    __slots__ = ("func", "id", "name", "pending", "running", "runs")

    def __init__(self, func: DriverFn, name: str = "") -> None:
        self.func = func
        self.id = 0  # the work_struct's identity in traces (0: never queued)
        self.name = name or getattr(func, "__qualname__", "work")
        self.pending = False  # WORK_STRUCT_PENDING_BIT
        self.running: Worker | None = None
        self.runs = 0


class Worker:
    __slots__ = ("ctx", "id", "thread")

    def __init__(self, k: Kernel, cpu: int, id: int) -> None:
        self.id = id
        self.ctx = HandlerContext(k, cpu)
        self.ctx.atomic = False  # process context
        self.thread: Thread


class WorkerPool:
    """One CPU's pool: the worklist, its workers, how many of them run."""

    __slots__ = ("cpu", "idle", "k", "nr_running", "workers", "worklist")

    def __init__(self, k: Kernel, cpu: int) -> None:
        self.k = k
        self.cpu = cpu
        self.worklist: list[Work] = []
        self.workers: list[Worker] = []
        self.idle: list[Worker] = []
        self.nr_running = 0  # workers awake and not idle

    def kick(self, from_cpu: int | None = None) -> None:
        """``kick_pool``: work is queued and no worker runs: wake or create one
        (from ``from_cpu``: another CPU's wake-up is an IPI)."""
        if not self.worklist or self.nr_running:
            return
        if self.idle:
            w = self.idle.pop()
        else:
            w = Worker(self.k, self.cpu, len(self.workers))
            w.thread = self.k.sched.kthread_create(f"kworker/{self.cpu}:{w.id}", self.cpu,
                                                   self._worker_thread(w))
            self.workers.append(w)
        self.nr_running += 1
        self.k.sched.wake_up_process(w.thread, from_cpu)

    def _next_work(self, w: Worker) -> Work | None:
        for work in self.worklist:
            if work.running is None or work.running is w:
                self.worklist.remove(work)
                return work
        return None

    def _worker_thread(self, w: Worker) -> Body:
        k = self.k
        ctx = w.ctx
        while True:
            work = self._next_work(w)
            if work is None:
                self.nr_running -= 1
                self.idle.append(w)
                yield SLEEP  # woken by kick(), which counts it running again
                continue
            work.pending = False
            work.running = w
            k.trace.emit(k.engine.now, self.cpu, WORK_START, work.id, 0, work.name)
            ctx.cost = 0
            ctx.irq = -1
            result = call_driver_fn(k, ctx, work.func, "work")
            if ctx.cost:
                yield ctx.cost
            if isinstance(result, Generator):
                for x in result:
                    if isinstance(x, Sleep):
                        self.nr_running -= 1  # wq_worker_sleeping
                        self.kick()
                        yield x
                        self.nr_running += 1  # wq_worker_running
                    else:
                        yield x
            k.trace.emit(k.engine.now, self.cpu, WORK_END, work.id, 0, work.name)
            work.running = None
            work.runs += 1


class Workqueue:
    """``system_wq``: per-CPU pools of normal-priority kworkers."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.pools = [WorkerPool(k, cpu) for cpu in range(k.ncpus)]
        self.works = 0  # work items queued at least once

    def queue_work_on(self, cpu: int, work: Work, from_cpu: int | None = None) -> bool:
        """Queue ``work`` on ``cpu``'s pool, from ``from_cpu`` (None: that CPU
        itself); False when the work was already pending."""
        if work.pending:
            return False
        work.pending = True
        if not work.id:
            self.works += 1
            work.id = self.works
        k = self.k
        k.trace.emit(k.engine.now, cpu, WORK_QUEUE, work.id, cpu, work.name)
        pool = self.pools[cpu]
        pool.worklist.append(work)
        pool.kick(from_cpu)
        return True
