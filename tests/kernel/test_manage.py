"""request_irq / disable_irq / enable_irq (kernel/irq/manage.c, resend.c) and
shared action chains (kernel/irq/handle.c)."""

from __future__ import annotations

import pytest

from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import (
    IRQ_HANDLED,
    IRQ_NONE,
    IRQ_WAKE_THREAD,
    IRQF_ONESHOT,
    IRQF_SHARED,
    IRQF_TRIGGER_HIGH,
    IRQF_TRIGGER_RISING,
    IRQS_SPURIOUS_DISABLED,
)
from irqlab.kernel.manage import IrqRequestError, disable_irq, enable_irq, request_irq
from irqlab.kernel.spurious import note_interrupt

from .rig import at, bare_kernel, drive, line, machine, run

# -- sharing --------------------------------------------------------------------------


def _ret(value: int, calls: list[str], name: str):
    def handler(ctx: HandlerContext) -> int:
        calls.append(name)
        return value
    return handler


@pytest.mark.parametrize("rets,expected", [
    ((IRQ_NONE, IRQ_NONE), IRQ_NONE),
    ((IRQ_NONE, IRQ_HANDLED), IRQ_HANDLED),
    ((IRQ_HANDLED, IRQ_NONE), IRQ_HANDLED),
    ((IRQ_HANDLED, IRQ_WAKE_THREAD), IRQ_HANDLED | IRQ_WAKE_THREAD),
])
def test_shared_chain_calls_every_action_in_order_and_ors_returns(rets: tuple[int, int],
                                                                  expected: int) -> None:
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=True)
    calls: list[str] = []
    seen: list[int] = []
    for i, ret in enumerate(rets):
        request_irq(k, 10, _ret(ret, calls, f"d{i}"), IRQF_SHARED | IRQF_TRIGGER_HIGH, f"d{i}",
                    dev_id=object())
    import irqlab.kernel.handle as handle

    real_note, real_wake = handle.note_interrupt, handle.irq_wake_thread
    handle.note_interrupt = lambda k, d, ret: seen.append(ret)  # type: ignore[assignment]
    handle.irq_wake_thread = lambda k, desc, action, cpu: None  # type: ignore[assignment]
    try:
        drive(k, desc)
    finally:
        handle.note_interrupt, handle.irq_wake_thread = real_note, real_wake
    assert calls == ["d0", "d1"]
    assert seen == [expected]


def _flags_mismatch(old: int, new: int) -> str:
    k, log = bare_kernel(), []
    line(k, "fasteoi", log, level=True, irq=17)
    request_irq(k, 17, _ret(IRQ_HANDLED, [], "a"), old, "ehci_hcd:usb1", dev_id=object())
    with pytest.raises(IrqRequestError) as err:
        request_irq(k, 17, _ret(IRQ_HANDLED, [], "b"), new, "snd_hda_intel", dev_id=object())
    assert err.value.errno == "EBUSY"
    assert k.log[-1][1] == str(err.value)
    return str(err.value)


def test_sharing_refused_without_irqf_shared_on_both() -> None:
    # request_irq adds IRQF_COND_ONESHOT (0x200000) to the flags it reports.
    msg = _flags_mismatch(IRQF_TRIGGER_HIGH, IRQF_SHARED | IRQF_TRIGGER_HIGH)
    assert msg == "Flags mismatch irq 17. 00200084 (snd_hda_intel) vs. 00200004 (ehci_hcd:usb1)"


def test_sharing_refused_with_different_trigger() -> None:
    msg = _flags_mismatch(IRQF_SHARED | IRQF_TRIGGER_HIGH, IRQF_SHARED | IRQF_TRIGGER_RISING)
    assert msg == "Flags mismatch irq 17. 00200081 (snd_hda_intel) vs. 00200084 (ehci_hcd:usb1)"


def test_sharing_refused_when_only_the_new_one_is_oneshot() -> None:
    msg = _flags_mismatch(IRQF_SHARED | IRQF_TRIGGER_HIGH,
                          IRQF_SHARED | IRQF_TRIGGER_HIGH | IRQF_ONESHOT)
    assert msg.startswith("Flags mismatch irq 17. 00202084 (snd_hda_intel) vs. 00200084")


def test_request_irq_joins_a_oneshot_line_through_cond_oneshot() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=True, irq=17)
    request_irq(k, 17, _ret(IRQ_HANDLED, [], "a"), IRQF_SHARED | IRQF_TRIGGER_HIGH | IRQF_ONESHOT,
                "a", dev_id=object())
    b = request_irq(k, 17, _ret(IRQ_HANDLED, [], "b"), IRQF_SHARED | IRQF_TRIGGER_HIGH, "b",
                    dev_id=object())
    assert b.flags & IRQF_ONESHOT
    assert len(desc.action) == 2


def test_adding_a_handler_reenables_a_spurious_disabled_shared_line() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=True, irq=17)
    request_irq(k, 17, _ret(IRQ_NONE, [], "a"), IRQF_SHARED | IRQF_TRIGGER_HIGH, "a",
                dev_id=object())
    for _ in range(100_000):
        note_interrupt(k, desc, IRQ_NONE)
    assert desc.disabled and desc.istate & IRQS_SPURIOUS_DISABLED
    request_irq(k, 17, _ret(IRQ_HANDLED, [], "b"), IRQF_SHARED | IRQF_TRIGGER_HIGH, "b",
                dev_id=object())
    assert not desc.disabled and not desc.istate & IRQS_SPURIOUS_DISABLED
    assert desc.depth == 0 and desc.irqs_unhandled == 0 and desc.irq_count == 0


# -- lazy disable, depth, resend --------------------------------------------------------
def test_disable_depth_counts_and_only_the_last_enable_unmasks() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "edge", log, level=False)
    request_irq(k, 10, _ret(IRQ_HANDLED, log, "handler"), 0, "dev")
    disable_irq(k, 10)
    disable_irq(k, 10)
    drive(k, desc)  # fires while disabled: masked, PENDING
    log.clear()
    enable_irq(k, 10)
    assert desc.disabled and log == []
    enable_irq(k, 10)
    assert not desc.disabled
    assert log == ["unmask", "retrigger"]


def test_unbalanced_enable_is_reported() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "edge", log, level=False, irq=12)
    request_irq(k, 12, _ret(IRQ_HANDLED, log, "handler"), 0, "dev")
    enable_irq(k, 12)
    assert desc.depth == 0
    assert k.log[-1][1] == "Unbalanced enable for IRQ 12"
    assert [(w.kind, w.irq) for w in k.warnings] == [("unbalanced-enable", 12)]


def test_level_line_is_never_resent_on_enable() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=True)
    request_irq(k, 10, _ret(IRQ_HANDLED, log, "handler"), IRQF_TRIGGER_HIGH, "dev")
    disable_irq(k, 10)
    drive(k, desc)
    log.clear()
    enable_irq(k, 10)
    assert log == ["unmask"]  # the controller redelivers a line still asserted
    assert k.resends == 0


RESEND_MACHINE = """
[machine]
arch = "x86"
cpus = 1
[timer]
enabled = false
[[device]]
name = "dev"
kind = "{kind}"
{extra}
arrival = {{ kind = "replay", times = {times} }}
handler = {{ cost = "2us", batch = 0 }}
"""


THREE = '["1ms", "1.2ms", "1.4ms"]'


@pytest.mark.parametrize("kind,extra,times", [
    # MSI-X: one edge (more would also be latched in the Pending Bit Array and
    # sent by the unmask, besides the resend)
    ("msix", "", '["1ms"]'),
    # IO-APIC edge pin: edges on the masked pin are lost, the resend brings one
    ("line", 'line = 4\ntrigger = "edge"', THREE),
])
def test_edges_while_disabled_are_resent_once_on_enable(kind: str, extra: str, times: str) -> None:
    m = machine(RESEND_MACHINE.format(kind=kind, extra=extra, times=times))
    irq = m.irqs["dev"][0]
    at(m, 500_000, lambda: disable_irq(m.kernel, irq))
    at(m, 2_000_000, lambda: enable_irq(m.kernel, irq))
    rec = run(m, 3_000_000)
    entries = rec.entries(irq)
    assert len(entries) == 1
    assert entries[0][0] > 2_000_000
    assert m.kernel.resends == 1


def test_level_line_asserted_while_disabled_is_delivered_by_hardware_on_enable() -> None:
    m = machine(RESEND_MACHINE.format(kind="line", extra='line = 4\ntrigger = "level"',
                                      times=THREE))
    irq = m.irqs["dev"][0]
    at(m, 500_000, lambda: disable_irq(m.kernel, irq))
    at(m, 2_000_000, lambda: enable_irq(m.kernel, irq))
    rec = run(m, 3_000_000)
    assert len(rec.entries(irq)) == 1
    assert rec.entries(irq)[0][0] > 2_000_000
    assert m.kernel.resends == 0
