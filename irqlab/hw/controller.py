"""The one interface through which the kernel layer drives every interrupt
controller personality (x86 local APIC + IO-APIC, ARM GICv3, Cortex-M NVIC).

Like ``struct irq_chip`` in Linux, it holds hardware operations only; policy
(flow handlers, storm detection, bottom halves) lives in ``irqlab.kernel``.

The CPU-interface half is what a core does when it takes an interrupt:

* the controller calls ``notify(cpu)`` whenever something *may* have become
  deliverable to ``cpu`` (an arrival, an EOI, an unmask, a priority change);
* the kernel asks :meth:`deliverable` and, when the core accepts, calls
  :meth:`acknowledge` (x86 INTA, GIC ICC_IAR1 read, NVIC exception entry),
  which returns the interrupt id (x86 vector, GIC INTID, NVIC exception
  number) or :attr:`spurious` when nothing can be taken any more;
* :meth:`eoi` ends it (x86 write to EOI, GIC ICC_EOIR1 priority drop, NVIC
  exception return) and :meth:`deactivate` is the GIC EOImode=1 ``ICC_DIR``
  write (a no-op elsewhere).

Hardware time costs (exception entry/exit, tail-chaining) are reported by the
controller because they are properties of the core + controller, not of the OS.

Both interfaces are nominal (the controllers name them as bases) so that the
compiled event loop calls them through a vtable instead of by name; see
``irqlab._compiled``.  ``LineSink`` may be subclassed by plain Python (a test's
recording input); ``IrqController`` is a mypyc trait, for compiled models only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, final

from mypy_extensions import mypyc_attr, trait

Notify = Callable[[int], None]


def no_notify(cpu: int) -> None:
    """The notify callback of a controller nobody has attached to yet."""


@trait
class NotifySink:
    """A core that a controller tells to look for work: a compiled controller
    attached to one calls its ``notify`` natively, not as a generic callable."""

    __slots__ = ()

    def notify(self, cpu: int) -> None:
        raise NotImplementedError


@final
class CallNotify(NotifySink):
    """A plain ``notify`` callable (the kernel's, a test's ``list.append``) as a NotifySink."""

    __slots__ = ("fn",)

    def __init__(self, fn: Notify) -> None:
        self.fn = fn

    def notify(self, cpu: int) -> None:
        self.fn(cpu)


def notify_sink(notify: Notify | NotifySink) -> NotifySink:
    """What a controller's ``attach(notify)`` keeps."""
    return notify if isinstance(notify, NotifySink) else CallNotify(notify)


class StateSink(Protocol):
    """Where a controller reports that an interrupt's pending or active bit
    changed (x86 IRR/ISR, GIC pending/active, NVIC pending/active), while
    ``controller_state`` is true (a waveform asked for them): hardware knows no
    event kinds, only this call.  A controller holds it as ``state_sink``
    (None: nobody listens, the cost is one attribute test per change)."""

    controller_state: bool

    def irq_state(self, cpu: int, intid: int, pending: bool, active: bool) -> None: ...


@mypyc_attr(allow_interpreted_subclasses=True)
class LineSink:
    """A controller input that wires drive (IO-APIC pins, GIC SPIs/PPIs, NVIC IRQs)."""

    __slots__ = ()

    def set_line(self, hwirq: int, level: bool, cpu: int | None = None) -> None:
        """The wire into input ``hwirq`` (banked per ``cpu`` for a GIC PPI) is now ``level``."""
        raise NotImplementedError


@trait
class IrqController:
    __slots__ = ()

    # Read-only properties, not class constants: a mypyc class constant is a
    # per-instance slot, which would read differently at class level.
    @property
    def name(self) -> str:
        """Chip name as /proc/interrupts prints it ("APIC", "GICv3", "NVIC")."""
        raise NotImplementedError

    @property
    def spurious(self) -> int:
        """The id acknowledge() returns when nothing is deliverable (x86 0xFF, GIC 1023)."""
        raise NotImplementedError

    @property
    def ack_before_entry(self) -> bool:
        """True when the id is fixed at acceptance (x86 INTA); False when it is read
        after exception entry (GIC IAR read in the handler, NVIC late arrival)."""
        raise NotImplementedError

    def attach(self, notify: Notify | NotifySink) -> None:
        """Register the callback (or sink) used to tell a CPU to look for work."""
        raise NotImplementedError

    def deliverable(self, cpu: int) -> bool:
        """Whether the highest pending interrupt for ``cpu`` would preempt now."""
        raise NotImplementedError

    def acknowledge(self, cpu: int) -> int:
        """Take the highest deliverable interrupt (pending -> active)."""
        raise NotImplementedError

    def eoi(self, cpu: int, intid: int) -> None:
        """End of interrupt (priority drop; also deactivates unless split mode)."""
        raise NotImplementedError

    def deactivate(self, cpu: int, intid: int) -> None:
        """Deactivate (GICv3 EOImode=1 DIR write); no-op where not applicable."""
        raise NotImplementedError

    def entry_ns(self, cpu: int, tail_chain: bool) -> int:
        """Hardware cost of taking an exception (tail_chain: right after a return)."""
        raise NotImplementedError

    def exit_ns(self, cpu: int, tail_chain: bool) -> int:
        """Hardware cost of returning (tail_chain: another exception follows at once)."""
        raise NotImplementedError
