"""Flow handlers: the policy that composes chip operations
(``kernel/irq/chip.c``).  Each is a generator: it yields CPU time while the
actions run (see ``handle.py``) and performs the chip operations in the order
the kernel does.

* ``handle_level_irq``: mask and ack first; if the line cannot be handled it
  stays masked; handle; unmask unless disabled or a ONESHOT thread is pending.
* ``handle_edge_irq``: ack first; an edge arriving while the handler runs on
  another CPU (or while disabled) sets IRQS_PENDING, masks and acks; the
  running CPU loops while PENDING, so any number of such edges gives exactly
  one replay.
* ``handle_fasteoi_irq``: handle, then EOI (ONESHOT: masked first and only
  unmasked once the thread has finished).
* ``handle_percpu_irq``: ack, handle, EOI; no in-progress tracking.
* ``handle_simple_irq``: no ack/EOI at all (controllers whose exception
  return ends the interrupt, e.g. the Cortex-M NVIC).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from irqlab.kernel.chip import IRQCHIP_EOI_IF_HANDLED, IRQCHIP_EOI_THREADED, mask_irq, unmask_irq
from irqlab.kernel.flags import (
    IRQD_IRQ_DISABLED,
    IRQD_IRQ_INPROGRESS,
    IRQD_IRQ_MASKED,
    IRQS_ONESHOT,
    IRQS_PENDING,
    IRQS_REPLAY,
    IRQS_WAITING,
)
from irqlab.kernel.handle import handle_irq_event, handle_irq_event_percpu
from irqlab.kernel.resend import check_irq_resend

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel

Flow = Generator[int, None, None]


def _can_handle_actions(desc: IrqDesc) -> bool:
    """``irq_can_handle_actions``: no action or disabled -> PENDING, False."""
    desc.istate &= ~(IRQS_REPLAY | IRQS_WAITING)
    if not desc.action or desc.state & IRQD_IRQ_DISABLED:
        desc.istate |= IRQS_PENDING
        return False
    return True


def _cond_unmask(desc: IrqDesc) -> None:
    """``cond_unmask_irq``: unmask unless disabled or a ONESHOT thread is pending."""
    if not desc.state & IRQD_IRQ_DISABLED and desc.state & IRQD_IRQ_MASKED and not desc.threads_oneshot:
        unmask_irq(desc)


def _cond_eoi(desc: IrqDesc, cpu: int) -> None:
    """``cond_eoi_irq``: an interrupt that was not handled gets no EOI from a
    chip that wants EOIs only for handled ones (IRQCHIP_EOI_IF_HANDLED)."""
    if not desc.chip.flags & IRQCHIP_EOI_IF_HANDLED:
        desc.chip.irq_eoi(desc, cpu)


def handle_level_irq(k: Kernel, desc: IrqDesc, cpu: int) -> Flow:
    mask_irq(desc)
    desc.chip.irq_ack(desc, cpu)  # mask_ack_irq
    if desc.state & IRQD_IRQ_INPROGRESS or not _can_handle_actions(desc):
        return
    desc.kstat[cpu] += 1
    yield from handle_irq_event(k, desc, cpu)
    _cond_unmask(desc)


def handle_edge_irq(k: Kernel, desc: IrqDesc, cpu: int) -> Flow:
    if not edge_begin(desc, cpu):
        return
    while edge_loop(desc):
        yield from handle_irq_event(k, desc, cpu)
        if not edge_replay(desc):
            return


def edge_begin(desc: IrqDesc, cpu: int) -> bool:
    """``handle_edge_irq`` up to its loop: False when the edge is only marked PENDING."""
    desc.istate &= ~(IRQS_REPLAY | IRQS_WAITING)
    if desc.state & IRQD_IRQ_INPROGRESS or not desc.action or desc.state & IRQD_IRQ_DISABLED:
        desc.istate |= IRQS_PENDING
        mask_irq(desc)
        desc.chip.irq_ack(desc, cpu)
        return False
    desc.kstat[cpu] += 1
    desc.chip.irq_ack(desc, cpu)
    return True


def edge_loop(desc: IrqDesc) -> bool:
    """The top of the edge loop: False (masked) when the actions are gone;
    unmasks a line masked by an edge that arrived meanwhile."""
    if not desc.action:
        mask_irq(desc)
        return False
    if (desc.istate & IRQS_PENDING and not desc.state & IRQD_IRQ_DISABLED
            and desc.state & IRQD_IRQ_MASKED):
        unmask_irq(desc)
    return True


def edge_replay(desc: IrqDesc) -> bool:
    """Whether an edge arrived while the handlers ran (run them once more)."""
    return bool(desc.istate & IRQS_PENDING and not desc.state & IRQD_IRQ_DISABLED)


def handle_fasteoi_irq(k: Kernel, desc: IrqDesc, cpu: int) -> Flow:
    if fasteoi_begin(desc, cpu):
        yield from handle_irq_event(k, desc, cpu)
        fasteoi_end(k, desc, cpu)


def fasteoi_begin(desc: IrqDesc, cpu: int) -> bool:
    """``handle_fasteoi_irq`` before the handlers: False when they do not run."""
    if desc.state & IRQD_IRQ_INPROGRESS:
        desc.istate |= IRQS_PENDING  # irqd_needs_resend_when_in_progress
        _cond_eoi(desc, cpu)
        return False
    if not _can_handle_actions(desc):
        mask_irq(desc)
        _cond_eoi(desc, cpu)
        return False
    desc.kstat[cpu] += 1
    if desc.istate & IRQS_ONESHOT:
        mask_irq(desc)
    return True


def fasteoi_end(k: Kernel, desc: IrqDesc, cpu: int) -> None:
    """``handle_fasteoi_irq`` after the handlers: EOI (and unmask), resend."""
    _cond_unmask_eoi(desc, cpu)
    if desc.istate & IRQS_PENDING:
        check_irq_resend(k, desc)


def _cond_unmask_eoi(desc: IrqDesc, cpu: int) -> None:
    """``cond_unmask_eoi_irq``: after the handlers ran the EOI is always sent."""
    if not desc.istate & IRQS_ONESHOT:
        desc.chip.irq_eoi(desc, cpu)
    elif not desc.state & IRQD_IRQ_DISABLED and desc.state & IRQD_IRQ_MASKED and not desc.threads_oneshot:
        desc.chip.irq_eoi(desc, cpu)
        unmask_irq(desc)
    elif not desc.chip.flags & IRQCHIP_EOI_THREADED:
        desc.chip.irq_eoi(desc, cpu)


def handle_percpu_irq(k: Kernel, desc: IrqDesc, cpu: int) -> Flow:
    desc.kstat[cpu] += 1
    desc.chip.irq_ack(desc, cpu)
    yield from handle_irq_event_percpu(k, desc, cpu)
    desc.chip.irq_eoi(desc, cpu)


def handle_simple_irq(k: Kernel, desc: IrqDesc, cpu: int) -> Flow:
    if desc.state & IRQD_IRQ_INPROGRESS or not _can_handle_actions(desc):
        return
    desc.kstat[cpu] += 1
    yield from handle_irq_event(k, desc, cpu)


FLOWS = {
    "level": handle_level_irq,
    "edge": handle_edge_irq,
    "fasteoi": handle_fasteoi_irq,
    "percpu": handle_percpu_irq,
    "simple": handle_simple_irq,
}
