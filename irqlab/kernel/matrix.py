"""The per-CPU vector allocator (``kernel/irq/matrix.c``), which x86 uses for
its 256 vectors per CPU (``arch/x86/kernel/apic/vector.c``).

Each CPU has an ``alloc_map`` (vectors handed out) and a ``managed_map``
(vectors set aside for managed interrupts); ``system_map`` holds the bits no
device may get (exceptions, the syscall vector, the system vectors), on every
CPU.  Counters as the kernel keeps them: per CPU ``available`` (free and not
set aside), ``allocated``, ``managed``, ``managed_allocated``; globally
``global_available`` (summed over online CPUs), ``global_reserved`` (interrupts
allocated but not started: *reservation mode*, a vector promised, none yet
taken) and ``total_allocated``.

* ``alloc`` picks the online CPU of the mask with the most available vectors
  (``matrix_find_best_cpu``), then its lowest free bit from ``alloc_start``
  (``matrix_alloc_area``); nothing free is ``-ENOSPC``.
* ``reserve_managed`` sets one bit aside on every CPU of a managed mask, so a
  managed interrupt always finds its vector on each of its CPUs;
  ``alloc_managed`` hands one of them out.
* ``debug_show`` prints ``/sys/kernel/debug/irq/domains/VECTOR``'s matrix
  (``irq_matrix_debug_show``).
"""

from __future__ import annotations

from irqlab.kernel.chip import ChipError
from irqlab.kernel.cpumask import bitmap_list_string, for_each_cpu


class MatrixError(ChipError):
    """An allocation that cannot be met; ``errno`` as the kernel returns it."""


class CpuMap:
    """``struct cpumap``: one CPU's bitmaps (Python ints) and counters."""

    __slots__ = ("alloc_map", "allocated", "available", "managed", "managed_allocated",
                 "managed_map", "online")

    def __init__(self, available: int) -> None:
        self.alloc_map = 0
        self.managed_map = 0
        self.available = available
        self.allocated = 0
        self.managed = 0
        self.managed_allocated = 0
        self.online = True


class IrqMatrix:
    """``struct irq_matrix`` over ``matrix_bits`` bits, allocating in
    [``alloc_start``, ``alloc_end``)."""

    def __init__(self, cpus: int, matrix_bits: int, alloc_start: int, alloc_end: int) -> None:
        self.matrix_bits = matrix_bits
        self.alloc_start = alloc_start
        self.alloc_end = alloc_end
        self.system_map = 0
        self.maps = [CpuMap(alloc_end - alloc_start) for _ in range(cpus)]
        self.global_reserved = 0
        self.total_allocated = 0

    @property
    def online_maps(self) -> int:
        return sum(cm.online for cm in self.maps)

    @property
    def global_available(self) -> int:
        return sum(cm.available for cm in self.maps if cm.online)

    def assign_system(self, bit: int) -> None:
        """``irq_matrix_assign_system``: ``bit`` is nobody's on any CPU."""
        self.system_map |= 1 << bit
        if self.alloc_start <= bit < self.alloc_end:
            for cm in self.maps:
                cm.available -= 1

    def _used(self, cm: CpuMap) -> int:
        return cm.alloc_map | cm.managed_map | self.system_map

    def _first_free(self, used: int) -> int:
        for bit in range(self.alloc_start, self.alloc_end):
            if not used >> bit & 1:
                return bit
        return -1

    # -- reservation --------------------------------------------------------------
    def reserve(self) -> bool:
        """``irq_matrix_reserve``: promise a vector somewhere, take none; False
        when the promises exceed what is available (the kernel then warns
        "Interrupt reservation exceeds available resources")."""
        self.global_reserved += 1
        return self.global_reserved <= self.global_available

    def remove_reserved(self) -> None:
        self.global_reserved -= 1

    def reserve_managed(self, mask: int) -> None:
        """Set one vector aside on every CPU of ``mask`` (``irq_matrix_reserve_managed``)."""
        taken: list[tuple[int, int]] = []
        for cpu in for_each_cpu(mask):
            cm = self.maps[cpu]
            bit = self._first_free(self._used(cm))
            if bit < 0:
                for c, b in taken:
                    self._remove_managed_bit(c, b)
                raise MatrixError("ENOSPC", f"no vector left on CPU {cpu} to reserve for a "
                                            "managed interrupt")
            cm.managed_map |= 1 << bit
            cm.managed += 1
            cm.available -= 1
            taken.append((cpu, bit))

    def _remove_managed_bit(self, cpu: int, bit: int) -> None:
        cm = self.maps[cpu]
        cm.managed_map &= ~(1 << bit)
        cm.managed -= 1
        cm.available += 1

    def remove_managed(self, mask: int) -> None:
        """``irq_matrix_remove_managed``: give back one unused set-aside bit per CPU."""
        for cpu in for_each_cpu(mask):
            cm = self.maps[cpu]
            free = cm.managed_map & ~cm.alloc_map
            if free:
                self._remove_managed_bit(cpu, (free & -free).bit_length() - 1)

    # -- allocation -----------------------------------------------------------------
    def find_best_cpu(self, mask: int) -> int:
        """``matrix_find_best_cpu``: the online CPU of ``mask`` with the most
        available vectors (the lowest such CPU); -1 if none is online."""
        best, best_avl = -1, -1
        for cpu in for_each_cpu(mask):
            cm = self.maps[cpu]
            if cm.online and cm.available > best_avl:
                best, best_avl = cpu, cm.available
        return best

    def alloc(self, mask: int) -> tuple[int, int]:
        """``irq_matrix_alloc``: (CPU, vector) of a new vector on the best CPU of ``mask``."""
        cpu = self.find_best_cpu(mask)
        bit = -1 if cpu < 0 else self._first_free(self._used(self.maps[cpu]))
        if bit < 0:
            raise MatrixError("ENOSPC", f"no free vector on CPUs {bitmap_list_string(mask)}")
        self.assign(cpu, bit)
        return cpu, bit

    def assign(self, cpu: int, bit: int) -> None:
        """Take the chosen ``bit`` on ``cpu`` (``irq_matrix_assign``)."""
        cm = self.maps[cpu]
        if (self._used(cm) >> bit) & 1:
            raise MatrixError("EBUSY", f"vector {bit:#x} on CPU {cpu} is already in use")
        cm.alloc_map |= 1 << bit
        cm.allocated += 1
        if self.alloc_start <= bit < self.alloc_end:
            cm.available -= 1
        self.total_allocated += 1

    def alloc_managed(self, mask: int) -> tuple[int, int]:
        """``irq_matrix_alloc_managed``: one of the bits set aside on the online
        CPU of ``mask`` with the fewest managed vectors in use."""
        best, fewest = -1, -1
        for cpu in for_each_cpu(mask):
            cm = self.maps[cpu]
            if cm.online and cm.managed_map & ~cm.alloc_map and (best < 0 or cm.managed_allocated < fewest):
                best, fewest = cpu, cm.managed_allocated
        if best < 0:
            raise MatrixError("ENOSPC", f"no reserved managed vector on CPUs {bitmap_list_string(mask)}")
        cm = self.maps[best]
        free = cm.managed_map & ~cm.alloc_map
        bit = (free & -free).bit_length() - 1
        cm.alloc_map |= 1 << bit
        cm.allocated += 1
        cm.managed_allocated += 1
        self.total_allocated += 1
        return best, bit

    def free(self, cpu: int, bit: int, managed: bool) -> None:
        """``irq_matrix_free``: a managed bit goes back to the CPU's set-aside pool."""
        cm = self.maps[cpu]
        if not cm.alloc_map >> bit & 1:
            return
        cm.alloc_map &= ~(1 << bit)
        cm.allocated -= 1
        self.total_allocated -= 1
        if managed:
            cm.managed_allocated -= 1
        elif self.alloc_start <= bit < self.alloc_end:
            cm.available += 1

    def offline(self, cpu: int) -> None:
        self.maps[cpu].online = False

    def online(self, cpu: int) -> None:
        self.maps[cpu].online = True

    # -- debugfs --------------------------------------------------------------------
    def debug_show(self) -> str:
        """``irq_matrix_debug_show`` (kernel/irq/matrix.c), online CPUs only."""
        nsys = bin(self.system_map).count("1")
        lines = [f"Online bitmaps:   {self.online_maps:6d}",
                 f"Global available: {self.global_available:6d}",
                 f"Global reserved:  {self.global_reserved:6d}",
                 f"Total allocated:  {self.total_allocated:6d}",
                 f"System: {nsys}: {bitmap_list_string(self.system_map)}",
                 " | CPU | avl | man | mac | act | vectors"]
        for cpu, cm in enumerate(self.maps):
            if cm.online:
                lines.append(f"  {cpu:4d}  {cm.available:4d}  {cm.managed:4d}  "
                             f"{cm.managed_allocated:4d} {cm.allocated:4d}  "
                             f"{bitmap_list_string(cm.alloc_map)}")
        return "\n".join(lines)
