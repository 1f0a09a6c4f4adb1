"""What the generic interrupt layer asks of the architecture, as Linux's
``kernel/irq`` calls into ``arch/*/kernel/irq.c``: the spurious vector, an
empty vector-table slot, the trigger column, the architecture's rows of
``/proc/interrupts``, sending an IPI (``arch_send_call_function_ipi_mask``,
``arch_smp_send_reschedule``, ``arch_irq_work_raise``) and a TLB shootdown
(``flush_tlb_multi``).  Each platform (``irqlab.platform``) implements it.
Also what it asks of the interrupt controller (``Controller``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from irqlab.events import CounterSnapshot
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel


class Arch(Protocol):
    def spurious_vector(self, k: Kernel, cpu: int, vector: int) -> None:
        """The controller's spurious id was taken (it takes no EOI)."""

    def no_irq_handler(self, k: Kernel, cpu: int, vector: int) -> None:
        """A vector with nothing in this CPU's table: end it and report it."""

    def trigger_name(self, d: IrqDesc) -> str:
        """The trigger column of ``/proc/interrupts`` for ``d``."""

    def arch_show_interrupts(self, k: Kernel, snap: CounterSnapshot) -> None:
        """Add the architecture's rows (``arch_show_interrupts``)."""

    def send_ipi(self, k: Kernel, cpu: int, ipi: int) -> None:
        """Raise IPI ``ipi`` (``irqlab.kernel.smp``) on ``cpu``; its handler calls
        back into ``k.smp`` / ``k.sched`` and counts the row."""

    def flush_tlb_multi(self, k: Kernel, this_cpu: int, cpus: list[int]) -> int:
        """Invalidate a range of an address space on ``cpus`` from ``this_cpu``;
        returns this CPU's own cost (ns)."""


class Controller(Protocol):
    """The controller operations the kernel layer calls (declared, with their
    meaning, by ``irqlab.hw.controller.IrqController``).  A protocol, so that a
    controller need not derive from that class (a platform defined outside
    irqlab, as in tests/platform): the compiled kernel checks a class type at
    run time, never a protocol."""

    @property
    def spurious(self) -> int: ...
    @property
    def ack_before_entry(self) -> bool: ...
    def attach(self, notify: Callable[[int], None]) -> None: ...
    def deliverable(self, cpu: int) -> bool: ...
    def acknowledge(self, cpu: int) -> int: ...
    def eoi(self, cpu: int, intid: int) -> None: ...
    def deactivate(self, cpu: int, intid: int) -> None: ...
    def entry_ns(self, cpu: int, tail_chain: bool) -> int: ...
    def exit_ns(self, cpu: int, tail_chain: bool) -> int: ...
