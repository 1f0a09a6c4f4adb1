"""Write events in the ftrace ``trace`` text format, so that irqlab's own trace
reader and the usual tools (trace-cmd, KernelShark, Perfetto's importer) read
simulated runs like real captures.

Line layout (kernel/trace/trace_output.c ``trace_print_context``):
``"%16s-%-7d "`` task-pid, ``"[%03d] "`` CPU, the five latency flags
(irqs-off, need-resched, hardirq/softirq, preempt-depth, migrate-disable), the
timestamp ``" %5lu.%06lu"`` in seconds.microseconds (``ns2usecs`` rounds to the
nearest us; with ``ns=True`` ``%5lu.%09lu``, the nanoseconds ``trace-cmd report
-t`` prints), ``": "``, the event name, ``": "`` and the tracepoint's print
format (include/trace/events/irq.h, sched.h, workqueue.h,
arch/x86/include/asm/trace/irq_vectors.h):

* ``irq_handler_entry: irq=%d name=%s``
* ``irq_handler_exit: irq=%d ret=handled|unhandled`` (any non-zero ret prints handled)
* ``softirq_raise|entry|exit: vec=%u [action=%s]``
* ``<vector>_entry|exit: vector=%d`` (e.g. ``local_timer_entry``)
* ``tasklet_entry|exit: tasklet=%ps function=%ps``
* ``sched_wakeup: comm=%s pid=%d prio=%d target_cpu=%03d``
* ``sched_switch: prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s ==>
  next_comm=%s next_pid=%d next_prio=%d`` (one line)
* ``workqueue_queue_work: work struct=%p function=%ps workqueue=%s req_cpu=%d cpu=%d``
* ``workqueue_execute_start|end: work struct %p: function %ps``

The task column names the task each CPU runs, as the ``sched_switch`` events
before the line set it (``<idle>-0`` until the first); a comm is cut to
``TASK_COMM_LEN - 1`` = 15 characters as the kernel stores it.  A task's prio
is the one its last ``sched_wakeup`` printed (120 for one never seen woken).
Flags follow the context the event runs in: ``d.h1.`` in a hard IRQ,
``d.H1.`` in a hard IRQ that interrupted a softirq, ``..s1.`` in a softirq,
``d..1.`` elsewhere.  ``IRQ_RAISE`` and the DPC events have no Linux
tracepoint and are skipped.  The header is the ``trace`` file's for the nop
tracer, with the ``entries-in-buffer/entries-written: N/N #P:cpus`` line: the
body streams to an anonymous temporary file and is copied behind the header at
:meth:`close`, into the path or the open file given.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import IO

from irqlab.events import (
    DEFAULT_PRIO,
    IDLE_PID,
    IRQ_ENTRY,
    IRQ_EXIT,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_NAMES,
    SOFTIRQ_TRACEPOINTS,
    TASK_REPORT_MAX,
    TASK_STATE_LETTERS,
    TASKLET_ENTRY,
    TASKLET_EXIT,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    WORK_END,
    WORK_QUEUE,
    WORK_START,
    idle_comm,
)
from irqlab.report.sink import TextSink

HEADER_START = "# tracer: nop\n#\n"
HEADER_COLUMNS = """\
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
"""

TASK_COMM_LEN = 16  # include/linux/sched.h: comm holds 15 characters and a NUL
SYSTEM_WQ = "events"  # the system workqueue's name (kernel/workqueue.c alloc_workqueue("events"))


def task_state(state: int) -> str:
    """sched_switch's ``prev_state`` text: the TASK_REPORT letters joined by
    ``|``, ``R`` for none, ``+`` after a preempted task's ``R``."""
    letters = "|".join(c for bit, c in TASK_STATE_LETTERS if state & bit) or "R"
    return letters + "+" if state & TASK_REPORT_MAX else letters


def work_struct(work: int) -> str:
    """A work item's identity as ``%p`` prints a pointer (16 hex digits)."""
    return f"{work & 0xFFFFFFFFFFFFFFFF:016x}"


class FtraceTextWriter(TextSink):
    """Event sink: ``feed`` has the signature of :meth:`IrqStats.feed`."""

    def __init__(self, path_or_file: str | Path | IO[str], cpus: int, ns: bool = False) -> None:
        self._dest = path_or_file
        super().__init__(tempfile.TemporaryFile("w+", encoding="utf-8"))  # noqa: SIM115
        self.cpus = cpus
        self.ns = ns
        self.written = 0
        self.skipped = 0
        self._hard_depth: dict[int, int] = {}
        self._in_softirq: set[int] = set()
        #: per CPU: (comm, pid) of the running task, and its task column
        self._task: dict[int, tuple[str, int]] = {}
        self._column: dict[int, str] = {}
        self._prio: dict[int, int] = {}  # pid -> prio of its last wake-up

    def _flags(self, cpu: int) -> str:
        if self._hard_depth.get(cpu, 0):
            return "d.H1." if cpu in self._in_softirq else "d.h1."
        return "..s1." if cpu in self._in_softirq else "d..1."

    def _write(self, ts: int, cpu: int, event: str, fields: str) -> None:
        if self.ns:
            secs, frac = divmod(ts, 1_000_000_000)
            stamp = f"{secs:5d}.{frac:09d}"
        else:
            secs, usecs = divmod((ts + 500) // 1000, 1_000_000)
            stamp = f"{secs:5d}.{usecs:06d}"
        column = self._column.get(cpu, "          <idle>-0      ")
        self._out.write(f"{column} [{cpu:03d}] {self._flags(cpu)} {stamp}: {event}: {fields}\n")
        self.written += 1

    def _running(self, cpu: int) -> tuple[str, int]:
        return self._task.get(cpu, (idle_comm(cpu), IDLE_PID))

    def _switch(self, ts: int, cpu: int, pid: int, state: int, comm: str) -> None:
        prev_comm, prev_pid = self._running(cpu)
        comm = comm[:TASK_COMM_LEN - 1]
        self._write(ts, cpu, "sched_switch",
                    f"prev_comm={prev_comm} prev_pid={prev_pid} "
                    f"prev_prio={self._prio.get(prev_pid, DEFAULT_PRIO)} "
                    f"prev_state={task_state(state)} ==> next_comm={comm} next_pid={pid} "
                    f"next_prio={self._prio.get(pid, DEFAULT_PRIO)}")
        self._task[cpu] = (comm, pid)
        shown = "<idle>" if pid == IDLE_PID else comm  # trace_find_cmdline
        self._column[cpu] = f"{shown:>16}-{pid:<7d}"

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        """Write the line of one record (IRQ_RAISE and malformed records are skipped)."""
        if ts_ns < 0 or cpu < 0:
            self.skipped += 1
            return
        if kind in (IRQ_ENTRY, VECTOR_ENTRY):
            self._hard_depth[cpu] = self._hard_depth.get(cpu, 0) + 1
            if kind == IRQ_ENTRY:
                self._write(ts_ns, cpu, "irq_handler_entry", f"irq={irq} name={name}")
            else:
                self._write(ts_ns, cpu, f"{name}_entry", f"vector={value}")
        elif kind in (IRQ_EXIT, VECTOR_EXIT):
            if kind == IRQ_EXIT:
                ret = "handled" if value else "unhandled"
                self._write(ts_ns, cpu, "irq_handler_exit", f"irq={irq} ret={ret}")
            else:
                self._write(ts_ns, cpu, f"{name}_exit", f"vector={value}")
            self._hard_depth[cpu] = max(self._hard_depth.get(cpu, 0) - 1, 0)
        elif kind == SCHED_SWITCH:
            self._switch(ts_ns, cpu, irq, value, name)
        elif kind == SCHED_WAKEUP:
            self._prio[irq] = value
            self._write(ts_ns, cpu, "sched_wakeup", f"comm={name[:TASK_COMM_LEN - 1]} pid={irq} "
                        f"prio={value} target_cpu={cpu:03d}")
        elif kind == WORK_QUEUE:
            self._write(ts_ns, cpu, "workqueue_queue_work",
                        f"work struct={work_struct(irq)} function={name} workqueue={SYSTEM_WQ} "
                        f"req_cpu={value} cpu={value}")
        elif kind in (WORK_START, WORK_END):
            event = "workqueue_execute_start" if kind == WORK_START else "workqueue_execute_end"
            self._write(ts_ns, cpu, event, f"work struct {work_struct(irq)}: function {name}")
        elif kind in (TASKLET_ENTRY, TASKLET_EXIT):
            event = "tasklet_entry" if kind == TASKLET_ENTRY else "tasklet_exit"
            self._write(ts_ns, cpu, event, f"tasklet={name} function={name}")
        elif kind in SOFTIRQ_TRACEPOINTS and 0 <= value < len(SOFTIRQ_NAMES):
            if kind == SOFTIRQ_ENTRY:
                self._in_softirq.add(cpu)
            self._write(ts_ns, cpu, SOFTIRQ_TRACEPOINTS[kind],
                        f"vec={value} [action={SOFTIRQ_NAMES[value]}]")
            if kind == SOFTIRQ_EXIT:
                self._in_softirq.discard(cpu)
        else:
            self.skipped += 1

    def close(self) -> None:
        """Write the header with the entry count, then the body, to the destination."""
        body = self._out
        try:
            body.seek(0)
            if isinstance(self._dest, str | Path):
                with open(self._dest, "w", encoding="utf-8") as out:
                    self._finish(out, body)
            else:
                self._finish(self._dest, body)
                self._dest.flush()
        finally:
            body.close()  # the anonymous scratch body vanishes with it

    def _finish(self, out: IO[str], body: IO[str]) -> None:
        out.write(HEADER_START)
        out.write(f"# entries-in-buffer/entries-written: {self.written}/{self.written}"
                  f"   #P:{self.cpus}\n#\n")
        out.write(HEADER_COLUMNS)
        shutil.copyfileobj(body, out)
