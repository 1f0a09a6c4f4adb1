"""What an OS personality tells the report: which sections it is shown with,
its own words for the report's generic terms, and the facts no event carries.

Plain data, so that the simulator's personalities (``irqlab/os``) offer it and
the report model (``irqlab/analysis``) and its renderers (``irqlab/report``)
read it without importing each other.  A capture or a trace file is a Linux
machine's: :data:`LINUX` is the default view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Linux's ``/proc/interrupts`` table
PROC_INTERRUPTS = "proc_interrupts"
#: Linux's softirqs: ``/proc/softirqs``, their distributions, the softirq time
SOFTIRQS = "softirqs"
#: Windows: ISRs and DPCs per driver, as WPA's DPC/ISR table and LatencyMon's drivers tab
ISR_DPC = "isr_dpc"
#: Cortex-M: exceptions per CMSIS handler with their tail-chained and late-arrival entries
NVIC = "nvic"
#: every section a personality may offer, in page order
SECTIONS = (PROC_INTERRUPTS, SOFTIRQS, ISR_DPC, NVIC)

#: the generic terms of the report: ``/proc/stat``'s CPU contexts, and
#: ``hardirq`` (the ``*_time_ns`` and ``*_cpu_share`` keys)
TERMS = ("user", "system", "irq", "softirq", "idle", "hardirq")


@dataclass(frozen=True)
class OsView:
    """``os``: the machine's ``machine.os``.  ``sections``: what the report shows
    besides the OS-neutral parts (rates, distributions, CPU time, warnings, log).
    ``terms``: the OS's word for each of :data:`TERMS` it names differently
    (JSON keys and column names).  ``facts``: per-section data from the
    machine (``isr_dpc``: the driver and IRQL of each interrupt row; ``nvic``:
    the controller's counts per exception)."""

    os: str = "linux"
    sections: tuple[str, ...] = (PROC_INTERRUPTS, SOFTIRQS)
    terms: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def term(self, key: str) -> str:
        """The OS's name for the generic ``key`` (``softirq`` -> ``dpc`` on Windows)."""
        return self.terms.get(key, key)


LINUX = OsView()
"""Linux, and every capture and trace file."""
