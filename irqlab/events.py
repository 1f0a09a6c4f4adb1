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
SCHED_WAKEUP     sched:sched_wakeup                        irq (pid), value (prio), name (comm)
SCHED_SWITCH     sched:sched_switch                        irq (next_pid), value (prev_state),
                                                           name (next_comm)
WORK_QUEUE       workqueue:workqueue_queue_work            irq (work), value (cpu), name (function)
WORK_START       workqueue:workqueue_execute_start         irq (work), name (function)
WORK_END         workqueue:workqueue_execute_end           irq (work), name (function)
TASKLET_ENTRY    irq:tasklet_entry                         name (function)
TASKLET_EXIT     irq:tasklet_exit                          name (function)
IRQ_STATE        (none; simulator only: controller state)  irq (vector / INTID / exception),
                                                           value (pending | active << 1)
NAPI_ENTRY       (none; simulator only: NAPI poll start)   name (NAPI instance)
NAPI_EXIT        (none; its end, as napi:napi_poll)        value (work done), name (instance)
===============  ========================================  =====================

The DPC records are Windows' deferred procedure calls as the kernel's ETW
session reports them (WPA's "DPC/ISR" table): ``name`` is the routine as WPA
shows it, ``module!function`` (``ndis.sys!ndisMiniportDpc``); a queue record's
``irq`` is the IRQ whose ISR queued it (-1 if none).

Timestamps are integer nanoseconds.  ``irq`` is -1 where the event has no IRQ
number; the scheduler and workqueue events use it for the task's pid and the
``work_struct``'s identity (the tracepoints' ``%p``), the only integer fields
they need beside ``value``.  A ``sched_switch`` names the task switched to;
the one switched from is the previous switch's on that CPU (``swapper/N``,
pid 0, before the first), as ftrace readers rebuild it.  Counter snapshots (``/proc/interrupts``, ``/proc/softirqs``) are
:class:`CounterSnapshot` records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final, NamedTuple


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
    SCHED_WAKEUP = 11
    SCHED_SWITCH = 12
    WORK_QUEUE = 13
    WORK_START = 14
    WORK_END = 15
    TASKLET_ENTRY = 16
    TASKLET_EXIT = 17
    IRQ_STATE = 18
    NAPI_ENTRY = 19
    NAPI_EXIT = 20


# Plain ints for the hot path (IntEnum attribute access is slow); Final, so that
# the compiled modules (irqlab/_compiled.py) use them as constants, not globals
# looked up at each use.
IRQ_RAISE: Final = 0
IRQ_ENTRY: Final = 1
IRQ_EXIT: Final = 2
SOFTIRQ_RAISE: Final = 3
SOFTIRQ_ENTRY: Final = 4
SOFTIRQ_EXIT: Final = 5
VECTOR_ENTRY: Final = 6
VECTOR_EXIT: Final = 7
DPC_QUEUE: Final = 8
DPC_ENTRY: Final = 9
DPC_EXIT: Final = 10
SCHED_WAKEUP: Final = 11
SCHED_SWITCH: Final = 12
WORK_QUEUE: Final = 13
WORK_START: Final = 14
WORK_END: Final = 15
TASKLET_ENTRY: Final = 16
TASKLET_EXIT: Final = 17
IRQ_STATE: Final = 18
NAPI_ENTRY: Final = 19
NAPI_EXIT: Final = 20

# sched_switch prev_state (include/trace/events/sched.h __trace_sched_switch_state:
# the TASK_REPORT bits, TASK_REPORT_MAX = 0x100 for a preempted task, printed "R+").
TASK_RUNNING: Final = 0
TASK_INTERRUPTIBLE: Final = 0x01
EXIT_DEAD: Final = 0x10
TASK_REPORT_MAX: Final = 0x100
#: prev_state letters of the TASK_REPORT bits (sched_switch's __print_flags)
TASK_STATE_LETTERS = ((0x01, "S"), (0x02, "D"), (0x04, "T"), (0x08, "t"), (0x10, "X"),
                      (0x20, "Z"), (0x40, "P"), (0x80, "I"))
IDLE_PID: Final = 0
#: the kernel prio of a SCHED_NORMAL task at nice 0 (include/linux/sched/prio.h DEFAULT_PRIO)
DEFAULT_PRIO = 120


def idle_comm(cpu: int) -> str:
    """The idle task's comm on ``cpu`` (``swapper/N``; ftrace prints pid 0 as ``<idle>``)."""
    return f"swapper/{cpu}"

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


def _no_clock() -> int:
    return 0


class Tracepoints:
    """The simulator's tracepoints: ``emit`` reaches every connected sink (a
    no-op until :meth:`connect`, as a disabled tracepoint's static key).  One
    per machine, handed to the kernel, the devices and the interrupt
    controller when they are built; ``clock`` gives the time of the events the
    hardware reports without one (:meth:`irq_state`)."""

    __slots__ = ("clock", "controller_state", "emit", "enabled")

    def __init__(self, clock: Callable[[], int] = _no_clock) -> None:
        self.emit: Emit = _no_emit
        self.clock = clock
        #: some sink is connected (hardware skips ``irq_raise`` otherwise)
        self.enabled = False
        #: some sink wants the controller's pending/active bits (``IRQ_STATE``)
        self.controller_state = False

    def connect(self, feeds: Sequence[Emit], controller_state: bool = False) -> None:
        """Send every event to each of ``feeds`` (and only to them) from now on;
        with ``controller_state`` the interrupt controller's state changes too."""
        self.enabled = bool(feeds)
        self.controller_state = bool(feeds) and controller_state
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

    def irq_state(self, cpu: int, intid: int, pending: bool, active: bool) -> None:
        """The controller's bits of ``intid`` on ``cpu`` changed (``hw.controller.StateSink``)."""
        self.emit(self.clock(), cpu, IRQ_STATE, intid, pending | active << 1, "")


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
    #: ``/proc/irq/N/`` by IRQ label: file name (:data:`IRQ_FILES`) -> its text
    #: as the kernel prints it, without the final newline
    irq_files: dict[str, dict[str, str]] = field(default_factory=dict)


IRQ_FILES = ("smp_affinity", "smp_affinity_list", "effective_affinity",
             "effective_affinity_list", "node", "spurious")
"""The files of ``/proc/irq/N/`` a snapshot keeps (``kernel/irq/proc.c``)."""


#: /proc/interrupts and /proc/softirqs counters are ``unsigned int`` (``%10u``)
COUNTER_WRAP = 1 << 32


def _delta(a: list[int], b: list[int]) -> list[int]:
    """Per-cell ``b - a``; a cell that went down wrapped around 2**32."""
    a = a + [0] * (len(b) - len(a))
    return [(y - x) % COUNTER_WRAP for x, y in zip(a, b, strict=False)]


def diff_snapshots(a: CounterSnapshot, b: CounterSnapshot) -> CounterSnapshot:
    """Counts between two snapshots: ``b - a`` per cell (rows only in ``b`` keep
    their values; rows only in ``a`` are dropped).  Descriptive fields, the
    ``/proc/irq`` files and the timestamp come from ``b``."""
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
    out.irq_files = {label: dict(files) for label, files in b.irq_files.items()}
    return out
