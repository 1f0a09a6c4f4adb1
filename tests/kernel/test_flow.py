"""Flow handlers (kernel/irq/chip.c): the order of chip operations around the
actions, masking policy, and the edge replay loop."""

from __future__ import annotations

import pytest

from irqlab.kernel import manage
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.chip import IRQCHIP_EOI_IF_HANDLED
from irqlab.kernel.flags import (
    IRQ_HANDLED,
    IRQ_NONE,
    IRQD_IRQ_INPROGRESS,
    IRQF_ONESHOT,
    IRQF_PERCPU,
    IRQF_TRIGGER_HIGH,
    IRQS_PENDING,
)
from irqlab.kernel.manage import disable_irq, request_irq, request_threaded_irq
from irqlab.kernel.migration import irq_do_set_affinity

from .rig import at, bare_kernel, drive, line, machine, python_handler, run


def logging_handler(log: list[str], ret: int = IRQ_HANDLED):
    def handler(ctx: HandlerContext) -> int:
        log.append("handler")
        return ret
    return handler


# -- level ------------------------------------------------------------------------
def test_level_masks_and_acks_before_the_handler_and_unmasks_after() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "level", log, level=True)
    request_irq(k, 10, logging_handler(log), IRQF_TRIGGER_HIGH, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["mask", "ack", "handler", "unmask"]
    assert desc.kstat == [1, 0]


def test_level_stays_masked_when_the_handler_disables_the_line() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "level", log, level=True)

    def handler(ctx: HandlerContext) -> int:
        log.append("handler")
        ctx.disable_irq_nosync()
        return IRQ_HANDLED

    request_irq(k, 10, handler, IRQF_TRIGGER_HIGH, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["mask", "ack", "handler"]
    assert desc.masked and desc.disabled


def test_level_stays_masked_while_a_oneshot_thread_is_pending() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "level", log, level=True)

    def handler(ctx: HandlerContext) -> int:
        log.append("handler")
        desc.threads_oneshot |= 1  # what __irq_wake_thread does for a ONESHOT action
        return IRQ_HANDLED

    request_irq(k, 10, handler, IRQF_TRIGGER_HIGH | IRQF_ONESHOT, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["mask", "ack", "handler"]
    assert desc.masked


def test_level_does_not_run_the_handler_while_in_progress_elsewhere() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "level", log, level=True)
    request_irq(k, 10, logging_handler(log), IRQF_TRIGGER_HIGH, "dev")
    log.clear()
    desc.state |= IRQD_IRQ_INPROGRESS
    drive(k, desc, cpu=1)
    assert log == ["mask", "ack"]
    assert desc.kstat == [0, 0]


# -- edge --------------------------------------------------------------------------
def test_edge_acks_first_and_does_not_mask() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "edge", log, level=False)
    request_irq(k, 10, logging_handler(log), 0, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["ack", "handler"]


def test_edge_while_in_progress_sets_pending_masks_and_acks() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "edge", log, level=False)
    request_irq(k, 10, logging_handler(log), 0, "dev")
    log.clear()
    desc.state |= IRQD_IRQ_INPROGRESS
    drive(k, desc, cpu=1)
    assert log == ["mask", "ack"]
    assert desc.istate & IRQS_PENDING


def test_edge_replays_once_and_unmasks_when_pending_was_set_during_the_handler() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "edge", log, level=False)

    def handler(ctx: HandlerContext) -> int:
        log.append("handler")
        if log.count("handler") == 1:
            for _ in range(5):  # five edges reach CPU1 while CPU0 runs the handler
                drive(k, desc, cpu=1)
        return IRQ_HANDLED

    request_irq(k, 10, handler, 0, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["ack", "handler", "mask", "ack", "ack", "ack", "ack", "ack", "unmask", "handler"]
    assert not desc.masked


EDGE_MACHINE = """
[machine]
arch = "x86"
cpus = 2
[timer]
enabled = false
[[device]]
name = "dev"
{where}
cpu = 0
arrival = {{ kind = "replay", times = ["1ms"] }}
handler = {{ cost = "10us" }}
"""


def _edges_during_handler(kind: str, edges: int) -> tuple[list[int], list[int]]:
    """The device's line moves to CPU1 while its handler runs on CPU0, then
    ``edges`` more requests arrive (500 ns apart) before the handler ends.
    Returns the CPUs of the handler runs and the per-CPU counts."""
    where = 'kind = "msix"' if kind == "msix" else 'kind = "line"\nline = 3\ntrigger = "edge"'
    m = machine(EDGE_MACHINE.format(where=where))
    desc = m.kernel.descs[m.irqs["dev"][0]]
    dev = m.devices["dev"][0]
    cpus: list[int] = []

    def handler(ctx: HandlerContext) -> int:
        cpus.append(ctx.cpu)
        if len(cpus) == 1:
            # Re-routed at once (an IO-APIC line would otherwise wait for its next
            # interrupt, as without interrupt remapping).
            irq_do_set_affinity(m.kernel, desc, 0b10)  # the mask of CPU1
            for i in range(edges):
                at(m, m.engine.now + 1_000 + 500 * i, dev.request)
        dev.service(dev.status)
        return IRQ_HANDLED

    python_handler(m, "dev", handler)
    run(m, 5_000_000)
    return cpus, desc.kstat


@pytest.mark.parametrize("edges", [1, 2, 12])
def test_many_edges_on_another_cpu_give_exactly_one_replay(edges: int) -> None:
    # IO-APIC edge pin: CPU1 sees the first edge, marks PENDING and masks; the
    # IO-APIC drops edges on a masked pin; CPU0 loops once.
    cpus, kstat = _edges_during_handler("line", edges)
    assert cpus == [0, 0]
    assert kstat == [1, 0]  # the replay is not counted again (kstat before the loop)


def test_msix_edges_on_another_cpu_do_not_add_replays() -> None:
    # MSI-X: edges while masked set the Pending Bit (PCI MSI-X), sent on the
    # loop's unmask: one more replay however many edges were latched.
    few, _ = _edges_during_handler("msix", 2)
    many, _ = _edges_during_handler("msix", 12)
    one, _ = _edges_during_handler("msix", 1)
    assert one == [0, 0]
    assert few == many == [0, 0, 0]


# -- fasteoi ---------------------------------------------------------------------
def test_fasteoi_handles_then_eois() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=True)
    request_irq(k, 10, logging_handler(log), IRQF_TRIGGER_HIGH, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["handler", "eoi"]


def test_fasteoi_eoi_if_handled_chip_still_gets_the_eoi_after_the_handlers_ran() -> None:
    """chip.c cond_unmask_eoi_irq: without ONESHOT the EOI follows the handlers
    whatever they returned."""
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=True, chip_flags=IRQCHIP_EOI_IF_HANDLED)
    request_irq(k, 10, logging_handler(log, IRQ_NONE), IRQF_TRIGGER_HIGH, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["handler", "eoi"]


def test_fasteoi_eoi_if_handled_chip_gets_no_eoi_when_the_line_cannot_be_handled() -> None:
    """chip.c cond_eoi_irq on the early exit (here: disabled line): a chip that
    wants EOIs only for handled interrupts gets none; other chips get one."""
    for flags, expected in ((IRQCHIP_EOI_IF_HANDLED, ["mask"]), (0, ["mask", "eoi"])):
        k, log = bare_kernel(), []
        desc = line(k, "fasteoi", log, level=True, chip_flags=flags)
        request_irq(k, 10, logging_handler(log), IRQF_TRIGGER_HIGH, "dev")
        disable_irq(k, 10)
        log.clear()
        drive(k, desc)
        assert log == expected, flags


def test_fasteoi_oneshot_masks_first_and_keeps_the_line_masked_for_the_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=True)
    monkeypatch.setattr(manage, "setup_irq_thread", lambda k, desc, action: None)

    def primary(ctx: HandlerContext) -> int:
        log.append("handler")
        desc.threads_oneshot |= ctx.action.thread_mask  # type: ignore[union-attr]
        return IRQ_HANDLED

    request_threaded_irq(k, 10, primary, logging_handler(log), IRQF_TRIGGER_HIGH | IRQF_ONESHOT,
                         "dev")
    log.clear()
    drive(k, desc)
    assert log == ["mask", "handler", "eoi"]
    assert desc.masked
    log.clear()
    desc.threads_oneshot = 0  # the thread finished; this time the primary handles it all
    desc.action[0].handler = logging_handler(log)
    drive(k, desc)
    assert log == ["handler", "eoi", "unmask"]


def test_fasteoi_in_progress_on_another_cpu_is_resent_when_the_handler_ends() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "fasteoi", log, level=False)

    def handler(ctx: HandlerContext) -> int:
        log.append("handler")
        if log.count("handler") == 1:
            drive(k, desc, cpu=1)
        return IRQ_HANDLED

    request_irq(k, 10, handler, 0, "dev")
    log.clear()
    drive(k, desc)
    assert log == ["handler", "eoi", "eoi", "retrigger"]


# -- per-CPU ---------------------------------------------------------------------
def test_percpu_acks_handles_eois_without_in_progress_tracking() -> None:
    k, log = bare_kernel(), []
    desc = line(k, "percpu", log, level=True)
    seen: list[int] = []

    def handler(ctx: HandlerContext) -> int:
        log.append("handler")
        seen.append(desc.state & IRQD_IRQ_INPROGRESS)
        if ctx.cpu == 0:
            drive(k, desc, cpu=1)  # the same line on the other CPU runs at once
        return IRQ_HANDLED

    request_irq(k, 10, handler, IRQF_PERCPU, "timer")
    log.clear()
    drive(k, desc)
    assert log == ["ack", "handler", "ack", "handler", "eoi", "eoi"]
    assert seen == [0, 0]
    assert desc.kstat == [1, 1]


# -- lazy disable at the flow -----------------------------------------------------
@pytest.mark.parametrize("flow,level", [("edge", False), ("fasteoi", True), ("level", True)])
def test_disabled_line_is_masked_when_it_fires_and_marked_pending(flow: str, level: bool) -> None:
    k, log = bare_kernel(), []
    desc = line(k, flow, log, level=level)
    request_irq(k, 10, logging_handler(log), IRQF_TRIGGER_HIGH if level else 0, "dev")
    log.clear()
    disable_irq(k, 10)
    assert log == []  # lazy: no hardware access at disable_irq
    drive(k, desc)
    assert "handler" not in log and "mask" in log
    assert desc.istate & IRQS_PENDING
