"""Sleeping in hard-interrupt context: "BUG: scheduling while atomic"
recorded with IRQ, time and call site; the "bug" policy stops the run."""

from __future__ import annotations

import pytest

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED

from .rig import machine, python_handler, run

SCENARIO = """
[machine]
arch = "x86"
cpus = 1
atomic_sleep = "{policy}"
[timer]
enabled = false
[[device]]
name = "i2c"
kind = "line"
line = 9
trigger = "edge"
arrival = {{ kind = "replay", times = ["1ms", "2ms"] }}
handler = {{ cost = "0ns" }}
"""


def sleepy_handler(ctx: HandlerContext) -> int:
    ctx.device.service(ctx.device.status)
    ctx.msleep(10)
    return IRQ_HANDLED


SITE = f"{__file__}:{sleepy_handler.__code__.co_firstlineno + 2} in sleepy_handler"


@pytest.mark.parametrize("call,args", [("msleep", (1,)), ("mutex_lock", ()), ("might_sleep", ())])
def test_violation_recorded_with_irq_time_and_call_site(call: str, args: tuple[int, ...]) -> None:
    m = machine(SCENARIO.format(policy="record"))

    def handler(ctx: HandlerContext) -> int:
        ctx.device.service(ctx.device.status)
        getattr(ctx, call)(*args)
        return IRQ_HANDLED

    python_handler(m, "i2c", handler)
    rec = run(m, 3_000_000)
    line = handler.__code__.co_firstlineno + 2
    entries = [e[0] for e in rec.entries(9)]
    assert len(entries) == 2  # "record" goes on
    ws = [w for w in m.kernel.warnings if w.kind == "atomic-sleep"]
    assert [(w.irq, w.time_ns) for w in ws] == [(9, t) for t in entries]
    assert all(f"{__file__}:{line} in handler" in w.message for w in ws)
    assert ws[0].message.startswith("BUG: scheduling while atomic")


def test_bug_policy_stops_the_run_at_the_violation() -> None:
    m = machine(SCENARIO.format(policy="bug"))
    python_handler(m, "i2c", sleepy_handler)
    rec = run(m, 3_000_000)
    [first] = [e[0] for e in rec.entries(9)]
    assert m.engine.stop_reason is not None and SITE in m.engine.stop_reason
    assert m.engine.now == first
    kinds = [w.kind for w in m.kernel.warnings]
    assert kinds == ["atomic-sleep", "stopped"]
