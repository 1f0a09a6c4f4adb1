"""TLB shootdowns from user space: the threads of one process that unmap
memory (``munmap`` -> ``flush_tlb_mm_range``).

Every thread of the process runs on its own CPU and computes; at random
times (a Poisson stream per thread) it unmaps a range, which must leave no
stale translation in any CPU that runs the process (``mm_cpumask``): the
architecture flushes the others (``Arch.flush_tlb_multi``: call-function
IPIs on x86, a broadcast TLBI on arm64) and this CPU.  The unmap is
system time of the thread.
"""

from __future__ import annotations

import random
from math import log
from typing import TYPE_CHECKING

from irqlab.kernel.cpu import SYSTEM, USER
from irqlab.kernel.sched import USER_STEP_NS, Body

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel

# Model parameter (ns), not a measured figure: the rest of munmap (VMA and
# page-table updates) besides the flushes.
MUNMAP_NS = 1_000


class Mm:
    """One process's address space, used on ``cpus``; ``shootdowns`` counts
    each CPU's unmaps."""

    def __init__(self, k: Kernel, cpus: list[int], rate_per_s: float, rng: random.Random) -> None:
        self.k = k
        self.cpus = cpus
        self.mean_gap_ns = 1e9 / rate_per_s
        self.rng = rng
        self.shootdowns = [0] * k.ncpus

    def _gap(self) -> int:
        return max(1, int(-log(1.0 - self.rng.random()) * self.mean_gap_ns + 0.5))

    def thread(self, cpu: int) -> Body:
        """A cpu-bound thread of the process on ``cpu`` that unmaps at its rate."""
        k = self.k
        c = k.cpus[cpu]
        due = k.engine.now + self._gap()
        while True:
            now = k.engine.now
            if now >= due:
                c.ctx = SYSTEM
                self.shootdowns[cpu] += 1
                yield MUNMAP_NS + k.arch.flush_tlb_multi(k, cpu, self.cpus)
                c.ctx = USER
                due = now + self._gap()
            yield min(USER_STEP_NS, due - now) if due > now else 1
