"""hrtimers and the periodic tick (``kernel/time/hrtimer.c``, ``tick-sched.c``).

An expiring hrtimer makes the CPU's timer hardware (LAPIC timer, arch timer,
SysTick: whatever the platform wired to ``raise_local_timer``) raise its
interrupt; the handler (``hrtimer_interrupt``) runs every expiry that met it.
The periodic tick is one such hrtimer per CPU, staggered across CPUs as the
kernel's jiffies skew does; a tick still waiting for a late timer interrupt
absorbs the next one (``hrtimer_forward``).  An offline CPU has no tick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from irqlab.kernel.softirq import TIMER

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel


class Tick:
    """The hrtimer queues and the tick of one kernel."""

    def __init__(self, k: Kernel, raise_local_timer: Callable[[int], None], *, tick_ns: int,
                 timer_softirq_ns: int, softirq: bool) -> None:
        self.k = k
        #: fires a CPU's timer hardware
        self.raise_local_timer = raise_local_timer
        self.tick_ns = tick_ns
        self.timer_softirq_ns = timer_softirq_ns
        #: the tick raises the TIMER softirq (``run_local_timers``; Linux only)
        self.softirq = softirq
        #: expired hrtimers waiting for each CPU's timer interrupt
        self.hrtimers: list[list[Callable[[], int]]] = [[] for _ in range(k.ncpus)]
        self.queued = [False] * k.ncpus
        #: each CPU's tick_sched_timer callback, made once
        self.ticks: list[Callable[[], int]] = [self._tick_fn(cpu) for cpu in range(k.ncpus)]

    def _tick_fn(self, cpu: int) -> Callable[[], int]:
        return lambda: self._tick(cpu)

    def hrtimer_expire(self, cpu: int, fn: Callable[[], int]) -> None:
        """An hrtimer on ``cpu`` expires now; ``fn`` runs in hard-IRQ context
        from the timer interrupt and returns its CPU cost."""
        self.hrtimers[cpu].append(fn)
        if len(self.hrtimers[cpu]) == 1:
            self.raise_local_timer(cpu)

    def run_hrtimers(self, cpu: int) -> int:
        """``hrtimer_interrupt``: run the expired hrtimers; their total cost."""
        expired = self.hrtimers[cpu]
        cost = 0
        while expired:
            cost += expired.pop(0)()
        return cost

    def start(self) -> None:
        """Arm the periodic tick (``tick_sched_timer``) on every CPU."""
        k = self.k
        period = 1_000_000_000 // k.hz
        for cpu in range(k.ncpus):
            k.engine.at(period * (cpu + 1) // (k.ncpus + 1), self._due, cpu)

    def _due(self, cpu: int) -> None:
        if not self.queued[cpu] and self.k.cpu_online_mask >> cpu & 1:  # no tick while offline
            self.queued[cpu] = True
            self.hrtimer_expire(cpu, self.ticks[cpu])
        self.k.engine.after(1_000_000_000 // self.k.hz, self._due, cpu)

    def cpu_dying(self, cpu: int, target: int) -> None:
        """``hrtimers_cpu_dying``: the dying CPU's tick stops (its expiry, if
        queued, is dropped); its other expired hrtimers run on ``target``."""
        expired = self.hrtimers[cpu]
        self.hrtimers[cpu] = []
        self.queued[cpu] = False
        for fn in expired:
            if fn is not self.ticks[cpu]:
                self.hrtimer_expire(target, fn)

    def _tick(self, cpu: int) -> int:
        """``tick_sched_timer`` -> ``update_process_times``: the tick work and
        the TIMER softirq."""
        self.queued[cpu] = False
        if self.softirq:
            self.k.raise_softirq(cpu, TIMER, self.timer_softirq_ns)
        return self.tick_ns
