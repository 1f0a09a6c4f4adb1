"""Built-in drivers: the top half a scenario gets when it brings no Python
code, built from the device's ``[handler]`` (what it does per interrupt:
``irqlab.machine.isr``, compiled apart from the scenario schema this module
reads)."""

from __future__ import annotations

import random
import re
from functools import partial
from itertools import cycle
from typing import TYPE_CHECKING, Any

from irqlab.events import SOFTIRQ_NAMES
from irqlab.machine.isr import (
    BuiltinDriver,
    CostModel,
    DrawnCost,
    ExponentialCost,
    FixedCost,
    NormalCost,
)
from irqlab.os.windows import Kdpc, driver_file

if TYPE_CHECKING:
    from irqlab.scenario.schema import Cost, HandlerSpec

SOFTIRQ_INDEX = {name: nr for nr, name in enumerate(SOFTIRQ_NAMES)}


def cost_model(spec: Cost, rng: random.Random) -> CostModel:
    """A sampler of handler CPU time in ns."""
    if spec.dist == "fixed":
        return FixedCost(spec.value or 0)
    if spec.dist == "uniform":
        return DrawnCost(partial(rng.randint, spec.min or 0, spec.max or 0))
    if spec.dist == "replay":
        return DrawnCost(cycle(spec.values or [0]).__next__)
    if spec.dist == "exponential":
        return ExponentialCost(rng, spec.mean or 0)
    return NormalCost(rng, spec.mean or 0, spec.sd or 0)


class HandlerLoadError(ValueError):
    """``handler.python`` names code that was not loaded and bound."""


def builtin_driver(name: str, spec: HandlerSpec, rng: random.Random, os: Any = None) -> BuiltinDriver:
    """The driver of device ``name`` as its handler spec describes it; ``os`` is
    the OS personality (a Windows DPC, a FreeRTOS semaphore given from the ISR)."""
    if spec.python is not None and spec.code is None:
        raise HandlerLoadError(f"handler.python: '{spec.python}' is not loaded "
                               "(irqlab.usercode loads it, with the user's consent)")
    symbol = re.sub(r"\W", "_", name) + "_interrupt"
    module = re.split(r"[:\-\[.]", name)[0] or name  # the name up to ':' '-' '[' or '.'
    driver = BuiltinDriver(
        name,
        symbol,
        module,
        cost=cost_model(spec.cost, rng),
        batch=spec.batch,
        clears=spec.clears,
        softirq=SOFTIRQ_INDEX[spec.softirq] if spec.softirq else None,
        softirq_cost=spec.softirq_cost,
        python=spec.code,
        thread_cost=cost_model(spec.thread, rng) if spec.thread is not None else None,
        tasklet_cost=spec.tasklet_cost,
        work_cost=spec.work_cost,
        work_sleeps=spec.work_sleeps,
        dpc_cost=spec.dpc_cost or 0,
        give=spec.give,
        os=os,
    )
    if spec.dpc_cost is not None:
        driver.dpc = Kdpc(f"{driver_file(module)}!{symbol[:-len('_interrupt')]}Dpc",
                          driver.dpc_routine)
    return driver
