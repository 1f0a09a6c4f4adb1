"""CPU hotplug: taking a CPU offline and bringing it back (``kernel/cpu.c``,
``kernel/stop_machine.c``, ``kernel/irq/cpuhotplug.c``).

Offline (``cpu_down``): the CPU's stopper thread ``migration/N``, which runs
above every other thread (``stop_sched_class``; FIFO 99 here), takes the CPU
once the interrupts and softirqs it is running are done, disables interrupts
(``STOP_MACHINE_NS``) and then (``take_cpu_down``):

1. clears it from ``cpu_online_mask``;
2. the architecture's ``__cpu_disable`` (the platform's, ``set_arch``) migrates every interrupt off it
   (``irq_migrate_all_off_this_cpu``, below; x86 then retriggers the vectors
   still pending in its IRR at their new CPUs, ``fixup_irqs``);
3. its tick stops and its other expired hrtimers go to another CPU
   (``hrtimers_cpu_dying``);
4. its pending softirq work and its tasklets go to the first online CPU
   (``takeover_tasklets``), its queued work items to that CPU's workers (the
   dying pool's workers are unbound, ``unbind_workers``); every other
   registered ``*_DEAD`` callback runs (``cpuhp_setup_state``: the network
   stack's ``dev_cpu_dead``);
5. runnable threads move to online CPUs (``migrate_tasks``), except the CPU's
   own kthreads (ksoftirqd, its kworkers), which stay parked.

``irq_migrate_all_off_this_cpu`` (``migrate_one_irq``): a per-CPU line or
one not routed to the dying CPU stays; a pending move is taken as the new
mask; a managed line whose CPUs are all offline is shut down
(``IRQD_MANAGED_SHUTDOWN``); a line with no online CPU left in its mask is
moved to every online CPU ("IRQ %u: no longer affine to CPU%u"); a refused move
is logged ("IRQ%u: set affinity failed(%d).").

Online (``cpu_up``): the architecture brings the CPU up, it rejoins
``cpu_online_mask``, its tick and parked threads run again, and managed lines
shut down for want of a CPU start again (``irq_affinity_online_cpu``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from irqlab.kernel.chip import ChipError
from irqlab.kernel.cpumask import bitmap_list_string, cpumask_first
from irqlab.kernel.flags import (
    IRQD_AFFINITY_MANAGED,
    IRQD_MANAGED_SHUTDOWN,
    IRQD_SETAFFINITY_PENDING,
    IRQF_PERCPU,
)
from irqlab.kernel.flow import handle_percpu_irq
from irqlab.kernel.manage import irq_shutdown, irq_startup
from irqlab.kernel.migration import irq_do_set_affinity
from irqlab.kernel.resend import check_irq_resend
from irqlab.kernel.sched import MAX_RT_PRIO, RUNNABLE, SCHED_FIFO, SLEEP, Body, Thread
from irqlab.kernel.softirq import HI, NR_SOFTIRQS, TASKLET

if TYPE_CHECKING:
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel

#: stop_machine's stopper outranks every RT thread (stop_sched_class)
STOPPER_PRIO = MAX_RT_PRIO - 1
#: Model parameter (ns), not a kernel figure: how long the dying CPU runs
#: ``multi_cpu_stop`` with interrupts disabled before ``take_cpu_down`` (the
#: stop_machine state machine's rounds); interrupts arriving meanwhile wait in
#: its controller and are retriggered elsewhere.  The other CPUs' part of
#: stop_machine is not modelled.
STOP_MACHINE_NS = 20_000

#: ``(dying cpu, cpu taking over)``, run after the CPU is dead
DeadCallback = Callable[[int, int], None]


class HotplugError(Exception):
    """A hotplug request the kernel refuses; ``errno`` as it returns it."""

    def __init__(self, errno: str, message: str) -> None:
        super().__init__(message)
        self.errno = errno


class CpuHotplug:
    """The hotplug state of one kernel: dead callbacks and parked CPUs' hooks."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.dead_callbacks: list[DeadCallback] = []
        self.parked: dict[int, Callable[[Cpu], None] | None] = {}
        self.going_down = 0  # CPUs whose stopper has been started
        self.stoppers: dict[int, Thread] = {}
        self.arch_cpu_disable: Callable[[int], None] = lambda cpu: irq_migrate_all_off_this_cpu(k, cpu)
        self.arch_cpu_up: Callable[[int], None] = lambda cpu: None

    def set_arch(self, cpu_disable: Callable[[int], None], cpu_up: Callable[[int], None]) -> None:
        """The platform's ``__cpu_disable`` (which must call
        :func:`irq_migrate_all_off_this_cpu`) and its CPU bring-up."""
        self.arch_cpu_disable = cpu_disable
        self.arch_cpu_up = cpu_up

    def cpuhp_setup_state(self, dead: DeadCallback) -> None:
        """Register a ``*_DEAD`` callback."""
        self.dead_callbacks.append(dead)

    def online(self, cpu: int) -> bool:
        return bool(self.k.cpu_online_mask >> cpu & 1)

    # -- offline --------------------------------------------------------------------
    def cpu_down(self, cpu: int) -> None:
        """Start taking ``cpu`` offline; HotplugError EINVAL (no such CPU, or
        already offline), EBUSY (the last online CPU)."""
        k = self.k
        self._check(cpu)
        if not self.online(cpu) or self.going_down >> cpu & 1:
            raise HotplugError("EINVAL", f"CPU {cpu} is already offline")
        if (k.cpu_online_mask & ~self.going_down) == 1 << cpu:
            raise HotplugError("EBUSY", f"CPU {cpu} is the last online CPU")
        self.going_down |= 1 << cpu
        stopper = self.stoppers.get(cpu)
        if stopper is None:
            stopper = self.stoppers[cpu] = k.sched.kthread_create(
                f"migration/{cpu}", cpu, self._stopper(cpu), SCHED_FIFO, STOPPER_PRIO)
        k.sched.wake_up_process(stopper)

    def _stopper(self, cpu: int) -> Body:
        """``migration/N``: each wake-up takes the CPU down."""
        while True:
            self.k.cpus[cpu].irqs_on = False  # MULTI_STOP_DISABLE_IRQ
            yield STOP_MACHINE_NS
            self.take_cpu_down(cpu)
            yield SLEEP

    def take_cpu_down(self, cpu: int) -> None:
        """The dying CPU, interrupts off, with nothing else to run."""
        k = self.k
        k.cpu_online_mask &= ~(1 << cpu)
        self.going_down &= ~(1 << cpu)
        target = cpumask_first(k.cpu_online_mask)
        self.arch_cpu_disable(cpu)
        k.tick.cpu_dying(cpu, target)
        c = k.cpus[cpu]
        c.irqs_on = False  # play_dead: interrupts stay off
        self.parked[cpu] = c.on_idle
        c.on_idle = None  # nothing runs here any more
        self._takeover_softirqs(cpu, target)
        self._unbind_workers(cpu, target)
        for dead in self.dead_callbacks:
            dead(cpu, target)
        self._migrate_tasks(cpu)

    def _takeover_softirqs(self, cpu: int, target: int) -> None:
        """Pending softirq work and the tasklet lists move to ``target`` (``takeover_tasklets``)."""
        k = self.k
        sq = k.softirqs
        pending = sq.pending[cpu]
        sq.pending[cpu] = 0
        for nr in range(NR_SOFTIRQS):
            cost = sq.queued_ns[cpu][nr]
            sq.queued_ns[cpu][nr] = 0
            if pending >> nr & 1 or cost:
                k.raise_softirq(target, nr, cost)
        tl = k.tasklets
        for vec, nr in ((tl.vec, TASKLET), (tl.hi_vec, HI)):
            if vec[cpu]:
                vec[target].extend(vec[cpu])
                vec[cpu] = []
                k.raise_softirq(target, nr)

    def _unbind_workers(self, cpu: int, target: int) -> None:
        """Queued work runs on ``target``; a worker in the middle of a work item
        (asleep in it) finishes it there."""
        k = self.k
        dying, pool = k.workqueue.pools[cpu], k.workqueue.pools[target]
        for w in dying.workers:
            if w not in dying.idle:  # in the middle of a work item
                k.sched.migrate_task(w.thread, target)
        pool.worklist.extend(dying.worklist)
        dying.worklist = []
        pool.kick()

    def _migrate_tasks(self, cpu: int) -> None:
        """Runnable threads go to the online CPUs in turn; the CPU's own
        kthreads stay parked."""
        k = self.k
        own = {t for t in (k.ksoftirqd[cpu],) if t is not None}
        own.update(w.thread for w in k.workqueue.pools[cpu].workers if w.thread.cpu == cpu)
        online = [c for c in range(k.ncpus) if self.online(c)]
        i = 0
        for t in list(k.sched.threads):
            if t.cpu == cpu and t.state == RUNNABLE and t not in own and \
                    k.sched.migrate_task(t, online[i % len(online)]):
                i += 1

    # -- online ---------------------------------------------------------------------
    def cpu_up(self, cpu: int) -> None:
        """Bring ``cpu`` back; HotplugError EINVAL if there is no such CPU or it is online."""
        k = self.k
        self._check(cpu)
        if self.online(cpu):
            raise HotplugError("EINVAL", f"CPU {cpu} is already online")
        self.arch_cpu_up(cpu)
        k.cpu_online_mask |= 1 << cpu
        c = k.cpus[cpu]
        c.on_idle = self.parked.pop(cpu, c.on_idle)
        c.local_irq_enable()
        for w in k.workqueue.pools[cpu].workers:  # rebind_workers
            k.sched.migrate_task(w.thread, cpu)
        irq_affinity_online_cpu(k, cpu)
        k.engine.after(0, c.kick)

    def _check(self, cpu: int) -> None:
        if not 0 <= cpu < self.k.ncpus:
            raise HotplugError("EINVAL", f"CPU {cpu} does not exist (machine has {self.k.ncpus})")


def irq_migrate_all_off_this_cpu(k: Kernel, cpu: int) -> None:
    """``migrate_one_irq`` for every started line (see the module docstring)."""
    online = k.cpu_online_mask
    for irq in sorted(k.descs):
        desc = k.descs[irq]
        if not desc.action or desc.handle_irq is handle_percpu_irq or \
                any(a.flags & IRQF_PERCPU for a in desc.action):
            continue
        if desc.state & IRQD_SETAFFINITY_PENDING:  # irq_fixup_move_pending
            desc.state &= ~IRQD_SETAFFINITY_PENDING
            if desc.pending_mask & online:
                desc.affinity_mask = desc.pending_mask
            desc.pending_mask = 0
        if desc.affinity != cpu:
            continue
        mask = desc.affinity_mask
        if not mask & online:
            if desc.state & IRQD_AFFINITY_MANAGED:
                irq_shutdown(k, desc)
                desc.state |= IRQD_MANAGED_SHUTDOWN
                continue
            k.printk(f"IRQ {irq}: no longer affine to CPU{cpu}")
            mask = online
        try:
            irq_do_set_affinity(k, desc, mask)
        except (ChipError, ValueError) as exc:
            errno = getattr(exc, "errno", "EINVAL")
            k.printk(f"IRQ{irq}: set affinity failed(-{errno}).")
            k.warn("affinity", irq, f"IRQ{irq}: set affinity failed(-{errno}): {exc}; it stays "
                                    f"on offline CPU{cpu} (affinity {bitmap_list_string(mask)})")


def irq_affinity_online_cpu(k: Kernel, cpu: int) -> None:
    """Managed lines shut down for want of a CPU start again, an edge that
    came meanwhile resent (``irq_startup(desc, IRQ_RESEND, IRQ_START_COND)``)."""
    for irq in sorted(k.descs):
        desc = k.descs[irq]
        if desc.state & IRQD_MANAGED_SHUTDOWN and desc.affinity_mask >> cpu & 1:
            try:
                irq_startup(desc)
            except ChipError as exc:
                k.warn("affinity", irq, f"managed irq {irq} could not start on CPU{cpu}: {exc}")
                continue
            check_irq_resend(k, desc)
