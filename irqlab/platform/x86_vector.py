"""The x86 vector domain (``arch/x86/kernel/apic/vector.c``): which vector of
which CPU an interrupt holds, allocated from the per-CPU matrix
(:class:`irqlab.kernel.matrix.IrqMatrix`).

* Reservation mode: a line allocated but not started holds no vector, only a
  promise (``global_reserved``); it takes a real one when it is activated at
  ``request_irq`` (``x86_vector_activate``), from its affinity mask, else from
  any online CPU (``assign_irq_vector_any_locked``).  Shutting it down frees
  the vector and reserves again.  A managed line has one vector set aside on
  every CPU of its mask (``reserve_managed``) and takes one of them.
* A move (``apic_set_affinity`` -> ``assign_vector_locked``) keeps the vector
  when its CPU is still in the new mask; otherwise it allocates a new vector
  on the best CPU of the mask, points the line at it, and keeps the old one
  bound (an interrupt already sent there is still handled) with
  ``move_in_progress``.  The first interrupt taken on the new CPU completes the
  move (``irq_complete_move``): one jiffy later the old vector is freed
  (``__vector_schedule_cleanup``, the per-CPU cleanup timer of Linux 6.5+),
  unless it is still pending in the old CPU's IRR ("Moved interrupt pending
  in old target APIC %u"): then the cleanup tries again a jiffy later.  A
  second move before that fails with -EBUSY.  A move away from an offline
  CPU frees the old vector at once.
* CPU hotplug (``fixup_irqs``, ``lapic_offline``/``lapic_online``): moves
  still in progress towards or from the dying CPU are completed by force
  ("IRQ fixup: irq %d move in progress, old vector %d"), every interrupt is
  migrated off it, vectors still pending in its IRR are retriggered at their
  new CPU, and its map goes offline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.kernel.cpuhotplug import irq_migrate_all_off_this_cpu
from irqlab.kernel.cpumask import cpumask_first
from irqlab.kernel.desc import IrqDesc
from irqlab.kernel.flags import IRQD_AFFINITY_MANAGED
from irqlab.kernel.matrix import IrqMatrix, MatrixError

if TYPE_CHECKING:
    from irqlab.hw.apic import Apic
    from irqlab.kernel.kernel import Kernel

NR_VECTORS = 256
FIRST_EXTERNAL_VECTOR = 0x20


class ApicData:
    """``struct apic_chip_data``: the line's vector and CPU, and the previous
    ones while a move is in progress."""

    __slots__ = ("cleanup_armed", "cpu", "has_reserved", "move_in_progress", "prev_cpu",
                 "prev_vector", "vector")

    def __init__(self) -> None:
        self.vector = -1
        self.cpu = -1
        self.prev_vector = -1
        self.prev_cpu = -1
        self.move_in_progress = False
        self.has_reserved = False
        self.cleanup_armed = False


class VectorDomain:
    """The vector matrix of one machine and the moves in progress."""

    def __init__(self, k: Kernel, apic: Apic, alloc_start: int, alloc_end: int,
                 system: list[int]) -> None:
        self.k = k
        self.apic = apic
        self.matrix = IrqMatrix(k.ncpus, NR_VECTORS, alloc_start, alloc_end)
        for bit in [*range(FIRST_EXTERNAL_VECTOR), *system, *range(alloc_end, NR_VECTORS)]:
            self.matrix.assign_system(bit)  # exceptions, the syscall gate, system vectors

    # -- allocation ----------------------------------------------------------------
    def alloc(self, d: IrqDesc, mask: int, managed: bool) -> None:
        """``x86_vector_alloc_irqs``: reserve (a managed line: set aside one
        vector on each CPU of ``mask``).  MatrixError -ENOSPC."""
        apicd = ApicData()
        d.chip_data = apicd
        d.affinity_mask = mask
        d.affinity = cpumask_first(mask)
        if managed:
            self.matrix.reserve_managed(mask)
            d.state |= IRQD_AFFINITY_MANAGED
        else:
            if not self.matrix.reserve():
                self.k.printk("Interrupt reservation exceeds available resources")
            apicd.has_reserved = True

    def assign(self, d: IrqDesc, cpu: int, vector: int) -> None:
        """A vector the scenario fixed (``irq_matrix_assign``); MatrixError -EBUSY."""
        apicd: ApicData = d.chip_data
        self.matrix.assign(cpu, vector)
        if apicd.has_reserved:
            self.matrix.remove_reserved()
            apicd.has_reserved = False
        self._bind(d, cpu, vector)

    def activate(self, d: IrqDesc) -> None:
        """``x86_vector_activate``: take a real vector if the line has none."""
        apicd: ApicData = d.chip_data
        if apicd.vector >= 0:
            return
        online = self.k.cpu_online_mask
        if d.state & IRQD_AFFINITY_MANAGED:
            cpu, vector = self.matrix.alloc_managed(d.affinity_mask & online)
        else:
            try:
                cpu, vector = self.matrix.alloc(d.affinity_mask & online)
            except MatrixError:
                cpu, vector = self.matrix.alloc(online)
            if apicd.has_reserved:
                self.matrix.remove_reserved()
                apicd.has_reserved = False
        self._bind(d, cpu, vector)

    def deactivate(self, d: IrqDesc) -> None:
        """``x86_vector_deactivate``: free the vectors; a non-managed line is
        reserved again."""
        apicd: ApicData = d.chip_data
        if apicd.move_in_progress:
            self._free_moved(d)
        if apicd.vector >= 0:
            self._free(d, apicd.cpu, apicd.vector)
            apicd.vector = apicd.cpu = d.vector = -1
        if not d.state & IRQD_AFFINITY_MANAGED and not apicd.has_reserved:
            self.matrix.reserve()
            apicd.has_reserved = True

    def set_affinity(self, d: IrqDesc, mask: int) -> None:
        """``apic_set_affinity``: the line's vector on a CPU of ``mask`` (online CPUs).
        MatrixError: -EBUSY while the last move is in progress, -ENOSPC."""
        apicd: ApicData = d.chip_data
        if apicd.vector < 0:  # not started: it will take its vector from the mask
            d.affinity = cpumask_first(mask)
            return
        if apicd.cpu >= 0 and mask >> apicd.cpu & 1:
            return  # assign_vector_locked: the current target is still allowed
        if apicd.move_in_progress:
            raise MatrixError("EBUSY", f"the move of irq {d.irq} to CPU {apicd.cpu} "
                                       "has not completed yet")
        if d.state & IRQD_AFFINITY_MANAGED:
            cpu, vector = self.matrix.alloc_managed(mask)
        else:
            cpu, vector = self.matrix.alloc(mask)
        old_cpu, old_vector = apicd.cpu, apicd.vector
        if self.k.cpu_online_mask >> old_cpu & 1:  # apic_update_vector
            apicd.prev_cpu, apicd.prev_vector = old_cpu, old_vector
            apicd.move_in_progress = True
        else:  # the dying CPU's table entry stays for fixup_irqs (retrigger_pending)
            self.matrix.free(old_cpu, old_vector, bool(d.state & IRQD_AFFINITY_MANAGED))
        self._bind(d, cpu, vector)

    def _bind(self, d: IrqDesc, cpu: int, vector: int) -> None:
        apicd: ApicData = d.chip_data
        apicd.cpu, apicd.vector = cpu, vector
        self.k.vector_irq[cpu][vector] = d
        d.vector = vector
        d.affinity = cpu

    def _free(self, d: IrqDesc, cpu: int, vector: int) -> None:
        table = self.k.vector_irq[cpu]
        if table.get(vector) is d:
            del table[vector]
        self.matrix.free(cpu, vector, bool(d.state & IRQD_AFFINITY_MANAGED))

    def _free_moved(self, d: IrqDesc) -> None:
        """``free_moved_vector``."""
        apicd: ApicData = d.chip_data
        self._free(d, apicd.prev_cpu, apicd.prev_vector)
        apicd.prev_cpu = apicd.prev_vector = -1
        apicd.move_in_progress = False

    # -- completing a move -----------------------------------------------------------
    def complete_move(self, d: IrqDesc, cpu: int) -> None:
        """``irq_complete_move`` from the ack: the interrupt arrived on the new
        CPU, so the old vector is cleaned up a jiffy later."""
        apicd: ApicData = d.chip_data
        if cpu == apicd.cpu and not apicd.cleanup_armed:
            apicd.cleanup_armed = True
            self.k.engine.after(1_000_000_000 // self.k.hz, self._cleanup, d)

    def _cleanup(self, d: IrqDesc) -> None:
        """``vector_cleanup_callback`` -> ``__vector_cleanup(cl, true)``."""
        apicd: ApicData = d.chip_data
        apicd.cleanup_armed = False
        if not apicd.move_in_progress:
            return
        if apicd.prev_vector in self.apic.lapics[apicd.prev_cpu].irr:
            self.k.printk(f"Moved interrupt pending in old target APIC {d.irq}")
            apicd.cleanup_armed = True
            self.k.engine.after(1_000_000_000 // self.k.hz, self._cleanup, d)
            return
        self._free_moved(d)

    # -- CPU hotplug ---------------------------------------------------------------------
    def force_complete_moves(self, cpu: int) -> None:
        """``irq_force_complete_move`` for every line moving to or from ``cpu``."""
        for d in self._descs():
            apicd: ApicData = d.chip_data
            if apicd.move_in_progress and cpu in (apicd.cpu, apicd.prev_cpu):
                self.k.printk(f"IRQ fixup: irq {d.irq} move in progress, old vector "
                              f"{apicd.prev_vector}")
                self._free_moved(d)

    def retrigger_pending(self, cpu: int) -> None:
        """The end of ``fixup_irqs``: a vector of a moved line still pending in
        the dying CPU's IRR is retriggered at the line's new CPU, and the
        dying CPU's table entries of moved lines are emptied."""
        table = self.k.vector_irq[cpu]
        irr = self.apic.lapics[cpu].irr
        for vector, entry in list(table.items()):
            if type(entry) is not IrqDesc or entry.affinity == cpu:
                continue  # a system vector, or a line that could not move (it stays)
            if vector in irr and entry.chip.irq_retrigger(entry):
                self.k.resends += 1
            del table[vector]

    def cpu_disable(self, cpu: int) -> None:
        """``native_cpu_disable`` -> ``fixup_irqs``, ``lapic_offline``."""
        self.force_complete_moves(cpu)
        irq_migrate_all_off_this_cpu(self.k, cpu)
        self.retrigger_pending(cpu)
        self.matrix.offline(cpu)
        self.k.printk(f"smpboot: CPU {cpu} is now offline")

    def cpu_up(self, cpu: int) -> None:
        """INIT/SIPI resets the CPU's local APIC (IRR, ISR cleared), then
        ``lapic_online``."""
        self.apic.init_ipi(cpu)
        self.matrix.online(cpu)
        self.k.printk(f"smpboot: Booting Node 0 Processor {cpu} APIC "
                      f"{self.apic.lapics[cpu].apic_id:#x}")

    def _descs(self) -> list[IrqDesc]:
        return [d for d in self.k.descs.values() if isinstance(d.chip_data, ApicData)]
