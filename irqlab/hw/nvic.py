"""Cortex-M NVIC: the controller and exception model of ARMv6-M / ARMv7-M cores.

Sources: Arm "Cortex-M4 Devices Generic User Guide" (DUI0553A §2.3, §4.2) and the
M0+ generic guide (DUI0662 "Hardware and software control of interrupts");
Cortex-M0+ TRM (DDI0484C §3.6.1); Arm knowledge article 103489845 (M3/M4 entry and
exit latency); QEMU ``hw/intc/armv7m_nvic.c`` (``nvic_gprio_mask``,
``nvic_recompute_state``, ``nvic_exec_prio``, ``armv7m_nvic_set_pending``,
``armv7m_nvic_acknowledge_irq``, ``armv7m_nvic_complete_irq``, ``set_irq_level``)
and ``target/arm/tcg/m_helper.c`` ``do_v7m_exception_exit``.

Ids are **exception numbers**: 16 + IRQn for device interrupts, 15 SysTick,
14 PendSV, 11 SVCall, 2 NMI ...  Device-side calls (``enable``, ``set_line``)
take the IRQn, as CMSIS does.  There is one CPU interface: ``cpu`` is always 0.

* Priority: 8-bit field, only the top ``priority_bits`` bits implemented (the rest
  read as zero).  AIRCR.PRIGROUP = n splits it into group priority bits [7:n+1]
  and subpriority bits [n:0] (QEMU ``nvic_gprio_mask`` = ``~0 << (n + 1)``).
* Precedence among pending exceptions: lowest group priority, then lowest
  subpriority, then lowest exception number (QEMU comment R_CQRV).
* Execution priority (QEMU ``nvic_exec_prio``): the lowest of the group priority
  of the active exceptions, BASEPRI's group priority when BASEPRI != 0, 0 with
  PRIMASK, -1 with FAULTMASK, else 0x100 (thread mode).  A pending exception is
  taken only when its group priority is **strictly** below it: equal group
  priority never preempts.
* One pending bit per exception: arrivals while pending collapse into it
  (counted in :attr:`coalesced`).  A rising edge on the line pends the exception
  even while it is active (active+pending, it runs once more).  At exception
  return a level-sensitive source whose line is still high re-pends (the
  "ISR fires twice" case when the peripheral flag is cleared too late).
* Exception return of an exception that is not active is an illegal return:
  UsageFault INVPC in hardware (QEMU ``armv7m_nvic_complete_irq`` returns -1);
  here :class:`IllegalExceptionReturn` is raised.  A return from anything but
  NMI clears FAULTMASK (``do_v7m_exception_exit``).

Timing and the kernel protocol:

* ``ack_before_entry`` is False because of **late arrival**: the vector is read
  at the end of stacking, so the kernel spends ``entry_ns`` first and then calls
  :meth:`Nvic.acknowledge`, which takes whatever is highest at that moment.  A
  higher-priority exception that arrived during stacking is taken instead and
  the original stays pending (it is tail-chained afterwards).
* **Tail-chaining**: when a pending exception can be taken at exception return,
  unstacking and stacking are skipped: ``exit_ns(cpu, True)`` is 0 and
  ``entry_ns(cpu, True)`` is the tail-chain cost.  :meth:`Nvic.tail_chain_pending`
  answers the question before the return, ``deliverable`` after it.
* ``spurious`` is 0: "nothing to take", the value VECTACTIVE/IPSR reads in thread
  mode.  No state changes and no return is due.
* Counted per exception, where it happens: :attr:`taken` (entries),
  :attr:`tail_chained` (an exception return found it takeable, so it was
  entered without unstacking and stacking) and :attr:`late_arrivals` (taken
  at the end of stacking that began for a lower-priority exception, which
  stays pending).  ``entry_ns(cpu, False)`` is asked as stacking begins and
  notes what it began for.

Not modelled: fault escalation to HardFault, lazy FP stacking (+17 cycles on an
M4F with an active FP context: set ``entry_cycles``/``exit_cycles``), pop
pre-emption during unstacking, the v8-M Security Extension, memory wait states.
MemManage/BusFault/UsageFault are treated as enabled in SHCSR.
"""

from __future__ import annotations

from typing import NamedTuple

from irqlab.hw.controller import (
    CallNotify,
    IrqController,
    LineSink,
    Notify,
    NotifySink,
    StateSink,
    no_notify,
    notify_sink,
)

# Exception numbers (ARMv7-M ARM B1.5.2; DUI0553A §2.3.2).
RESET = 1
NMI = 2
HARDFAULT = 3
MEMMANAGE = 4
BUSFAULT = 5
USAGEFAULT = 6
SVCALL = 11
DEBUGMON = 12
PENDSV = 14
SYSTICK = 15
FIRST_IRQ = 16

EXCEPTION_NAMES: dict[int, str] = {
    RESET: "Reset",
    NMI: "NMI",
    HARDFAULT: "HardFault",
    MEMMANAGE: "MemManage",
    BUSFAULT: "BusFault",
    USAGEFAULT: "UsageFault",
    SVCALL: "SVCall",
    DEBUGMON: "DebugMonitor",
    PENDSV: "PendSV",
    SYSTICK: "SysTick",
}

#: Priorities of the fixed-priority exceptions (DUI0553A §2.3.2, exception types).
FIXED_PRIORITY = {RESET: -3, NMI: -2, HARDFAULT: -1}
#: Execution priority with nothing active and no mask set (QEMU NVIC_NOEXC_PRIO).
NOEXC_PRIO = 0x100
#: acknowledge() result when nothing can be taken: VECTACTIVE reads 0 in thread mode.
NO_EXCEPTION = 0

_STATES = ("inactive", "pending", "active", "active+pending")
_V6M_SYSTEM = (RESET, NMI, HARDFAULT, SVCALL, PENDSV, SYSTICK)
_V7M_SYSTEM = (*_V6M_SYSTEM, MEMMANAGE, BUSFAULT, USAGEFAULT, DEBUGMON)
#: Pendable by software: ICSR NMIPENDSET/PENDSVSET/PENDSTSET, SHCSR *PENDED (v7-M only).
_V6M_PENDABLE = (NMI, SVCALL, PENDSV, SYSTICK)
_V7M_PENDABLE = (*_V6M_PENDABLE, MEMMANAGE, BUSFAULT, USAGEFAULT, DEBUGMON)


class CoreProfile(NamedTuple):
    """Per-core constants; cycle counts assume zero-wait-state memory."""

    arch: str  # "armv6-m" (no BASEPRI/FAULTMASK/PRIGROUP) or "armv7-m"
    entry_cycles: int  # assertion -> first handler instruction
    tail_chain_cycles: int  # return -> next handler, no unstack/stack
    exit_cycles: int  # return instruction -> next instruction of the interrupted context
    max_irqs: int
    priority_bits: int | None  # fixed by the architecture, or None (implementation choice)


#: Entry: Arm latency table (M0 16, M0+ 15, M3/M4 12; M0+ TRM DDI0484C §3.6.1 "15
#: cycles worst case").  M3/M4 exit 10 and tail-chain 6: Arm KA 103489845 (the M3
#: TRM's "12 on exit" is a documented typo) and Yiu ch. 8 / G. N. Khan's slides
#: (6 instead of 24 for pop + push).  M0/M0+ tail-chain and exit are not published
#: by Arm: the values below are [unverified] assumptions (6 = vector fetch + refill
#: as on M3; exit = entry, a single-bus core pops the 8 words it pushed).
CORES: dict[str, CoreProfile] = {
    "cortex-m0": CoreProfile("armv6-m", 16, 6, 16, 32, 2),
    "cortex-m0+": CoreProfile("armv6-m", 15, 6, 15, 32, 2),
    "cortex-m3": CoreProfile("armv7-m", 12, 6, 10, 240, None),
    "cortex-m4": CoreProfile("armv7-m", 12, 6, 10, 240, None),
}
#: Implemented priority bits when the core leaves it to the silicon vendor
#: (STM32F1/F4: 4 bits, 16 levels; NXP LPC17xx implements 5).
DEFAULT_PRIORITY_BITS = 4


class NvicError(ValueError):
    """A bad NVIC configuration or register write; the message names the field."""


class IllegalExceptionReturn(NvicError):
    """Exception return of an exception that is not active (UsageFault INVPC)."""



def _int_field(field: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise NvicError(f"NVIC {field}: expected an integer {lo}..{hi}, got {value!r}")
    return value


def _flag(field: str, value: object) -> bool:
    if value not in (0, 1):  # True/False/0/1
        raise NvicError(f"NVIC {field}: expected 0 or 1, got {value!r}")
    return bool(value)


def _cycles(field: str, value: int | None, default: int) -> int:
    return default if value is None else _int_field(field, value, 0, 10**6)


def _cycles_ns(cycles: int, clock_hz: int) -> int:
    return (cycles * 1_000_000_000 + clock_hz // 2) // clock_hz


def _label(exc: object) -> str:
    if isinstance(exc, int) and exc >= FIRST_IRQ:
        return f"exception {exc} (IRQ{exc - FIRST_IRQ})"
    name = EXCEPTION_NAMES.get(exc) if isinstance(exc, int) else None
    return f"exception {exc!r}" + (f" ({name})" if name else "")


class Nvic(LineSink, IrqController):
    """An NVIC and the exception-priority state of its core, as ``IrqController``."""

    @property
    def name(self) -> str:
        return "NVIC"

    @property
    def spurious(self) -> int:
        return NO_EXCEPTION

    @property
    def ack_before_entry(self) -> bool:
        return False  # the exception number is known only once the handler runs

    __slots__ = (
        "_active",
        "_active_prio",
        "_basepri",
        "_chaining",
        "_clearable",
        "_configurable",
        "_enabled",
        "_entry_ns",
        "_exists",
        "_exit_ns",
        "_faultmask",
        "_gmask",
        "_impl_mask",
        "_level",
        "_line",
        "_notify",
        "_pendable",
        "_pending",
        "_prigroup",
        "_primask",
        "_prio",
        "_stacking_for",
        "_tail_ns",
        "_v7m",
        "clock_hz",
        "coalesced",
        "core",
        "entry_cycles",
        "exit_cycles",
        "late_arrivals",
        "num_irqs",
        "priority_bits",
        "state_sink",
        "tail_chain_cycles",
        "tail_chained",
        "taken",
    )

    def __init__(
        self,
        num_irqs: int = 32,
        *,
        core: str = "cortex-m4",
        priority_bits: int | None = None,
        prigroup: int = 0,
        clock_hz: int = 100_000_000,
        entry_cycles: int | None = None,
        tail_chain_cycles: int | None = None,
        exit_cycles: int | None = None,
    ) -> None:
        profile = CORES.get(core)
        if profile is None:
            raise NvicError(f"NVIC core: unknown core {core!r}; known: {', '.join(CORES)}")
        self.core = core
        self._v7m = profile.arch == "armv7-m"
        self.num_irqs = _int_field(f"num_irqs ({core})", num_irqs, 1, profile.max_irqs)
        if profile.priority_bits is not None:
            fixed = profile.priority_bits
            if priority_bits not in (None, fixed):
                raise NvicError(
                    f"NVIC priority_bits: {core} implements exactly {fixed}, got {priority_bits!r}"
                )
            self.priority_bits = fixed
        elif priority_bits is None:
            self.priority_bits = DEFAULT_PRIORITY_BITS
        else:  # ARMv7-M: at least 3 bits (ARMv7-M ARM B1.5.4)
            self.priority_bits = _int_field("priority_bits", priority_bits, 3, 8)
        self._impl_mask = (0xFF << (8 - self.priority_bits)) & 0xFF
        self.clock_hz = _int_field("clock_hz", clock_hz, 1, 10**12)
        self.entry_cycles = _cycles("entry_cycles", entry_cycles, profile.entry_cycles)
        self.tail_chain_cycles = _cycles(
            "tail_chain_cycles", tail_chain_cycles, profile.tail_chain_cycles
        )
        self.exit_cycles = _cycles("exit_cycles", exit_cycles, profile.exit_cycles)
        self._entry_ns = _cycles_ns(self.entry_cycles, self.clock_hz)
        self._tail_ns = _cycles_ns(self.tail_chain_cycles, self.clock_hz)
        self._exit_ns = _cycles_ns(self.exit_cycles, self.clock_hz)

        nexc = FIRST_IRQ + self.num_irqs
        irq_bits = ((1 << nexc) - 1) & ~((1 << FIRST_IRQ) - 1)
        system = _V7M_SYSTEM if self._v7m else _V6M_SYSTEM
        self._exists = irq_bits | sum(1 << e for e in system)
        pendable = sum(1 << e for e in (_V7M_PENDABLE if self._v7m else _V6M_PENDABLE))
        self._pendable = irq_bits | pendable
        self._clearable = self._pendable & ~(1 << NMI)  # v7-M has no NMIPENDCLR
        self._configurable = self._exists & ~sum(1 << e for e in FIXED_PRIORITY)
        self._enabled = sum(1 << e for e in system)  # ISER resets to 0
        self._prio = [0] * nexc
        for exc, prio in FIXED_PRIORITY.items():
            self._prio[exc] = prio
        self._pending = 0
        self._active = 0
        self._line = 0
        self._level = irq_bits  # MCU peripherals hold their request until cleared
        self._active_prio = NOEXC_PRIO
        self._primask = False
        self._faultmask = False
        self._basepri = 0
        self._prigroup = 0
        self._gmask = 0xFE
        self.coalesced = 0
        #: per exception number: entries, of which by tail-chaining, as a late arrival
        self.taken = [0] * nexc
        self.tail_chained = [0] * nexc
        self.late_arrivals = [0] * nexc
        self._chaining = False  # the last exception return tail-chains
        self._stacking_for = 0  # the exception stacking began for (0: none)
        self._notify: NotifySink = CallNotify(no_notify)
        self.state_sink: StateSink | None = None
        self.set_prigroup(prigroup)

    # -- priority arithmetic (QEMU nvic_gprio_mask / exc_group_prio) -----------------
    def _group(self, prio: int) -> int:
        return prio & self._gmask if prio > 0 else prio

    def _highest(self, candidates: int) -> int:
        """Highest-precedence exception in the bitmask ``candidates`` (lowest raw
        priority, i.e. group then subpriority, ties to the lowest number); 0 if none."""
        prio = self._prio
        best_exc, best = 0, NOEXC_PRIO
        while candidates:
            low = candidates & -candidates
            exc = low.bit_length() - 1
            if prio[exc] < best:
                best_exc, best = exc, prio[exc]
            candidates ^= low
        return best_exc

    def _active_group(self, active: int) -> int:
        exc = self._highest(active)
        return self._group(self._prio[exc]) if exc else NOEXC_PRIO

    def _exec_prio(self, active_prio: int, faultmask: bool) -> int:
        running = NOEXC_PRIO
        if self._basepri:
            running = self._basepri & self._gmask
        if self._primask:
            running = 0
        if faultmask:
            running = -1
        return min(running, active_prio)

    def _takeable(self, candidates: int, active_prio: int, faultmask: bool) -> int:
        """The exception in ``candidates`` that would be taken now, or 0."""
        exc = self._highest(candidates)
        if exc and self._group(self._prio[exc]) < self._exec_prio(active_prio, faultmask):
            return exc
        return 0

    # -- IrqController ----------------------------------------------------------------
    def attach(self, notify: Notify | NotifySink) -> None:
        self._notify = notify_sink(notify)

    def deliverable(self, cpu: int) -> bool:
        """Highest pending enabled exception has group priority < execution priority."""
        if cpu:
            self._bad_cpu(cpu)
        return (
            self._takeable(self._pending & self._enabled, self._active_prio, self._faultmask) != 0
        )

    def acknowledge(self, cpu: int) -> int:
        """End of stacking: the highest deliverable exception goes pending -> active
        (QEMU armv7m_nvic_acknowledge_irq).  Returns its exception number, or
        ``spurious`` (0) when nothing can be taken any more."""
        if cpu:
            self._bad_cpu(cpu)
        exc = self._takeable(self._pending & self._enabled, self._active_prio, self._faultmask)
        chained, self._chaining = self._chaining, False
        if not exc:
            return NO_EXCEPTION
        self.taken[exc] += 1
        if chained:
            self.tail_chained[exc] += 1
        elif self._stacking_for and exc != self._stacking_for:
            self.late_arrivals[exc] += 1
        self._stacking_for = 0
        bit = 1 << exc
        self._pending &= ~bit
        self._active |= bit
        self._state(exc)
        self._active_prio = min(self._active_prio, self._group(self._prio[exc]))
        return exc

    def eoi(self, cpu: int, intid: int) -> None:
        """Exception return from ``intid`` (QEMU armv7m_nvic_complete_irq): active ->
        inactive, or -> pending for a level source still asserted; active+pending ->
        pending.  Clears FAULTMASK unless returning from NMI."""
        if cpu:
            self._bad_cpu(cpu)
        bit = 1 << intid if type(intid) is int and intid > 0 else 0
        if not self._active & bit:
            raise IllegalExceptionReturn(
                f"NVIC exception return from {_label(intid)}, which is not active "
                "(UsageFault INVPC in hardware)"
            )
        self._active &= ~bit
        if self._line & self._level & bit:
            self._pending |= bit
        self._state(intid)
        if intid != NMI:
            self._faultmask = False
        self._active_prio = self._active_group(self._active)
        self._chaining = (
            self._takeable(self._pending & self._enabled, self._active_prio, self._faultmask) != 0
        )
        self._notify.notify(0)

    def deactivate(self, cpu: int, intid: int) -> None:
        """No separate deactivation on the NVIC: exception return does it."""
        return None

    def entry_ns(self, cpu: int, tail_chain: bool) -> int:
        """Stacking + vector fetch, or the tail-chain cost right after a return.
        Asked as stacking begins: notes the exception it begins for, so that
        :meth:`acknowledge` tells a late arrival."""
        if tail_chain:
            return self._tail_ns
        self._stacking_for = self._takeable(
            self._pending & self._enabled, self._active_prio, self._faultmask)
        return self._entry_ns

    def exit_ns(self, cpu: int, tail_chain: bool) -> int:
        """Unstacking; 0 when tail-chaining (the unstack is skipped)."""
        return 0 if tail_chain else self._exit_ns

    def tail_chain_pending(self, cpu: int, exc: int) -> bool:
        """Whether exception return from active ``exc`` would tail-chain: with ``exc``
        deactivated (and re-pended if its level source is still high, FAULTMASK
        cleared unless NMI), a pending exception could be taken at once."""
        if cpu:
            self._bad_cpu(cpu)
        bit = 1 << exc if type(exc) is int and exc > 0 else 0
        if not self._active & bit:
            raise IllegalExceptionReturn(f"NVIC {_label(exc)} is not active")
        pending = self._pending | (self._line & self._level & bit)
        active_prio = self._active_group(self._active & ~bit)
        faultmask = self._faultmask and exc == NMI
        return self._takeable(pending & self._enabled, active_prio, faultmask) != 0

    # -- device side --------------------------------------------------------------------
    def set_line(self, hwirq: int, level: bool, cpu: int | None = None) -> None:
        """Drive IRQn's input.  A rising edge pends the exception, also while it is
        active (QEMU set_irq_level: "Pulsing the IRQ will always run the handler
        once, and the handler will re-run until the level is low")."""
        if cpu:
            self._bad_cpu(cpu)
        if type(hwirq) is not int or not 0 <= hwirq < self.num_irqs:
            self._irq(hwirq)  # raises the field error
        bit = 1 << (FIRST_IRQ + hwirq)
        if not level:
            self._line &= ~bit
        elif not self._line & bit:
            self._line |= bit
            self._pend(bit)

    def _state(self, exc: int) -> None:
        """Report exception ``exc``'s pending and active bits to a listening sink."""
        sink = self.state_sink
        if sink is not None and sink.controller_state:
            sink.irq_state(0, exc, bool(self._pending >> exc & 1), bool(self._active >> exc & 1))

    def _pend(self, bit: int) -> None:
        if self._pending & bit:
            self.coalesced += 1
            return
        self._pending |= bit
        self._state(bit.bit_length() - 1)
        if self._enabled & bit:
            self._notify.notify(0)

    # -- configuration (NVIC/SCB registers) -----------------------------------------------
    def enable(self, irq: int) -> None:
        """NVIC_ISER: a pending interrupt becomes eligible."""
        bit = 1 << (FIRST_IRQ + self._irq(irq))
        self._enabled |= bit
        if self._pending & bit:
            self._notify.notify(0)

    def disable(self, irq: int) -> None:
        """NVIC_ICER: the interrupt can still pend, but is not taken."""
        self._enabled &= ~(1 << (FIRST_IRQ + self._irq(irq)))

    def set_level_sensitive(self, irq: int, level: bool) -> None:
        """Level source (holds its line until serviced: re-sampled at exception
        return and on ICPR) or pulse source (only its rising edges count)."""
        bit = 1 << (FIRST_IRQ + self._irq(irq))
        self._level = self._level | bit if level else self._level & ~bit

    def set_pending(self, exc: int) -> None:
        """NVIC_ISPR / STIR for interrupts; ICSR NMIPENDSET, PENDSVSET, PENDSTSET and
        SHCSR *PENDED for system exceptions.  Already pending: no change."""
        self._pend(self._check(exc, self._pendable, "cannot be pended by software"))

    def clear_pending(self, exc: int) -> None:
        """NVIC_ICPR, ICSR PENDSVCLR/PENDSTCLR: pending -> inactive, active+pending
        -> active; no change while a level source still asserts the line."""
        bit = self._check(exc, self._clearable, "cannot be cleared by software")
        if not self._line & self._level & bit:
            self._pending &= ~bit
            self._state(bit.bit_length() - 1)

    def set_priority(self, exc: int, prio: int) -> None:
        """NVIC_IPR / SHPR: 8-bit value, only the top ``priority_bits`` bits kept."""
        bit = self._check(exc, self._configurable, "has a fixed priority")
        prio = _int_field(f"priority of {_label(exc)}", prio, 0, 255)
        self._prio[exc] = prio & self._impl_mask
        if self._active & bit:
            self._active_prio = self._active_group(self._active)
        self._notify.notify(0)

    def set_prigroup(self, prigroup: int) -> None:
        """AIRCR.PRIGROUP: group priority bits [7:n+1], subpriority bits [n:0]."""
        if not self._v7m and prigroup != 0:
            raise NvicError(f"NVIC prigroup: {self.core} (ARMv6-M) has no PRIGROUP field")
        self._prigroup = _int_field("prigroup", prigroup, 0, 7)
        self._gmask = (0xFF << (prigroup + 1)) & 0xFF
        self._active_prio = self._active_group(self._active)
        self._notify.notify(0)

    # -- special registers (MSR/MRS, CPS) -------------------------------------------------
    @property
    def primask(self) -> bool:
        """PRIMASK: raises the execution priority to 0."""
        return self._primask

    @primask.setter
    def primask(self, value: bool) -> None:
        self._primask = _flag("primask", value)
        self._notify.notify(0)

    @property
    def faultmask(self) -> bool:
        """FAULTMASK (ARMv7-M): raises the execution priority to -1 (all but NMI)."""
        return self._faultmask

    @faultmask.setter
    def faultmask(self, value: bool) -> None:
        self._v7m_only("faultmask")
        self._faultmask = _flag("faultmask", value)
        self._notify.notify(0)

    @property
    def basepri(self) -> int:
        """BASEPRI (ARMv7-M): N != 0 masks priorities >= N; 0 masks nothing.  Only
        the implemented bits are kept, as for the priority registers."""
        return self._basepri

    @basepri.setter
    def basepri(self, value: int) -> None:
        self._v7m_only("basepri")
        self._basepri = _int_field("basepri", value, 0, 255) & self._impl_mask
        self._notify.notify(0)

    def set_basepri_max(self, value: int) -> None:
        """MSR BASEPRI_MAX: written only if it raises the masking (non-zero and
        BASEPRI is 0 or the new value is lower)."""
        self._v7m_only("basepri_max")
        new = _int_field("basepri_max", value, 0, 255) & self._impl_mask
        if new and (not self._basepri or new < self._basepri):
            self._basepri = new

    @property
    def prigroup(self) -> int:
        """AIRCR.PRIGROUP (write with :meth:`set_prigroup`)."""
        return self._prigroup

    # -- inspection -----------------------------------------------------------------------
    def execution_priority(self) -> int:
        """Current execution priority, -1..0x100 (QEMU nvic_exec_prio)."""
        return self._exec_prio(self._active_prio, self._faultmask)

    def priority(self, exc: int) -> int:
        """Priority as read back (unimplemented bits zero; negative if fixed)."""
        self._check(exc, self._exists, "does not exist")
        return self._prio[exc]

    def group_priority(self, exc: int) -> int:
        """Group (pre-emption) priority field of ``exc``'s priority."""
        return self._group(self.priority(exc))

    def subpriority(self, exc: int) -> int:
        """Subpriority field: bits [PRIGROUP:0] of ``exc``'s priority."""
        prio = self.priority(exc)
        return prio & ~self._gmask & 0xFF if prio > 0 else 0

    def state(self, exc: int) -> str:
        """One of ``inactive``, ``pending``, ``active``, ``active+pending``."""
        self._check(exc, self._exists, "does not exist")
        return _STATES[(self._pending >> exc & 1) | (self._active >> exc & 1) << 1]

    # -- validation -----------------------------------------------------------------------
    def _check(self, exc: int, allowed: int, why: str) -> int:
        last = FIRST_IRQ + self.num_irqs - 1
        _int_field("exception number", exc, 1, last)
        bit = 1 << exc
        if not self._exists & bit:
            raise NvicError(f"NVIC {_label(exc)} is reserved or absent on {self.core}")
        if not allowed & bit:
            raise NvicError(f"NVIC {_label(exc)} {why}")
        return bit

    def _irq(self, irq: int) -> int:
        return _int_field("IRQn", irq, 0, self.num_irqs - 1)

    def _v7m_only(self, field: str) -> None:
        if not self._v7m:
            raise NvicError(f"NVIC {field}: not implemented on {self.core} (ARMv6-M)")

    def _bad_cpu(self, cpu: int) -> None:
        raise NvicError(f"NVIC has a single CPU interface (cpu 0), got cpu {cpu}")
