"""Fixed-priority response-time analysis: the iteration against textbook
values, the NVIC's costs, and the simulated maximum never above the bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from irqlab.check.budget import Budget
from irqlab.check.driver import load_driver
from irqlab.check.harness import Rig
from irqlab.check.rta import Source, cycles_ns, group_priority, response_time, response_time_bound


def test_response_time_iteration_matches_the_textbook() -> None:
    # Burns & Wellings, Real-Time Systems and Programming Languages, 4th ed.,
    # section 11.5: tasks (T, C) = (7, 3), (12, 3), (20, 5) -> R = 3, 6, 20.
    a, b = Source("a", 1, 7, 3), Source("b", 2, 12, 3)
    assert response_time(3, 0, [], 7) == 3
    assert response_time(3, 0, [a], 12) == 6
    assert response_time(5, 0, [a, b], 20) == 20
    assert response_time(6, 0, [a, b], 20) is None  # does not fit in its period


def test_blocking_adds_once() -> None:
    assert response_time(3, 2, [], 100) == 5
    assert response_time(3, 2, [Source("a", 0, 10, 4)], 100) == 9


def test_nvic_costs_and_priority_fields() -> None:
    assert cycles_ns(12, 100.0) == 120  # M4 entry at 100 MHz
    assert cycles_ns(12, 168.0) == 72  # rounded up: 71.4 ns
    assert group_priority(0x4F, "cortex-m4", 0) == 0x40  # 4 implemented bits
    assert group_priority(0x60, "cortex-m4", 5) == 0x40  # PRIGROUP 5: group bits [7:6]
    assert group_priority(0xC0, "cortex-m0", 0) == 0xC0


DRIVER = """
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
from irqlab.kernel.softirq import NET_RX
DEVICE = {{"kind": "line", "trigger": "level", "priority": {prio},
           "arrival": {{"kind": "poisson", "rate": "{rate}"}}}}
def handler(ctx):
    dev = ctx.device
    if not dev.status:
        return IRQ_NONE
    n = dev.service(dev.status)
    ctx.spend({cost} * n)
    ctx.k.raise_softirq(ctx.cpu, NET_RX, 1000 * n)
    return IRQ_HANDLED
"""


@pytest.mark.parametrize(("prio", "rate", "cost"), [
    (0x40, "100k/s", 3000),  # between the higher- and the lower-priority source
    (0x60, "50k/s", 5000),
    (0x10, "30k/s", 9000),  # above both neighbours: only SysTick pre-empts it
])
@pytest.mark.parametrize("seed", [1, 7])
def test_simulated_maximum_never_exceeds_the_bound(tmp_path: Path, prio: int, rate: str,
                                                   cost: int, seed: int) -> None:
    path = tmp_path / "drv.py"
    path.write_text(DRIVER.format(prio=prio, rate=rate, cost=cost))
    rig = Rig(load_driver(path, True), "armv7m", "linux", seed)
    c = response_time_bound(rig, Budget(), seeds=3)
    ev = c.evidence
    assert c.status == "pass", c.verdict
    assert ev["simulated_max_ns"] <= ev["bound_ns"]
    assert ev["simulated_max_ns"] > ev["C_ns"]  # pre-emption did happen: the bound was tested
    assert ev["C_ns"] == 120 + cost  # M4 entry, 12 cycles at 100 MHz, plus the handler


def test_unschedulable_source_has_no_bound(tmp_path: Path) -> None:
    path = tmp_path / "drv.py"
    path.write_text(DRIVER.format(prio=0x90, rate="100k/s", cost=2000))  # below both neighbours
    c = response_time_bound(Rig(load_driver(path, True), "armv7m", "linux", 1), Budget())
    assert c.status == "warn" and c.evidence["bound_ns"] is None
    assert "not schedulable" in c.verdict
