"""Inter-processor interrupts and cross-CPU calls (``kernel/smp.c``,
``kernel/irq_work.c``, ``kernel/sched/core.c``).

The generic kernel asks the architecture to send one of four IPIs
(``Arch.send_ipi``); the platform raises it as an interrupt on the target
(x86: a local-APIC vector, RESCHEDULE_VECTOR 0xFD, CALL_FUNCTION_VECTOR 0xFC,
CALL_FUNCTION_SINGLE_VECTOR 0xFB, IRQ_WORK_VECTOR 0xF6; arm64: GIC SGIs
0, 1 and 5), counts it in its ``/proc/interrupts`` row when the target takes
it, and calls back here:

* ``smp_call_function_single`` / ``_many`` queue a function on each target's
  ``call_single_queue`` (an llist).  Only a queue that was empty sends an IPI
  (``llist_add`` returns true for the first entry): functions queued while one
  is pending ride on it, so a burst of N calls to a busy CPU may cost one
  interrupt.  The handler (``__flush_smp_call_function_queue``) runs every
  queued function, in order.  ``_many`` to a single CPU sends the
  single-target IPI (``smp_call_function_many_cond``).
* A wake-up of a thread on another CPU (``try_to_wake_up``) goes on that CPU's
  wake list, a call-function-single IPI (``ttwu_queue_wakelist``), when the
  two CPUs share no last-level cache or the target is idle
  (``ttwu_queue_cond``); otherwise the thread is queued at once and, if it
  must preempt what runs there, a reschedule IPI follows (``resched_curr``).
  Idle CPUs are taken to halt: one that polled its need-resched flag
  (``TIF_POLLING_NRFLAG``, MWAIT idle) would take no IPI (``set_nr_if_polling``,
  not modelled).
* ``irq_work_queue_on`` queues a callback run in hard-IRQ context by the
  IRQ-work IPI (``irq_work_run``), again one IPI per empty list.

``sent`` counts the IPIs asked of the architecture, per kind and target.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel
    from irqlab.kernel.topology import Topology

IPI_RESCHEDULE, IPI_CALL_FUNC, IPI_CALL_FUNC_SINGLE, IPI_IRQ_WORK = range(4)
IPI_NAMES = ("reschedule", "call-function", "call-function-single", "irq-work")

#: A function run on another CPU: called there with (kernel, cpu), in hard-IRQ
#: context; returns the CPU time it took (ns).
SmpFn = Callable[["Kernel", int], int]

# Model parameters (ns), not manual figures: the receiving side's work besides
# the interrupt entry and exit the controller charges.  scheduler_ipi() only
# sets need_resched and accounts; sched_ttwu_pending() enqueues the woken
# thread (activate_task + wakeup_preempt).
SCHEDULER_IPI_NS = 100
TTWU_ACTIVATE_NS = 300


class Smp:
    """Per-CPU call-function and IRQ-work queues of one kernel, and the CPU
    topology (``smpboot``'s sibling and cache maps)."""

    def __init__(self, k: Kernel, topology: Topology) -> None:
        self.k = k
        self.topology = topology
        n = k.ncpus
        self.call_single_queue: list[deque[SmpFn]] = [deque() for _ in range(n)]
        self.irq_work_list: list[deque[SmpFn]] = [deque() for _ in range(n)]
        self.sent = [[0] * n for _ in IPI_NAMES]

    def send(self, cpu: int, ipi: int) -> None:
        self.sent[ipi][cpu] += 1
        self.k.arch.send_ipi(self.k, cpu, ipi)

    # -- cross-CPU function calls ------------------------------------------------------
    def _queue(self, cpu: int, fn: SmpFn) -> bool:
        """``llist_add`` on ``cpu``'s queue: True if it was empty (an IPI is due)."""
        q = self.call_single_queue[cpu]
        q.append(fn)
        return len(q) == 1

    def smp_call_function_single(self, this_cpu: int, cpu: int, fn: SmpFn) -> int:
        """Run ``fn`` on ``cpu``.  On this CPU it runs at once and its cost is
        returned for the caller to spend; elsewhere it is queued (0)."""
        if cpu == this_cpu:
            return fn(self.k, cpu)
        if self._queue(cpu, fn):
            self.send_call_function_single_ipi(cpu)
        return 0

    def smp_call_function_many(self, this_cpu: int, cpus: Iterable[int], fn: SmpFn) -> None:
        """Run ``fn`` on every CPU of ``cpus`` but this one (``smp_call_function_many_cond``)."""
        ipi = [c for c in cpus if c != this_cpu and self._queue(c, fn)]
        if len(ipi) == 1:
            self.send_call_function_single_ipi(ipi[0])
        else:
            for c in ipi:  # arch_send_call_function_ipi_mask
                self.send(c, IPI_CALL_FUNC)

    def send_call_function_single_ipi(self, cpu: int) -> None:
        self.send(cpu, IPI_CALL_FUNC_SINGLE)

    def flush_call_function_queue(self, cpu: int) -> int:
        """The call-function IPI's work: every queued function, in order; their
        CPU time."""
        q = self.call_single_queue[cpu]
        cost = 0
        while q:
            cost += q.popleft()(self.k, cpu)
        return cost

    # -- scheduler ---------------------------------------------------------------------
    def ttwu_queue_cond(self, this_cpu: int, cpu: int) -> bool:
        """Wake through ``cpu``'s wake list (an IPI) rather than queueing the
        thread from here: no shared last-level cache, or ``cpu`` idle."""
        k = self.k
        if not self.topology.cpus_share_cache(this_cpu, cpu):
            return True
        return k.sched.idle_cpu(cpu)

    def smp_send_reschedule(self, cpu: int) -> None:
        """``resched_curr`` on another CPU."""
        self.send(cpu, IPI_RESCHEDULE)

    # -- IRQ work ----------------------------------------------------------------------
    def irq_work_queue_on(self, this_cpu: int, cpu: int, fn: SmpFn) -> None:
        """Queue ``fn`` for ``cpu``'s IRQ-work interrupt (a self-IPI on this CPU,
        ``arch_irq_work_raise``); one IPI per empty list."""
        q = self.irq_work_list[cpu]
        q.append(fn)
        if len(q) == 1:
            self.send(cpu, IPI_IRQ_WORK)

    def irq_work_run(self, cpu: int) -> int:
        q = self.irq_work_list[cpu]
        cost = 0
        while q:
            cost += q.popleft()(self.k, cpu)
        return cost
