"""Storm detection exactly as kernel/irq/spurious.c note_interrupt."""

from __future__ import annotations

from itertools import pairwise

import pytest

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.desc import IrqDesc
from irqlab.kernel.flags import (
    IRQ_HANDLED,
    IRQ_NONE,
    IRQ_WAKE_THREAD,
    IRQF_SHARED,
    IRQF_TRIGGER_HIGH,
    IRQS_SPURIOUS_DISABLED,
)
from irqlab.kernel.kernel import Kernel
from irqlab.kernel.manage import request_irq
from irqlab.kernel.spurious import note_interrupt
from irqlab.machine.build import build
from irqlab.scenario.loader import load

from .rig import Recorder, bare_kernel, line, run

NOBODY_CARED = 'irq 10: nobody cared (try booting with the "irqpoll" option)'


def usb_irq(ctx: HandlerContext) -> int:
    return IRQ_NONE


def storm_line() -> tuple[Kernel, IrqDesc]:
    k = bare_kernel()
    desc = line(k, "fasteoi", [], level=True)
    request_irq(k, 10, usb_irq, IRQF_SHARED | IRQF_TRIGGER_HIGH, "usb", dev_id=object())
    return k, desc


def feed(k: Kernel, desc: IrqDesc, rets: list[int]) -> None:
    for ret in rets:
        note_interrupt(k, desc, ret)


def test_disabled_at_exactly_the_100000th_interrupt() -> None:
    k, desc = storm_line()
    feed(k, desc, [IRQ_NONE] * 99_999)
    assert not desc.disabled and desc.irqs_unhandled == 99_999
    assert k.warnings == []
    note_interrupt(k, desc, IRQ_NONE)
    assert desc.disabled and desc.istate & IRQS_SPURIOUS_DISABLED
    assert desc.depth == 1
    messages = [m for _, m in k.log]
    assert messages == [
        NOBODY_CARED,
        "handlers:",
        messages[2],
        "Disabling IRQ #10",
    ]
    assert messages[2].startswith("[<") and messages[2].endswith(">] usb_irq")
    [w] = k.warnings
    assert (w.kind, w.irq) == ("nobody-cared", 10)
    assert w.message.splitlines() == messages


@pytest.mark.parametrize("unhandled,disabled", [(99_900, False), (99_901, True)])
def test_more_than_99900_unhandled_in_the_window(unhandled: int, disabled: bool) -> None:
    k, desc = storm_line()
    # counting starts at the first unhandled interrupt; the handled ones follow
    feed(k, desc, [IRQ_NONE] * unhandled + [IRQ_HANDLED] * (100_000 - unhandled))
    assert desc.disabled is disabled
    assert desc.irq_count == 0 and desc.irqs_unhandled == 0  # a new window starts


def test_handled_interrupts_before_the_first_unhandled_are_not_counted() -> None:
    k, desc = storm_line()
    feed(k, desc, [IRQ_HANDLED] * 5_000)
    assert desc.irq_count == 0
    feed(k, desc, [IRQ_NONE] * 100_000)
    assert desc.disabled


def _with_gap(k: Kernel, desc: IrqDesc, gap_jiffies: int) -> None:
    feed(k, desc, [IRQ_NONE] * 60_000)
    k.engine.now += gap_jiffies * 1_000_000_000 // k.hz
    feed(k, desc, [IRQ_NONE] * 40_000)


def test_unhandled_count_restarts_after_a_gap_of_more_than_hz_over_10() -> None:
    k, desc = storm_line()
    _with_gap(k, desc, k.hz // 10 + 1)
    assert desc.irq_count == 0  # the window closed at 100,000 ...
    assert not desc.disabled  # ... with only 40,000 unhandled since the gap


def test_a_gap_of_exactly_hz_over_10_does_not_restart_the_count() -> None:
    k, desc = storm_line()
    _with_gap(k, desc, k.hz // 10)
    assert desc.disabled


def test_bogus_return_value_is_reported_and_not_counted() -> None:
    k, desc = storm_line()
    note_interrupt(k, desc, 4)
    assert k.log[0][1] == "irq event 10: bogus return value 4"
    assert k.log[1][1] == "handlers:"
    assert desc.irq_count == 0 and desc.irqs_unhandled == 0


def test_wake_thread_verdict_is_deferred_to_the_thread_result() -> None:
    k, desc = storm_line()
    note_interrupt(k, desc, IRQ_WAKE_THREAD)  # first: deferred, nothing counted
    assert desc.irq_count == 0
    note_interrupt(k, desc, IRQ_WAKE_THREAD)  # the thread did not handle the previous one
    assert desc.irqs_unhandled == 1
    desc.threads_handled += 1  # irq_thread_fn: the thread returned IRQ_HANDLED
    note_interrupt(k, desc, IRQ_WAKE_THREAD)
    assert desc.irqs_unhandled == 1 and desc.irq_count == 2


# -- through the whole machine ------------------------------------------------------
@pytest.fixture(scope="module")
def storm() -> tuple[Recorder, object]:
    spec, _ = load("shared-line-storm")
    m = build(spec)
    rec = run(m, 450_000_000)
    return rec, m


def test_shared_line_storm_is_disabled_and_polled_every_hz_over_10(storm) -> None:
    rec, m = storm
    k = m.kernel
    [w] = [w for w in k.warnings if w.kind == "nobody-cared"]
    assert w.irq == 17
    lines = w.message.splitlines()
    assert lines[0] == 'irq 17: nobody cared (try booting with the "irqpoll" option)'
    assert lines[1] == "handlers:"
    assert [ln.split("] ", 1)[1] for ln in lines[2:4]] == [
        "ehci_hcd_usb2_interrupt [ehci_hcd]", "snd_hda_intel_interrupt [snd_hda_intel]"]
    assert lines[4] == "Disabling IRQ #17"
    desc = k.descs[17]
    assert desc.disabled and desc.masked
    # after the window closed, only the poller runs the two handlers
    polls = [e[0] for e in rec.entries(17) if e[0] > w.time_ns and e[5] == "ehci_hcd:usb2"]
    assert len(polls) >= 2
    period = k.hz // 10 * 1_000_000_000 // k.hz
    gaps = {b - a for a, b in pairwise(polls)}
    assert gaps == {period}
    assert w.time_ns < polls[0] <= w.time_ns + period + 10_000


def test_polled_interrupts_are_not_counted_by_the_detector(storm) -> None:
    _, m = storm
    desc = m.kernel.descs[17]
    assert desc.irq_count == 0 and desc.irqs_unhandled == 0
