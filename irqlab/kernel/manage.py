"""Requesting, freeing, disabling and enabling interrupts (``kernel/irq/manage.c``).

* ``request_threaded_irq``: a NULL primary handler without IRQF_ONESHOT is
  refused ("Threaded irq requested with handler=NULL and !ONESHOT for %s (irq
  %d)", -EINVAL) unless the chip is ONESHOT-safe; sharing needs IRQF_SHARED on
  both sides, the same trigger type, the same ONESHOT (relaxed by
  IRQF_COND_ONESHOT) and the same PERCPU, else "Flags mismatch irq %d. %08x
  (%s) vs. %08x (%s)" and -EBUSY.  Adding a handler resets the spurious
  detector and re-enables a shared line it had disabled.
* ``disable_irq``/``enable_irq``: lazy and depth counted; enable at depth 1
  unmasks and resends an edge that arrived while disabled; enable at depth 0
  is reported as "Unbalanced enable for IRQ %d".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from irqlab.kernel.action import Handler, HandlerContext, IrqAction
from irqlab.kernel.chip import IRQCHIP_ONESHOT_SAFE, ChipError, mask_irq, unmask_irq
from irqlab.kernel.cpumask import bitmap_list_string, cpumask_of
from irqlab.kernel.flags import (
    IRQ_WAKE_THREAD,
    IRQD_ACTIVATED,
    IRQD_AFFINITY_MANAGED,
    IRQD_IRQ_DISABLED,
    IRQD_MANAGED_SHUTDOWN,
    IRQD_SETAFFINITY_PENDING,
    IRQF_COND_ONESHOT,
    IRQF_NO_AUTOEN,
    IRQF_ONESHOT,
    IRQF_PERCPU,
    IRQF_PROBE_SHARED,
    IRQF_SHARED,
    IRQF_TRIGGER_MASK,
    IRQS_ONESHOT,
    IRQS_SPURIOUS_DISABLED,
)
from irqlab.kernel.flow import handle_percpu_irq
from irqlab.kernel.irqthread import setup_irq_thread
from irqlab.kernel.migration import (
    irq_do_set_affinity,
    irq_move_masked_irq,
    irq_set_affinity_pending,
)
from irqlab.kernel.resend import check_irq_resend

if TYPE_CHECKING:
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel

BITS_PER_LONG = 64


class IrqRequestError(Exception):
    """request_irq failed; ``errno`` is the kernel's error name (EBUSY, EINVAL)."""

    def __init__(self, errno: str, message: str) -> None:
        super().__init__(message)
        self.errno = errno


def irq_default_primary_handler(ctx: HandlerContext) -> int:
    """Primary handler used when a threaded IRQ passes handler=NULL."""
    return IRQ_WAKE_THREAD


def request_threaded_irq(k: Kernel, irq: int, handler: Handler | None, thread_fn: Handler | None,
                         flags: int, name: str, dev_id: Any = None) -> IrqAction:
    desc = k.descs.get(irq)
    if desc is None:
        raise IrqRequestError("EINVAL", f"request_irq: no such irq {irq}")
    if flags & IRQF_SHARED and dev_id is None:
        raise IrqRequestError("EINVAL", f"request_irq: shared irq {irq} needs a dev_id")
    if handler is None:
        if thread_fn is None:
            raise IrqRequestError("EINVAL", f"request_irq: irq {irq} without handler or thread_fn")
        if not flags & IRQF_ONESHOT and not desc.chip.flags & IRQCHIP_ONESHOT_SAFE:
            msg = f"Threaded irq requested with handler=NULL and !ONESHOT for {name} (irq {irq})"
            k.printk(msg)
            raise IrqRequestError("EINVAL", msg)
        handler = irq_default_primary_handler
    if desc.chip.flags & IRQCHIP_ONESHOT_SAFE:
        flags &= ~IRQF_ONESHOT
    new = IrqAction(irq, handler, thread_fn, flags, name, dev_id)
    _setup_irq(k, desc, new)
    return new


def request_irq(k: Kernel, irq: int, handler: Handler, flags: int, name: str,
                dev_id: Any = None) -> IrqAction:
    """``request_irq`` = ``request_threaded_irq(irq, handler, NULL, flags | IRQF_COND_ONESHOT, ...)``."""
    return request_threaded_irq(k, irq, handler, None, flags | IRQF_COND_ONESHOT, name, dev_id)


def _setup_irq(k: Kernel, desc: IrqDesc, new: IrqAction) -> None:
    shared = False
    if desc.action:
        old = desc.action[0]
        mismatch = (
            not (old.flags & new.flags & IRQF_SHARED)
            or (old.flags & IRQF_TRIGGER_MASK) != (new.flags & IRQF_TRIGGER_MASK)
        )
        if not mismatch:
            if old.flags & IRQF_ONESHOT and new.flags & IRQF_COND_ONESHOT:
                new.flags |= IRQF_ONESHOT
            elif (old.flags ^ new.flags) & IRQF_ONESHOT:
                mismatch = True
        if not mismatch and (old.flags & IRQF_PERCPU) != (new.flags & IRQF_PERCPU):
            mismatch = True
        if mismatch:
            msg = (f"Flags mismatch irq {desc.irq}. {new.flags:08x} ({new.name}) "
                   f"vs. {old.flags:08x} ({old.name})")
            if not new.flags & IRQF_PROBE_SHARED:
                k.printk(msg)
            raise IrqRequestError("EBUSY", msg)
        shared = True
    if new.flags & IRQF_ONESHOT and new.thread_fn is not None:
        used = 0
        for a in desc.action:
            used |= a.thread_mask
        if used == (1 << BITS_PER_LONG) - 1:
            raise IrqRequestError("EBUSY", f"irq {desc.irq}: no ONESHOT thread bit left")
        bit = 0
        while used >> bit & 1:
            bit += 1
        new.thread_mask = 1 << bit
    if not shared and not new.flags & IRQF_NO_AUTOEN:
        try:
            irq_activate(desc)  # __setup_irq: before anything is set up
        except ChipError as exc:
            raise IrqRequestError(exc.errno, f"irq {desc.irq}: {exc}") from None
    if new.thread_fn is not None:
        setup_irq_thread(k, desc, new)
    desc.action.append(new)
    if not shared:
        if new.flags & IRQF_ONESHOT:
            desc.istate |= IRQS_ONESHOT
        if not new.flags & IRQF_NO_AUTOEN:
            irq_startup(desc)
    desc.irq_count = 0
    desc.irqs_unhandled = 0
    if shared and desc.istate & IRQS_SPURIOUS_DISABLED:
        desc.istate &= ~IRQS_SPURIOUS_DISABLED
        _enable(k, desc)


def irq_activate(desc: IrqDesc) -> None:
    """``irq_domain_activate_irq``, once: x86 takes the line's vector here
    (ChipError -ENOSPC when none is left)."""
    if not desc.state & IRQD_ACTIVATED:
        desc.chip.irq_activate(desc)
        desc.state |= IRQD_ACTIVATED


def irq_startup(desc: IrqDesc) -> None:
    """Start the line: activate it (ChipError leaves it shut down), then
    enable and unmask it."""
    irq_activate(desc)
    desc.state &= ~IRQD_MANAGED_SHUTDOWN
    desc.depth = 0
    desc.state &= ~IRQD_IRQ_DISABLED
    unmask_irq(desc)


def irq_shutdown(k: Kernel, desc: IrqDesc) -> None:
    """Disable and mask the line and release its vector (``irq_shutdown_and_deactivate``)."""
    desc.state |= IRQD_IRQ_DISABLED
    desc.depth = 1
    mask_irq(desc)
    irq_move_masked_irq(k, desc)  # nothing in flight any more: a pending move is made now
    if desc.state & IRQD_ACTIVATED:
        desc.chip.irq_deactivate(desc)
        desc.state &= ~IRQD_ACTIVATED


def free_irq(k: Kernel, irq: int, dev_id: Any) -> None:
    desc = k.descs.get(irq)
    action = next((a for a in desc.action if a.dev_id is dev_id), None) if desc else None
    if desc is None or action is None:
        k.printk(f"Trying to free already-free IRQ {irq}")
        return
    desc.action.remove(action)
    if not desc.action:
        desc.istate &= ~IRQS_ONESHOT
        irq_shutdown(k, desc)


def disable_irq(k: Kernel, irq: int) -> None:
    """Lazy disable: only marks the line; the flow masks it if it fires."""
    desc = k.descs[irq]
    if desc.depth == 0:
        desc.state |= IRQD_IRQ_DISABLED
    desc.depth += 1


def enable_irq(k: Kernel, irq: int) -> None:
    _enable(k, k.descs[irq])


def _enable(k: Kernel, desc: IrqDesc) -> None:
    if desc.depth == 0:
        k.printk(f"Unbalanced enable for IRQ {desc.irq}")
        k.warn("unbalanced-enable", desc.irq, f"Unbalanced enable for IRQ {desc.irq}")
        return
    if desc.depth == 1:
        desc.state &= ~IRQD_IRQ_DISABLED
        unmask_irq(desc)
        check_irq_resend(k, desc)
    desc.depth -= 1


def irq_set_affinity(k: Kernel, irq: int, cpus: int | Iterable[int]) -> None:
    """Move ``irq`` to ``cpus`` (one CPU, or several as written to
    ``/proc/irq/N/smp_affinity_list``): ``irq_set_affinity`` ->
    ``irq_do_set_affinity``.  The chip picks the effective CPU among the
    online ones and re-routes the line: the MSI-X message or GIC
    ``GICD_IROUTER`` at once, after x86 has allocated a vector on the new CPU
    (the old one is freed once the move is complete: ``irqlab.platform.x86_vector``);
    an IO-APIC RTE at the next interrupt (``irqlab.kernel.migration``).

    IrqRequestError: EINVAL (no such IRQ, no online CPU in the mask, a
    per-CPU line), EIO (a managed line: ``irq_can_set_affinity_usr``),
    ENOSPC (no vector left on those CPUs), EBUSY (the previous move has not
    completed yet).
    """
    desc = k.descs.get(irq)
    if desc is None:
        raise IrqRequestError("EINVAL", f"irq_set_affinity: no such irq {irq}")
    mask = 1 << cpus if isinstance(cpus, int) else cpumask_of(cpus)
    if not mask & k.cpu_online_mask:
        raise IrqRequestError("EINVAL", f"irq_set_affinity: irq {irq}: CPU "
                                        f"{bitmap_list_string(mask)} is not online")
    if desc.handle_irq is handle_percpu_irq or any(a.flags & IRQF_PERCPU for a in desc.action):
        raise IrqRequestError("EINVAL", f"irq {irq} is per-CPU: its affinity cannot be set")
    if desc.state & IRQD_AFFINITY_MANAGED:
        raise IrqRequestError("EIO", f"irq {irq} is managed: the kernel sets its affinity")
    if mask == desc.affinity_mask and not desc.state & IRQD_SETAFFINITY_PENDING:
        return
    if desc.chip.move_pending and desc.action:
        irq_set_affinity_pending(desc, mask)  # a line nobody has started moves at once
        return
    try:
        irq_do_set_affinity(k, desc, mask)
    except ChipError as exc:
        raise IrqRequestError(exc.errno, f"irq {irq}: {exc}") from None
    except ValueError as exc:
        raise IrqRequestError("EINVAL", str(exc)) from None
