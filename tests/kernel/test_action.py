"""What a handler sees (irqlab.kernel.action.HandlerContext): time spent in
whole nanoseconds, whatever number the driver's code passes."""

from __future__ import annotations

import pytest

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED

from .rig import machine, python_handler, run

ONE_DEVICE = """
[machine]
arch = "x86"
cpus = 1
[timer]
enabled = false
[[device]]
name = "dev"
kind = "msix"
arrival = { kind = "periodic", period = "100us" }
"""


def spending(amount: object):  # type: ignore[no-untyped-def]
    def handler(ctx: HandlerContext) -> int:
        ctx.spend(amount)  # type: ignore[arg-type]
        ctx.device.service(1)
        return IRQ_HANDLED

    return handler


def test_a_fractional_time_is_rounded_to_whole_nanoseconds() -> None:
    m = machine(ONE_DEVICE)
    python_handler(m, "dev", spending(1500.6))
    run(m, 1_050_000)
    desc = m.kernel.descs[m.irqs["dev"][0]]
    assert desc.kstat == [10] and not m.kernel.warnings
    assert isinstance(m.engine.now, int), "the clock stays in whole ns"


@pytest.mark.parametrize(("amount", "why"), [("2us", "got '2us'"), (-5, "(negative)"),
                                               (float("nan"), "got nan")])
def test_a_time_that_is_not_one_is_the_driver_s_bug_not_a_crash(amount: object, why: str) -> None:
    m = machine(ONE_DEVICE)
    python_handler(m, "dev", spending(amount))
    run(m, 1_050_000)
    [w] = [w for w in m.kernel.warnings if w.kind == "handler-exception"]
    assert "ctx.spend() takes a time in ns" in w.message and why in w.message
