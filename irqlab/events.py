"""The one event model shared by simulated runs, live capture and trace files.

Records mirror the Linux tracepoints (``include/trace/events/irq.h`` and
``arch/x86/include/asm/trace/irq_vectors.h``) so that a simulated run and a real
capture feed exactly the same analysis code:

===============  ========================================  =====================
kind             tracepoint                                fields used
===============  ========================================  =====================
IRQ_RAISE        (none; simulator only: device asserted)   irq
IRQ_ENTRY        irq:irq_handler_entry                     irq, name (action)
IRQ_EXIT         irq:irq_handler_exit                      irq, value (ret)
SOFTIRQ_RAISE    irq:softirq_raise                         value (vec)
SOFTIRQ_ENTRY    irq:softirq_entry                         value (vec)
SOFTIRQ_EXIT     irq:softirq_exit                          value (vec)
VECTOR_ENTRY     irq_vectors:<name>_entry                  value (vector), name
VECTOR_EXIT      irq_vectors:<name>_exit                   value (vector), name
DPC_QUEUE        (none: ``KeInsertQueueDpc`` succeeded)    irq (of the ISR), name
DPC_ENTRY        ETW PerfInfo ``DPC`` (its start)          name (routine)
DPC_EXIT         ETW PerfInfo ``DPC`` (start + duration)   name (routine)
===============  ========================================  =====================

The DPC records are Windows' deferred procedure calls as the kernel's ETW
session reports them (WPA's "DPC/ISR" table): ``name`` is the routine as WPA
shows it, ``module!function`` (``ndis.sys!ndisMiniportDpc``); a queue record's
``irq`` is the IRQ whose ISR queued it (-1 if none).

Timestamps are integer nanoseconds.  ``irq`` is -1 where the event has no IRQ
number.  Counter snapshots (``/proc/interrupts``, ``/proc/softirqs``) are
:class:`CounterSnapshot` records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple


class Kind(IntEnum):
    IRQ_RAISE = 0
    IRQ_ENTRY = 1
    IRQ_EXIT = 2
    SOFTIRQ_RAISE = 3
    SOFTIRQ_ENTRY = 4
    SOFTIRQ_EXIT = 5
    VECTOR_ENTRY = 6
    VECTOR_EXIT = 7
    DPC_QUEUE = 8
    DPC_ENTRY = 9
    DPC_EXIT = 10


# Plain ints for the hot path (IntEnum attribute access is slow).
IRQ_RAISE, IRQ_ENTRY, IRQ_EXIT = 0, 1, 2
SOFTIRQ_RAISE, SOFTIRQ_ENTRY, SOFTIRQ_EXIT = 3, 4, 5
VECTOR_ENTRY, VECTOR_EXIT = 6, 7
DPC_QUEUE, DPC_ENTRY, DPC_EXIT = 8, 9, 10

#: the softirq tracepoints (include/trace/events/irq.h) of each event kind
SOFTIRQ_TRACEPOINTS: dict[int, str] = {
    SOFTIRQ_RAISE: "softirq_raise", SOFTIRQ_ENTRY: "softirq_entry", SOFTIRQ_EXIT: "softirq_exit",
}
SOFTIRQ_KINDS: dict[str, int] = {name: kind for kind, name in SOFTIRQ_TRACEPOINTS.items()}

# Softirq vectors in kernel order (include/linux/interrupt.h, NR_SOFTIRQS = 10).
SOFTIRQ_NAMES: tuple[str, ...] = (
    "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK",
    "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
)

# x86 system vectors -> /proc/interrupts row label (arch/x86/kernel/irq.c
# arch_show_interrupts; vectors from arch/x86/include/asm/irq_vectors.h).
VECTOR_ROWS: dict[str, str] = {
    "local_timer": "LOC",
    "spurious_apic": "SPU",
    "error_apic": "ERR",
    "reschedule": "RES",
    "call_function": "CAL",
    "call_function_single": "CAL",
    "irq_work": "IWI",
    "thermal_apic": "TRM",
    "threshold_apic": "THR",
    "deferred_error_apic": "DFR",
    "x86_platform_ipi": "PLT",
}


# /proc/interrupts architecture rows and their descriptions, in the kernel's order
# (arch/x86/kernel/irq.c arch_show_interrupts; ERR and MIS are single global counts).
X86_ROWS: dict[str, str] = {
    "NMI": "Non-maskable interrupts",
    "LOC": "Local timer interrupts",
    "SPU": "Spurious interrupts",
    "PMI": "Performance monitoring interrupts",
    "IWI": "IRQ work interrupts",
    "RTR": "APIC ICR read retries",
    "PLT": "Platform interrupts",
    "RES": "Rescheduling interrupts",
    "CAL": "Function call interrupts",
    "TLB": "TLB shootdowns",
    "TRM": "Thermal event interrupts",
    "THR": "Threshold APIC interrupts",
    "DFR": "Deferred Error APIC interrupts",
    "MCE": "Machine check exceptions",
    "MCP": "Machine check polls",
    "HYP": "Hypervisor callback interrupts",
    "HRE": "Hyper-V reenlightenment interrupts",
    "HVS": "Hyper-V stimer0 interrupts",
    "ERR": "",
    "MIS": "",
    "PIN": "Posted-interrupt notification event",
    "NPI": "Nested posted-interrupt event",
    "PIW": "Posted-interrupt wakeup event",
}


#: an event sink's ``feed``: (ts_ns, cpu, kind, irq, value, name)
Emit = Callable[[int, int, int, int, int, str], None]


def _no_emit(ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
    return None


class Tracepoints:
    """The simulator's tracepoints: ``emit`` reaches every connected sink (a
    no-op until :meth:`connect`, as a disabled tracepoint's static key).  One
    per machine, handed to the kernel and the devices when they are built."""

    __slots__ = ("emit", "enabled")

    def __init__(self) -> None:
        self.emit: Emit = _no_emit
        #: some sink is connected (hardware skips ``irq_raise`` otherwise)
        self.enabled = False

    def connect(self, feeds: Sequence[Emit]) -> None:
        """Send every event to each of ``feeds`` (and only to them) from now on."""
        self.enabled = bool(feeds)
        if not feeds:
            self.emit = _no_emit
        elif len(feeds) == 1:
            self.emit = feeds[0]
        else:
            def fan_out(ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
                for feed in feeds:
                    feed(ts, cpu, kind, irq, value, name)

            self.emit = fan_out

    def irq_raise(self, ts_ns: int, cpu: int, irq: int) -> None:
        """A device raised the signal of ``irq`` (``hw.device.RaiseSink``)."""
        self.emit(ts_ns, cpu, IRQ_RAISE, irq, 0, "")


class Event(NamedTuple):
    """One trace record.  A tuple, so that millions of them stay cheap."""

    ts_ns: int
    cpu: int
    kind: int
    irq: int = -1
    value: int = 0
    name: str = ""


@dataclass
class CounterRow:
    """One row of ``/proc/interrupts`` (kernel/irq/proc.c ``show_interrupts``).

    ``label`` is the row key as printed before the colon (``"24"``, ``"LOC"``,
    ``"IPI0"``, ``"Err"``).  Absent fields are ``None``.
    """

    label: str
    per_cpu: list[int]
    chip: str | None = None
    hwirq: str | None = None
    trigger: str | None = None
    flow: str | None = None
    name: str | None = None
    handlers: list[str] | None = None

    @property
    def total(self) -> int:
        return sum(self.per_cpu)


@dataclass
class CounterSnapshot:
    """Counters as ``/proc/interrupts`` and ``/proc/softirqs`` show them."""

    cpus: int
    rows: dict[str, CounterRow] = field(default_factory=dict)
    softirqs: dict[str, list[int]] = field(default_factory=dict)
    ts_ns: int | None = None


#: /proc/interrupts and /proc/softirqs counters are ``unsigned int`` (``%10u``)
COUNTER_WRAP = 1 << 32


def _delta(a: list[int], b: list[int]) -> list[int]:
    """Per-cell ``b - a``; a cell that went down wrapped around 2**32."""
    a = a + [0] * (len(b) - len(a))
    return [(y - x) % COUNTER_WRAP for x, y in zip(a, b, strict=False)]


def diff_snapshots(a: CounterSnapshot, b: CounterSnapshot) -> CounterSnapshot:
    """Counts between two snapshots: ``b - a`` per cell (rows only in ``b`` keep
    their values; rows only in ``a`` are dropped).  Descriptive fields and the
    timestamp come from ``b``."""
    out = CounterSnapshot(cpus=b.cpus, ts_ns=b.ts_ns)
    for label, row in b.rows.items():
        old = a.rows.get(label)
        per_cpu = list(row.per_cpu) if old is None else _delta(old.per_cpu, row.per_cpu)
        out.rows[label] = CounterRow(
            label, per_cpu, chip=row.chip, hwirq=row.hwirq, trigger=row.trigger,
            flow=row.flow, name=row.name,
            handlers=None if row.handlers is None else list(row.handlers),
        )
    for name, counts in b.softirqs.items():
        old_counts = a.softirqs.get(name)
        out.softirqs[name] = list(counts) if old_counts is None else _delta(old_counts, counts)
    return out
