"""The built-in driver's code, what runs for each of its interrupts (compiled
with the hot modules, see ``irqlab._compiled``; ``irqlab.machine.driver``
builds it from the scenario's handler spec).

A driver spends its cost, checks its device (a shared line calls every
driver: one whose device is idle returns IRQ_NONE), clears requests, and may
defer the rest of the work: raise a softirq, schedule its tasklet or its work
item (the cost per request cleared; a tasklet or work item scheduled again
before it ran runs once for all).  A threaded driver's top half only checks
its device and wakes its thread, which clears it.  Fault switches make it
raise, lie (return IRQ_NONE), never clear its device, or run slow.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from math import cos, log, sin, sqrt, tau
from typing import TYPE_CHECKING, Any, Protocol

from irqlab.hw.device import Device
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE, IRQ_WAKE_THREAD
from irqlab.kernel.sched import Sleep
from irqlab.kernel.tasklet import Tasklet
from irqlab.kernel.workqueue import Work

if TYPE_CHECKING:
    from irqlab.kernel.action import Handler, HandlerContext

# Nothing here imports the scenario schema (mypyc type-checks what a compiled
# module imports, and the schema needs pydantic's plugin): the Windows DPC and
# the DMA state come from irqlab.machine.driver and irqlab.machine.dma.


class CostModel:
    """A sampler of handler CPU time in ns (``[handler] cost``), called per
    interrupt: the common distributions are drawn here, compiled, with the
    same draws from the handler's random stream as the ``random`` methods."""

    __slots__ = ()

    def sample(self) -> int:
        raise NotImplementedError


class FixedCost(CostModel):
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def sample(self) -> int:
        return self.value


class DrawnCost(CostModel):
    """Any other distribution: ``draw()`` (uniform, replay)."""

    __slots__ = ("draw",)

    def __init__(self, draw: Callable[[], int]) -> None:
        self.draw = draw

    def sample(self) -> int:
        return self.draw()


class ExponentialCost(CostModel):
    """``round(rng.expovariate(1.0) * mean)``, ``expovariate`` inlined (Lib/random.py:
    ``-log(1.0 - random()) / lambd``)."""

    __slots__ = ("mean", "random")

    def __init__(self, rng: random.Random, mean: int) -> None:
        self.random = rng.random
        self.mean = float(mean)

    def sample(self) -> int:
        return round(-log(1.0 - self.random()) * self.mean)


class NormalCost(CostModel):
    """``max(0, round(rng.gauss(mean, sd)))``, ``gauss`` inlined (Lib/random.py: two
    normal deviates per pair of ``random()`` draws, the second kept in the
    stream's ``gauss_next``, shared with any other ``gauss`` caller)."""

    __slots__ = ("mean", "random", "rng", "sd")

    def __init__(self, rng: random.Random, mean: int, sd: int) -> None:
        self.rng = rng
        self.random = rng.random
        self.mean = float(mean)
        self.sd = float(sd)

    def sample(self) -> int:
        rng = self.rng
        z: float | None = rng.gauss_next  # type: ignore[attr-defined]
        if z is None:
            x2pi = self.random() * tau
            g2rad = sqrt(-2.0 * log(1.0 - self.random()))
            z = cos(x2pi) * g2rad
            rng.gauss_next = sin(x2pi) * g2rad  # type: ignore[attr-defined]
        else:
            rng.gauss_next = None  # type: ignore[attr-defined]
        return max(0, round(self.mean + z * self.sd))


class DmaState(Protocol):
    """The device's DMA state behind an IOMMU (``irqlab.machine.dma.DeviceDma``)."""

    def refill(self, took: int) -> None: ...


class BuiltinDriver:
    """The driver of one device (all its vectors).  ``symbol`` is its handler's
    name, ``module`` the driver module it belongs to; its Windows DPC (``dpc``,
    a ``KDPC`` whose routine is ``dpc_routine``) is set by whoever builds it."""

    __slots__ = (
        "batch",
        "clears",
        "cost",
        "dma",
        "dpc",
        "dpc_backlog",
        "dpc_cost",
        "extra_ns",
        "force_none",
        "give",
        "module",
        "name",
        "os",
        "python",
        "raises",
        "softirq",
        "softirq_cost",
        "symbol",
        "tasklet",
        "tasklet_backlog",
        "tasklet_cost",
        "thread_cost",
        "work",
        "work_backlog",
        "work_cost",
        "work_sleeps",
    )

    def __init__(self, name: str, symbol: str, module: str, *, cost: CostModel, batch: int,
                 clears: bool, softirq: int | None, softirq_cost: int, python: Handler | None,
                 thread_cost: CostModel | None, tasklet_cost: int | None, work_cost: int | None,
                 work_sleeps: int, dpc_cost: int, give: str | None, os: Any) -> None:
        self.name = name
        self.symbol = symbol
        self.module = module
        #: the OS personality, for what the ISR hands to it (a Windows DPC, a
        #: FreeRTOS semaphore given from the ISR)
        self.os = os
        self.give = give
        self.cost = cost
        self.batch = batch
        self.clears = clears
        self.softirq = softirq
        self.softirq_cost = softirq_cost
        self.python: Handler | None = python
        self.thread_cost = thread_cost
        self.tasklet_cost = tasklet_cost or 0
        self.tasklet = (Tasklet(self._tasklet, f"{symbol}_tasklet")
                        if tasklet_cost is not None else None)
        self.tasklet_backlog = 0
        self.work_cost = work_cost or 0
        self.work_sleeps = work_sleeps
        self.work = Work(self._work, f"{symbol}_work") if work_cost is not None else None
        self.work_backlog = 0
        self.dpc_cost = dpc_cost
        self.dpc: object | None = None
        self.dpc_backlog = 0
        self.raises = False
        self.force_none = False
        self.extra_ns = 0
        #: the device's DMA state behind an IOMMU (``machine.dma``), else None
        self.dma: DmaState | None = None

    def __call__(self, ctx: HandlerContext) -> int:
        if self.raises:
            raise RuntimeError(f"{self.name}: injected handler fault")
        ctx.cost += self.cost.sample() + self.extra_ns
        python = self.python
        if python is not None:
            ret = python(ctx)
            return IRQ_NONE if self.force_none else ret
        dev: Device = ctx.action.dev_id  # type: ignore[union-attr]
        if not dev.status:
            return IRQ_NONE  # not from this device
        if not self.clears:
            return IRQ_NONE  # the driver does not recognise its own device: it stays asserted
        if self.thread_cost is not None:
            return IRQ_NONE if self.force_none else IRQ_WAKE_THREAD
        return self._service(ctx, dev)

    def thread_fn(self, ctx: HandlerContext) -> int:
        """The threaded handler (process context)."""
        assert self.thread_cost is not None
        ctx.cost += self.thread_cost.sample()
        dev: Device = ctx.action.dev_id  # type: ignore[union-attr]
        if not dev.status:
            return IRQ_NONE
        return self._service(ctx, dev)

    def _service(self, ctx: HandlerContext, dev: Device) -> int:
        """Clear requests and defer their work."""
        took = dev.service(self.batch or dev.status)
        if self.dma is not None:
            self.dma.refill(took)
        if self.softirq is not None:
            ctx.k.raise_softirq(ctx.cpu, self.softirq, self.softirq_cost * took)
        if self.tasklet is not None:
            self.tasklet_backlog += took
            ctx.tasklet_schedule(self.tasklet)
        if self.work is not None:
            self.work_backlog += took
            ctx.schedule_work(self.work)
        if self.dpc is not None:
            self.dpc_backlog += took
            self.os.ke_insert_queue_dpc(ctx, self.dpc)
        if self.give is not None and took:
            self.os.give_from_isr(ctx, self.give, took)
        return IRQ_NONE if self.force_none else IRQ_HANDLED

    def dpc_routine(self, _: object) -> int:
        """The DPC: the deferred cost of the requests cleared since it last ran."""
        cost = self.dpc_cost * self.dpc_backlog
        self.dpc_backlog = 0
        return cost

    def _tasklet(self, ctx: HandlerContext) -> None:
        ctx.cost += self.tasklet_cost * self.tasklet_backlog
        self.tasklet_backlog = 0

    def _work(self, ctx: HandlerContext) -> Generator[int | Sleep, None, None]:
        cost = self.work_cost * self.work_backlog
        self.work_backlog = 0
        if cost:
            yield cost
        if self.work_sleeps:
            yield Sleep(self.work_sleeps)
