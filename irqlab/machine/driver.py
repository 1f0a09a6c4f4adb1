"""Built-in drivers: the top half a scenario gets when it brings no Python
code.  A driver spends its cost, checks its device (a shared line calls every
driver: one whose device is idle returns IRQ_NONE), clears requests, and may
raise a softirq for the rest of the work.  Fault switches make it raise, lie
(return IRQ_NONE), never clear its device, or run slow.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from itertools import cycle

from irqlab.hw.device import Device
from irqlab.kernel.action import Handler, HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
from irqlab.scenario.schema import Cost, HandlerSpec

SOFTIRQ_INDEX = {"HI": 0, "TIMER": 1, "NET_TX": 2, "NET_RX": 3, "BLOCK": 4, "IRQ_POLL": 5,
                 "TASKLET": 6, "SCHED": 7, "HRTIMER": 8, "RCU": 9}


def cost_model(spec: Cost, rng: random.Random) -> Callable[[], int]:
    """A sampler of handler CPU time in ns."""
    if spec.dist == "fixed":
        value = spec.value or 0
        return lambda: value
    if spec.dist == "uniform":
        lo, hi = spec.min or 0, spec.max or 0
        return lambda: rng.randint(lo, hi)
    if spec.dist == "replay":
        values = spec.values or [0]
        it = cycle(values)
        return it.__next__
    if spec.dist == "exponential":
        mean = spec.mean or 0
        return lambda: round(rng.expovariate(1.0) * mean)
    mean, sd = spec.mean or 0, spec.sd or 0
    return lambda: max(0, round(rng.gauss(mean, sd)))


class HandlerLoadError(ValueError):
    """``handler.python`` could not be imported."""


def load_python_handler(ref: str) -> Handler:
    module_name, _, func_name = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise HandlerLoadError(f"handler.python: cannot import module '{module_name}': {exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise HandlerLoadError(f"handler.python: '{module_name}' has no function '{func_name}'")
    return func


class BuiltinDriver:
    """The driver of one device (all its vectors)."""

    __slots__ = ("batch", "clears", "cost", "extra_ns", "force_none", "name", "python", "raises",
                 "softirq", "softirq_cost", "symbol")

    def __init__(self, name: str, spec: HandlerSpec, rng: random.Random) -> None:
        self.name = name
        self.symbol = f"{name.replace('-', '_').replace('.', '_')}_interrupt"
        self.cost = cost_model(spec.cost, rng)
        self.batch = spec.batch
        self.clears = spec.clears
        self.softirq = SOFTIRQ_INDEX[spec.softirq] if spec.softirq else None
        self.softirq_cost = spec.softirq_cost
        self.python: Handler | None = load_python_handler(spec.python) if spec.python else None
        self.raises = False
        self.force_none = False
        self.extra_ns = 0

    def __call__(self, ctx: HandlerContext) -> int:
        if self.raises:
            raise RuntimeError(f"{self.name}: injected handler fault")
        ctx.cost += self.cost() + self.extra_ns
        if self.python is not None:
            ret = self.python(ctx)
            return IRQ_NONE if self.force_none else ret
        dev: Device = ctx.action.dev_id  # type: ignore[union-attr]
        if not dev.status:
            return IRQ_NONE  # not from this device
        if not self.clears:
            return IRQ_NONE  # the driver does not recognise its own device: it stays asserted
        took = dev.service(self.batch or dev.status)
        if self.softirq is not None:
            ctx.k.raise_softirq(ctx.cpu, self.softirq, self.softirq_cost * took)
        return IRQ_NONE if self.force_none else IRQ_HANDLED

