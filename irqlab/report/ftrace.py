"""Write events in the ftrace ``trace`` text format, so that irqlab's own trace
reader and the usual tools read simulated runs like real captures.

Line layout (kernel/trace/trace_output.c ``trace_print_context``):
``"%16s-%-7d "`` task-pid, ``"[%03d] "`` CPU, the five latency flags
(irqs-off, need-resched, hardirq/softirq, preempt-depth, migrate-disable), the
timestamp ``" %5lu.%06lu"`` in seconds.microseconds (``ns2usecs`` rounds to the
nearest us), ``": "``, the event name, ``": "`` and the tracepoint's print
format (include/trace/events/irq.h, arch/x86/include/asm/trace/irq_vectors.h):

* ``irq_handler_entry: irq=%d name=%s``
* ``irq_handler_exit: irq=%d ret=handled|unhandled`` (any non-zero ret prints handled)
* ``softirq_raise|entry|exit: vec=%u [action=%s]``
* ``<vector>_entry|exit: vector=%d`` (e.g. ``local_timer_entry``)

The task is always ``<idle>-0`` (the simulator has no tasks).  Flags follow the
context the event runs in: ``d.h1.`` in a hard IRQ, ``d.H1.`` in a hard IRQ that
interrupted a softirq, ``..s1.`` in a softirq, ``d..1.`` elsewhere.
``IRQ_RAISE`` has no tracepoint and is skipped.  The header is the ``trace``
file's for the nop tracer, with the ``entries-in-buffer/entries-written: N/N
#P:cpus`` line: the body streams to an anonymous temporary file and is copied
behind the header at :meth:`close`, into the path or the open file given.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import IO

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_NAMES,
    SOFTIRQ_TRACEPOINTS,
    VECTOR_ENTRY,
    VECTOR_EXIT,
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



class FtraceTextWriter(TextSink):
    """Event sink: ``feed`` has the signature of :meth:`IrqStats.feed`."""

    def __init__(self, path_or_file: str | Path | IO[str], cpus: int) -> None:
        self._dest = path_or_file
        super().__init__(tempfile.TemporaryFile("w+", encoding="utf-8"))  # noqa: SIM115
        self.cpus = cpus
        self.written = 0
        self.skipped = 0
        self._hard_depth: dict[int, int] = {}
        self._in_softirq: set[int] = set()

    def _flags(self, cpu: int) -> str:
        if self._hard_depth.get(cpu, 0):
            return "d.H1." if cpu in self._in_softirq else "d.h1."
        return "..s1." if cpu in self._in_softirq else "d..1."

    def _write(self, ts: int, cpu: int, event: str, fields: str) -> None:
        secs, usecs = divmod((ts + 500) // 1000, 1_000_000)
        self._out.write(f"          <idle>-0       [{cpu:03d}] {self._flags(cpu)} "
                        f"{secs:5d}.{usecs:06d}: {event}: {fields}\n")
        self.written += 1

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
