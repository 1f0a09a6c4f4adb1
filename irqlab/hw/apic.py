"""x86 local APIC: the CPU-interface half of the x86 personality.

Sources: Intel SDM Vol. 3A ch. "Advanced Programmable Interrupt Controller";
QEMU ``hw/intc/apic.c`` (``apic_set_irq``, ``apic_get_ppr``, ``apic_irq_pending``,
``apic_get_interrupt``, ``apic_eoi``); Linux ``arch/x86/include/asm/irq_vectors.h``.

* 256 vectors; 0-31 are exceptions (Linux ``FIRST_EXTERNAL_VECTOR`` 0x20).  A
  vector below 16 is illegal: receiving one sets ESR bit 6 and is dropped.
* Priority class = vector >> 4; within a class the higher vector wins.
* IRR, ISR and TMR are 256-bit registers, eight 32-bit words each (IRR at
  200h-270h).  At most one IRR and one ISR bit per vector: an arrival while
  the IRR bit is set coalesces.
* PPR = TPR if TPR class >= class of the highest ISR vector, else ISRV & 0xF0.
  The highest IRR vector is delivered only if its class is strictly above the
  PPR class.
* The APIC interrupts its core (``notify``, the INTR signal) only when the
  highest request becomes deliverable: on an arrival above everything pending,
  after an EOI, or when TPR drops.  A request held back by PPR raises nothing.
* INTA moves the vector IRR -> ISR; with nothing deliverable it returns the
  spurious vector (SPIV[7:0], Linux 0xFF), sets no ISR bit and needs no EOI.
* EOI clears the highest ISR bit (whatever value is written).  If that
  vector's TMR bit is set (level) the EOI is broadcast to the IO-APICs unless
  SPIV bit 12 (suppress EOI broadcast) is set.  A missing EOI therefore keeps
  PPR up and blocks the same and lower classes on that CPU for ever, while
  higher classes still arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, final

from mypy_extensions import trait

from irqlab.hw.controller import (
    CallNotify,
    IrqController,
    Notify,
    NotifySink,
    StateSink,
    no_notify,
    notify_sink,
)

FIRST_EXTERNAL_VECTOR: Final = 0x20  # irq_vectors.h
SPURIOUS_APIC_VECTOR: Final = 0xFF  # irq_vectors.h; low nibble must be 0xF (SDM)
LOCAL_TIMER_VECTOR: Final = 0xEC
LINUX_INIT_TPR: Final = 0x10  # apic.c: "accept all except vectors 0-31"
ESR_RECEIVE_ILLEGAL_VECTOR: Final = 0x40  # ESR bit 6 (SDM)

EoiListener = Callable[[int], None]


@trait
class EoiSink:
    """Hears the EOI broadcast of level-triggered vectors (an IO-APIC): called
    natively when compiled, where a plain listener is a generic call."""

    __slots__ = ()

    def eoi(self, vector: int) -> None:
        raise NotImplementedError


@final
class CallEoi(EoiSink):
    """A plain EOI listener (a test's ``list.append``) as an EoiSink."""

    __slots__ = ("fn",)

    def __init__(self, fn: EoiListener) -> None:
        self.fn = fn

    def eoi(self, vector: int) -> None:
        self.fn(vector)


@final
class ApicRegister:
    """A 256-bit register (IRR, ISR or TMR), one bit per vector, kept as 32
    bytes (the SDM's 32-bit words split in four): a byte is a small int that
    CPython caches, so, compiled, no set or clear allocates.  ``nonzero`` marks
    the bytes with a bit set and ``top`` is the highest vector set (asked
    several times per interrupt), so no query scans."""

    __slots__ = ("nonzero", "top", "words")

    def __init__(self) -> None:
        self.words = [0] * 32
        self.nonzero = 0
        self.top = -1

    def __contains__(self, vector: int) -> bool:
        return bool(self.words[vector >> 3] >> (vector & 7) & 1)

    def set(self, vector: int) -> None:
        i = vector >> 3
        words = self.words
        word: int = words[i]
        words[i] = word | 1 << (vector & 7)
        self.nonzero |= 1 << i
        if vector > self.top:
            self.top = vector

    def clear(self, vector: int) -> None:
        i = vector >> 3
        words = self.words
        word: int = words[i] & ~(1 << (vector & 7))
        words[i] = word
        if not word:
            self.nonzero &= ~(1 << i)
        if vector == self.top:
            nonzero = self.nonzero
            if nonzero:
                i = nonzero.bit_length() - 1
                self.top = (i << 3) + words[i].bit_length() - 1
            else:
                self.top = -1

    def highest(self) -> int:
        """The highest vector whose bit is set, -1 if none."""
        return self.top

    def vectors(self) -> list[int]:
        """The vectors whose bit is set, highest first."""
        return [v for v in range(255, -1, -1) if v in self]


@final
class LocalApic:
    """Registers of one local APIC."""

    __slots__ = ("apic_id", "coalesced", "esr", "irr", "isr", "suppress_eoi_broadcast", "tmr", "tpr")

    def __init__(self, apic_id: int) -> None:
        self.apic_id = apic_id
        self.irr = ApicRegister()
        self.isr = ApicRegister()
        self.tmr = ApicRegister()
        self.tpr = LINUX_INIT_TPR
        self.esr = 0
        self.coalesced = 0
        self.suppress_eoi_broadcast = False

    def ppr(self) -> int:
        """Processor priority (SDM 10.8.3.1; QEMU apic_get_ppr)."""
        isrv = self.isr.top
        tpr = self.tpr
        return tpr if isrv < 0 or (tpr & 0xF0) >= (isrv & 0xF0) else isrv & 0xF0

    def deliverable(self) -> bool:
        """Highest IRR vector is in a class strictly above the PPR class."""
        return self.next_vector() >= 0

    def next_vector(self) -> int:
        """The highest IRR vector if it is deliverable, else -1."""
        irrv = self.irr.top
        return irrv if irrv >= 0 and irrv & 0xF0 > self.ppr() & 0xF0 else -1


@final
class Apic(IrqController):
    """All local APICs of a machine, driven through ``IrqController``.

    CPU ``i`` has APIC id ``apic_ids[i]`` (default ``i``).  Entry/exit costs
    are model parameters (ns), not manual figures.
    """

    __slots__ = ("_entry_ns", "_eoi_listeners", "_exit_ns", "_notify", "cpu_of_apic_id", "lapics",
                 "state_sink")

    @property
    def name(self) -> str:
        return "APIC"

    @property
    def spurious(self) -> int:
        return SPURIOUS_APIC_VECTOR

    @property
    def ack_before_entry(self) -> bool:
        return True

    def __init__(
        self, cpus: int, *, entry_ns: int = 0, exit_ns: int = 0, apic_ids: list[int] | None = None
    ) -> None:
        ids = apic_ids if apic_ids is not None else list(range(cpus))
        if len(ids) != cpus:
            raise ValueError(f"apic_ids has {len(ids)} entries for {cpus} CPUs")
        self.lapics = [LocalApic(i) for i in ids]
        self.cpu_of_apic_id = {apic_id: cpu for cpu, apic_id in enumerate(ids)}
        self._entry_ns = entry_ns
        self._exit_ns = exit_ns
        self._notify: NotifySink = CallNotify(no_notify)
        self._eoi_listeners: list[EoiSink] = []
        self.state_sink: StateSink | None = None

    def _state(self, cpu: int, vector: int) -> None:
        """Report ``vector``'s IRR and ISR bits on ``cpu`` to a listening sink."""
        sink = self.state_sink
        if sink is not None and sink.controller_state:
            lapic = self.lapics[cpu]
            sink.irq_state(cpu, vector, vector in lapic.irr, vector in lapic.isr)

    # -- wiring ---------------------------------------------------------------
    def attach(self, notify: Notify | NotifySink) -> None:
        self._notify = notify_sink(notify)

    def add_eoi_listener(self, listener: EoiListener | EoiSink) -> None:
        """IO-APICs receive the EOI broadcast of level-triggered vectors."""
        self._eoi_listeners.append(listener if isinstance(listener, EoiSink) else CallEoi(listener))

    # -- message side (IO-APIC redirection, MSI, IPIs, LVT) ---------------------
    def accept(self, cpu: int, vector: int, level: bool) -> bool:
        """Set the IRR bit of ``vector`` (QEMU apic_set_irq); False if coalesced
        with an arrival already in IRR or dropped as an illegal vector."""
        lapic = self.lapics[cpu]
        if vector < 16:
            lapic.esr |= ESR_RECEIVE_ILLEGAL_VECTOR
            return False
        irr = lapic.irr
        if vector in irr:
            lapic.coalesced += 1
            return False
        highest = irr.top < vector
        irr.set(vector)
        if level:
            lapic.tmr.set(vector)
        else:
            lapic.tmr.clear(vector)
        if self.state_sink is not None:
            self._state(cpu, vector)
        # Only a new highest request can change what the CPU sees (INTR raised).
        if highest and lapic.deliverable():
            self._notify.notify(cpu)
        return True

    def accept_by_id(self, apic_id: int, vector: int, level: bool) -> bool:
        cpu = self.cpu_of_apic_id.get(apic_id)
        if cpu is None:
            return False  # no such destination: the message is lost
        return self.accept(cpu, vector, level)

    def level_triggered(self, cpu: int, vector: int) -> bool:
        """Whether ``vector``'s TMR bit is set on ``cpu`` (its EOI is broadcast)."""
        return vector in self.lapics[cpu].tmr

    # -- CPU interface ----------------------------------------------------------
    def deliverable(self, cpu: int) -> bool:
        return self.lapics[cpu].deliverable()

    def acknowledge(self, cpu: int) -> int:
        """INTA (QEMU apic_get_interrupt)."""
        lapic = self.lapics[cpu]
        vector = lapic.next_vector()
        if vector < 0:
            return SPURIOUS_APIC_VECTOR
        lapic.irr.clear(vector)
        lapic.isr.set(vector)
        if self.state_sink is not None:
            self._state(cpu, vector)
        return vector

    def eoi(self, cpu: int, intid: int = 0) -> None:
        """Write to the EOI register: clears the highest ISR bit, whatever
        ``intid`` says (QEMU apic_eoi)."""
        lapic = self.lapics[cpu]
        vector = lapic.isr.top
        if vector < 0:
            return
        lapic.isr.clear(vector)
        if self.state_sink is not None:
            self._state(cpu, vector)
        if vector in lapic.tmr and not lapic.suppress_eoi_broadcast:
            for listener in self._eoi_listeners:
                listener.eoi(vector)
        if lapic.deliverable():
            self._notify.notify(cpu)

    def deactivate(self, cpu: int, intid: int) -> None:
        return None

    def init_ipi(self, cpu: int) -> None:
        """INIT: the local APIC goes back to its power-up state; IRR, ISR and
        TMR are cleared (SDM 10.4.7.3), the TPR set as Linux sets it again."""
        lapic = self.lapics[cpu]
        lapic.irr = ApicRegister()
        lapic.isr = ApicRegister()
        lapic.tmr = ApicRegister()
        lapic.tpr = LINUX_INIT_TPR

    def set_tpr(self, cpu: int, tpr: int) -> None:
        """Task priority (CR8 = TPR[7:4])."""
        lapic = self.lapics[cpu]
        lapic.tpr = tpr & 0xFF
        if lapic.deliverable():
            self._notify.notify(cpu)

    def entry_ns(self, cpu: int, tail_chain: bool) -> int:
        return self._entry_ns

    def exit_ns(self, cpu: int, tail_chain: bool) -> int:
        return self._exit_ns

    # -- inspection -------------------------------------------------------------
    def in_service(self, cpu: int) -> list[int]:
        """Vectors with their ISR bit set, highest first."""
        return self.lapics[cpu].isr.vectors()

    def pending(self, cpu: int) -> list[int]:
        """Vectors with their IRR bit set, highest first."""
        return self.lapics[cpu].irr.vectors()
