"""Fault injection from the scenario (irqlab/machine/faults.py) as the kernel
layer sees it."""

from __future__ import annotations

from irqlab.events import IRQ_EXIT
from tests.kernel.rig import machine, run

BASE = """
[machine]
arch = "x86"
cpus = 1
[timer]
enabled = false
[[device]]
name = "dev"
kind = "line"
line = 5
trigger = "{trigger}"
arrival = {{ kind = "periodic", period = "100us" }}
handler = {{ cost = "2us" }}
"""


def _fault(body: str, trigger: str = "level") -> str:
    return BASE.format(trigger=trigger) + "[[fault]]\ndevice = \"dev\"\nat = \"1ms\"\n" + body


def _rets(rec, irq: int, after: int = 0) -> list[int]:
    return [e[4] for e in rec.events if e[2] == IRQ_EXIT and e[3] == irq and e[0] > after]


def test_drop_eoi_once_drops_a_single_eoi() -> None:
    m = machine(_fault('kind = "drop-eoi"\nmode = "once"'))
    run(m, 3_000_000)
    assert m.kernel.descs[5].drop_eoi == 0
    assert [w.kind for w in m.kernel.warnings] == ["missed-eoi"]


def test_drop_eoi_always_stays_armed() -> None:
    m = machine(_fault('kind = "drop-eoi"\nmode = "always"'))
    run(m, 3_000_000)
    assert m.kernel.descs[5].drop_eoi == 2


def test_stuck_level_line_storms_with_unhandled_interrupts() -> None:
    m = machine(_fault('kind = "stuck-line"'))
    rec = run(m, 3_000_000)
    before = _rets(rec, 5)[:10]
    after = _rets(rec, 5, after=1_100_000)
    assert before and set(before) == {1}
    assert len(after) > 10 * len(_rets(rec, 5)[:19])  # far more than the device's own rate
    assert set(after) <= {0, 1} and after.count(0) > 0.9 * len(after)


def test_spurious_on_a_device_line_are_unhandled_interrupts() -> None:
    m = machine(BASE.format(trigger="edge").replace('"periodic", period = "100us"', '"none"')
                + '[[fault]]\nkind = "spurious"\ndevice = "dev"\nrate = "10k/s"\n')
    rec = run(m, 5_000_000)
    rets = _rets(rec, 5)
    assert len(rets) > 10 and set(rets) == {0}


def test_handler_raises_is_recorded_and_counted_unhandled() -> None:
    m = machine(_fault('kind = "handler-raises"', trigger="edge"))
    rec = run(m, 3_000_000)
    assert set(_rets(rec, 5, after=1_000_000)) == {0}
    [w] = m.kernel.warnings
    assert (w.kind, w.irq) == ("handler-exception", 5)
    assert "RuntimeError" in w.message


def test_handler_none_returns_irq_none_for_its_own_device() -> None:
    m = machine(_fault('kind = "handler-none"', trigger="edge"))
    rec = run(m, 3_000_000)
    assert set(_rets(rec, 5)[:9]) == {1}
    assert set(_rets(rec, 5, after=1_000_000)) == {0}
    assert m.devices["dev"][0].served == len(_rets(rec, 5))  # serviced all the same


def test_slow_handler_adds_its_extra_time() -> None:
    m = machine(_fault('kind = "slow-handler"\nextra = "30us"', trigger="edge"))
    rec = run(m, 3_000_000)
    entries = rec.entries(5)
    times = {(x[0] - e[0], x[0] > 1_000_000) for e, x in zip(entries, rec.exits(5), strict=False)}
    assert times == {(2_000, False), (32_000, True)}
