"""What an OS personality is to the machine builder, and the kernel every
personality is built on.

A personality is constructed once per machine, by one hook
(``PERSONALITIES[machine.os](machine, board)``), and builds its kernel there
with its own interrupt entry and tick policy: none patches another's
attributes.  ``finish`` runs after the devices are added."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from irqlab.hw.nvic import EXCEPTION_NAMES, FIRST_IRQ, Nvic
from irqlab.kernel.kernel import IrqEntry, Kernel
from irqlab.kernel.topology import Topology
from irqlab.osview import OsView

if TYPE_CHECKING:
    from irqlab.hw.remapping import RemapUnit
    from irqlab.kernel.action import Handler
    from irqlab.machine.machine import Machine
    from irqlab.platform.base import Board


class Personality(Protocol):
    #: the scenario's ``machine.os``
    name: str
    kernel: Kernel

    def finish(self, m: Machine) -> None:
        """After the devices: what the OS sets up once its drivers are loaded."""

    def iommu_fault_isr(self, m: Machine, unit: RemapUnit) -> tuple[Handler | None, Handler | None]:
        """The handler and thread function of the IOMMU's fault / event interrupt."""

    def results(self) -> list[dict[str, Any]] | None:
        """Rows of the report's results table, in the OS's own terms."""

    def report_view(self) -> OsView:
        """The one hook that shapes the report: the sections this OS is shown
        with, its words for the generic terms, and the machine's facts for
        those sections (:mod:`irqlab.osview`)."""


def nvic_facts(k: Kernel) -> dict[str, Any] | None:
    """On a Cortex-M, the NVIC's counts per exception that was taken, for the
    ``nvic`` section: exception number, IRQn (None for a system exception),
    the ``/proc``-style row label that names its CMSIS handler, priority, and
    how many entries were tail-chained or late arrivals.  None on another
    controller."""
    nvic = k.ctrl
    if not isinstance(nvic, Nvic):
        return None
    labels = {FIRST_IRQ + d.hwirq: str(d.irq) for d in k.descs.values()}
    rows = [{"exception": exc, "irqn": exc - FIRST_IRQ if exc >= FIRST_IRQ else None,
             "label": labels.get(exc) or EXCEPTION_NAMES.get(exc, str(exc)),
             "priority": nvic.priority(exc), "taken": taken,
             "tail_chained": nvic.tail_chained[exc], "late_arrivals": nvic.late_arrivals[exc]}
            for exc, taken in enumerate(nvic.taken) if taken]
    return {"exceptions": rows,
            "tail_chained": sum(r["tail_chained"] for r in rows),
            "late_arrivals": sum(r["late_arrivals"] for r in rows)}


def os_kernel(m: Machine, board: Board, *, irq_nesting: bool = False, tick_softirq: bool = True,
              irq_entry: IrqEntry | None = None) -> Kernel:
    """The kernel of ``m`` on ``board``: ``irq_nesting`` is the OS's choice
    where the controller leaves it to the OS; the per-CPU timer hardware
    fires when the earliest hrtimer expires.  On a host with guests the
    interrupt entry is the hypervisor's (a VM exit first, ``irqlab.virt``)."""
    ms = m.spec.machine
    t = m.spec.timer
    return Kernel(
        m.engine, board.ctrl, ms.cpus, arch=m.platform, hz=ms.hz,
        irq_nesting=irq_nesting if board.irq_nesting is None else board.irq_nesting,
        split_eoi=board.split_eoi, eoi_on_return=board.eoi_on_return,
        tail_chaining=board.tail_chaining, save_ns=ms.save_cost, restore_ns=ms.restore_cost,
        atomic_sleep=ms.atomic_sleep, tick_ns=t.cost, timer_softirq_ns=t.softirq_cost,
        tick_softirq=tick_softirq, raise_local_timer=lambda cpu: m.timers[cpu].request(),
        irq_entry=irq_entry if m.hypervisor is None else m.hypervisor.irq_entry, trace=m.trace,
        topology=Topology(ms.cpus, ms.numa_nodes, ms.llc_cpus))
