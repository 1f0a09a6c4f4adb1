"""Per-CPU thread scheduler: enough of ``kernel/sched`` for threads to compete
with interrupts and with each other.

* SCHED_FIFO threads (IRQ threads at MAX_RT_PRIO/2 = 50) run before any
  normal thread, highest priority first, in wake-up order within a priority,
  with no time slice: they run until they block.  A woken FIFO thread that
  outranks the running thread preempts it at once; woken by an interrupt, it
  runs when the interrupt returns.
* SCHED_NORMAL threads (ksoftirqd, kworkers, the user workload) share the CPU
  round-robin: when another one is runnable the running one is switched out at
  the end of its slice, ``sysctl_sched_base_slice`` = 0.75 ms scaled by
  1 + ilog2(min(CPUs, 8)) (kernel/sched/fair.c, SCHED_TUNABLESCALING_LOG).
* ``need_resched`` is set while a woken thread waits to preempt the running
  one (or the idle CPU); the softirq restart loop stops on it.
* A wake-up from another CPU (``wake_up_process(t, from_cpu)``) goes through
  the target's wake list or a reschedule IPI (``irqlab.kernel.smp``); the
  thread is queued, or the running one preempted, when the target takes it.

A thread's body is a generator.  It yields CPU costs in ns, run as segments of
``cpu.ctx`` (SYSTEM for kernel threads, USER for user threads; kernel code it
calls may switch the context, e.g. softirqs in ksoftirqd, and cannot be
preempted by another thread while it does), 0 as a preemption point
(``cond_resched``), or a :class:`Sleep` to block until woken or for a time.  Threads run at the bottom of the CPU's segment stack: the scheduler is
the CPU's ``on_idle`` hook, installed when the CPU's first thread is created,
so a machine without threads pays nothing for it.

Tracepoints (include/trace/events/sched.h): ``sched_wakeup`` when a thread is
made runnable, on its CPU (``TTWU_QUEUE``: a remote wake-up is completed by the
target CPU), and ``sched_switch`` whenever the CPU's task changes, to the idle
task (``swapper/N``, pid 0) when nothing is runnable.  Threads get pids in
creation order from :data:`FIRST_PID`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, Any

from irqlab.events import (
    DEFAULT_PRIO,
    EXIT_DEAD,
    IDLE_PID,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    TASK_INTERRUPTIBLE,
    TASK_REPORT_MAX,
    TASK_RUNNING,
    idle_comm,
)
from irqlab.kernel.cpu import SYSTEM, USER, Segment
from irqlab.kernel.smp import SCHEDULER_IPI_NS, TTWU_ACTIVATE_NS

if TYPE_CHECKING:
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel

SCHED_NORMAL, SCHED_FIFO = 0, 1
POLICY_NAMES = ("SCHED_NORMAL", "SCHED_FIFO")
MAX_RT_PRIO = 100  # include/linux/sched/prio.h; RT priorities are 1..99
BASE_SLICE_NS = 750_000  # normalized_sysctl_sched_base_slice (kernel/sched/fair.c)
RUNNABLE, SLEEPING, DEAD, WAKING = 0, 1, 2, 3  # WAKING: on a remote wake list (TASK_WAKING)
#: sched_switch prev_state of a task switched out in each state (preempted: "R+";
#: a waking task is still asleep until its CPU runs the wake list)
SWITCH_STATE = (TASK_REPORT_MAX, TASK_INTERRUPTIBLE, EXIT_DEAD, TASK_INTERRUPTIBLE)
#: the first thread's pid (model parameter: the pids below are the boot's tasks)
FIRST_PID = 100


def base_slice_ns(cpus: int) -> int:
    """The fair time slice on a machine of ``cpus`` CPUs."""
    return BASE_SLICE_NS * min(cpus, 8).bit_length()  # 1 + ilog2(n) == n.bit_length()


class Sleep:
    """Yielded by a thread body: block until woken, or at most ``ns``."""

    __slots__ = ("ns",)

    def __init__(self, ns: int | None = None) -> None:
        self.ns = ns


SLEEP = Sleep()  # schedule() in TASK_INTERRUPTIBLE: until wake_up_process

Body = Generator["int | Sleep", None, None]

# A cpu-bound user thread computes in steps of this much CPU time (model
# parameter: short, so few stale completions of preempted steps wait in the
# event queue; preemption does not wait for a step to end).
USER_STEP_NS = 100_000


def cpu_bound() -> Body:
    """A user thread that always wants the CPU (``stress-ng --cpu``)."""
    while True:
        yield USER_STEP_NS


class Thread:
    """A task: its body, policy and where its time went."""

    __slots__ = ("carry", "cpu", "ctx", "gen", "kind", "name", "pid", "policy", "prio",
                 "runtime", "seg_cost", "segment", "state", "timer", "wakeups")

    def __init__(self, name: str, cpu: int, body: Body, policy: int, prio: int, kind: int,
                 pid: int) -> None:
        self.name = name
        self.pid = pid
        self.cpu = cpu
        self.gen = body
        self.policy = policy
        self.prio = prio
        self.kind = kind
        self.ctx = kind  # accounting context of the next segment
        self.state = SLEEPING
        self.carry = 0  # ns of a segment cut short by preemption, run first when back
        self.seg_cost = 0
        self.segment: Segment | None = None  # the Cpu segment running it, if any
        self.timer = 0  # generation of the pending sleep timeout
        self.runtime = 0
        self.wakeups = 0

    def __repr__(self) -> str:
        return f"<Thread {self.name} cpu{self.cpu} {POLICY_NAMES[self.policy]}/{self.prio}>"

    @property
    def kernel_prio(self) -> int:
        """``task->prio`` as the sched tracepoints print it: 99 - rt_priority for
        SCHED_FIFO, 120 (nice 0) for SCHED_NORMAL (include/linux/sched/prio.h)."""
        return MAX_RT_PRIO - 1 - self.prio if self.policy == SCHED_FIFO else DEFAULT_PRIO


class RunQueue:
    """One CPU's runnable threads (the running one included)."""

    __slots__ = ("cpu", "curr", "fair", "idle", "need_resched", "rt", "slice_armed",
                 "slice_owner", "slice_start", "task")

    def __init__(self, cpu: Cpu) -> None:
        self.cpu = cpu
        self.curr: Thread | None = None
        self.rt: list[Thread] = []  # FIFO threads, highest priority first
        self.fair: list[Thread] = []  # normal threads, round-robin order
        self.need_resched = False
        self.slice_armed = False
        self.slice_owner: Thread | None = None
        self.slice_start = 0
        self.task: Thread | None = None  # the CPU's task since the last switch (None: idle)
        #: told whether the CPU goes idle (True) or runs a thread (False)
        self.idle: Callable[[Cpu, bool], None] | None = None

    def enqueue(self, t: Thread) -> None:
        if t.policy == SCHED_FIFO:
            rt = self.rt
            i = len(rt)
            while i and rt[i - 1].prio < t.prio:
                i -= 1
            rt.insert(i, t)
        else:
            self.fair.append(t)

    def dequeue(self, t: Thread) -> None:
        (self.rt if t.policy == SCHED_FIFO else self.fair).remove(t)


def _outranks(t: Thread, curr: Thread) -> bool:
    return t.policy == SCHED_FIFO and (curr.policy != SCHED_FIFO or t.prio > curr.prio)


def _reschedule_ipi(_: object) -> None:
    """Continuation of the zero-cost segment that pushes a running thread down."""
    return None


class Scheduler:
    """The run queues of all CPUs, and every thread created."""

    def __init__(self, k: Kernel) -> None:
        self.k = k
        self.engine = k.engine
        self.rqs = [RunQueue(c) for c in k.cpus]
        self.threads: list[Thread] = []
        self.slice_ns = base_slice_ns(k.ncpus)

    # -- threads ------------------------------------------------------------------
    def kthread_create(self, name: str, cpu: int, body: Body, policy: int = SCHED_NORMAL,
                       prio: int = 0, kind: int = SYSTEM) -> Thread:
        """A thread bound to ``cpu``, asleep until its first wake-up."""
        if policy == SCHED_FIFO and not 1 <= prio < MAX_RT_PRIO:
            raise ValueError(f"{name}: SCHED_FIFO priority {prio} is not in 1..{MAX_RT_PRIO - 1}")
        if policy == SCHED_NORMAL and prio:
            raise ValueError(f"{name}: SCHED_NORMAL threads have priority 0")
        if kind not in (USER, SYSTEM):
            raise ValueError(f"{name}: a thread runs as user or system time")
        c = self.k.cpus[cpu]
        if c.on_idle is None:
            c.on_idle = self._schedule
        elif c.on_idle != self._schedule:
            raise RuntimeError(f"CPU{cpu} is already driven by another scheduler")
        t = Thread(name, cpu, body, policy, prio, kind, FIRST_PID + len(self.threads))
        self.threads.append(t)
        return t

    def set_idle(self, cpu: int, idle: Callable[[Cpu, bool], None]) -> None:
        """Tell ``idle(cpu, True)`` each time ``cpu`` has nothing left to run
        (the idle task's ``do_idle``: a halt) and ``idle(cpu, False)`` each time
        it switches to a thread: a guest's HLT and a vCPU's run loop
        (``irqlab.virt``).  Either may be told more than once in a row."""
        c = self.k.cpus[cpu]
        if c.on_idle is None:
            c.on_idle = self._schedule
        self.rqs[cpu].idle = idle

    def wake_up_process(self, t: Thread, from_cpu: int | None = None) -> bool:
        """Make a sleeping thread runnable; False if it was not sleeping.
        ``from_cpu`` is the waking CPU (None: on ``t``'s own CPU, or from a
        timer there): from another CPU the wake-up costs an IPI
        (``try_to_wake_up``: ``ttwu_queue_wakelist`` or ``resched_curr``)."""
        if t.state != SLEEPING:
            return False
        t.wakeups += 1
        t.timer += 1  # cancels a pending sleep timeout
        if from_cpu is None or from_cpu == t.cpu:
            t.state = RUNNABLE
            self._activate(t)
            return True
        smp = self.k.smp
        if smp.ttwu_queue_cond(from_cpu, t.cpu):
            t.state = WAKING
            smp.smp_call_function_single(from_cpu, t.cpu, partial(self._ttwu_pending, t))
            return True
        t.state = RUNNABLE
        self._trace_wakeup(t)
        rq = self.rqs[t.cpu]
        rq.enqueue(t)
        curr = rq.curr
        if curr is not None and _outranks(t, curr):
            rq.need_resched = True
            smp.smp_send_reschedule(t.cpu)
        elif curr is not None and t.policy == SCHED_NORMAL and curr.policy == SCHED_NORMAL:
            self._arm_slice(rq)
        return True

    def _trace_wakeup(self, t: Thread) -> None:
        """The ``sched_wakeup`` tracepoint (``ttwu_do_activate``)."""
        trace = self.k.trace
        if trace.enabled:
            trace.emit(self.engine.now, t.cpu, SCHED_WAKEUP, t.pid, t.kernel_prio, t.name)

    def _activate(self, t: Thread) -> None:
        """Queue a woken thread on its CPU; preempt what runs there if it outranks it."""
        self._trace_wakeup(t)
        rq = self.rqs[t.cpu]
        rq.enqueue(t)
        curr = rq.curr
        if curr is None or _outranks(t, curr):
            rq.need_resched = True
            if curr is not None:
                self._preempt(rq)
            cpu = rq.cpu
            if cpu.cur is None and not cpu.saved and not cpu.in_kernel:
                self.engine.after(0, cpu.kick)
        elif t.policy == SCHED_NORMAL and curr.policy == SCHED_NORMAL:
            self._arm_slice(rq)

    def _ttwu_pending(self, t: Thread, _k: Kernel, _cpu: int) -> int:
        """``sched_ttwu_pending``: the wake list's entry, run by the IPI on ``t``'s CPU."""
        t.state = RUNNABLE
        self._activate(t)
        return TTWU_ACTIVATE_NS

    def scheduler_ipi(self, cpu: int) -> int:
        """The reschedule IPI: the thread to preempt was queued by the waker;
        switch on the way out of the interrupt.  Returns its CPU time."""
        rq = self.rqs[cpu]
        if rq.need_resched and rq.curr is not None:
            self._preempt(rq)
        return SCHEDULER_IPI_NS

    def idle_cpu(self, cpu: int) -> bool:
        """No runnable thread on ``cpu`` (``!rq->nr_running``)."""
        rq = self.rqs[cpu]
        return not rq.rt and not rq.fair

    def migrate_task(self, t: Thread, cpu: int) -> bool:
        """Move a thread that is not running to ``cpu`` (``migrate_tasks`` when
        its CPU goes offline); a runnable one is queued there at once.  False
        for the thread running on its CPU, which stays."""
        rq = self.rqs[t.cpu]
        if t.cpu == cpu or rq.curr is t or t.state == DEAD:
            return t.cpu == cpu
        if t.state != RUNNABLE:
            t.cpu = cpu
            return True
        rq.dequeue(t)
        t.cpu = cpu
        t.state = SLEEPING
        self.wake_up_process(t)
        t.wakeups -= 1  # a migration, not a wake-up
        return True

    def need_resched(self, cpu: int) -> bool:
        return self.rqs[cpu].need_resched

    def runtime_ns(self, t: Thread) -> int:
        """CPU time ``t`` has used, its running segment included."""
        seg = t.segment
        if seg is None:
            return t.runtime
        done = t.seg_cost - seg.remaining
        cpu = self.rqs[t.cpu].cpu
        if cpu.cur is seg:
            done += self.engine.now - seg.started
        return t.runtime + done

    # -- switching --------------------------------------------------------------------
    def _preempt(self, rq: RunQueue) -> None:
        """Take the running thread off the CPU; it stays runnable.  A thread
        running its own code inline, or in a section that cannot be preempted
        (softirqs in ksoftirqd: preempt_count is not 0), switches at its next
        preemption point instead (``_step`` reads ``need_resched``)."""
        t = rq.curr
        assert t is not None
        seg = t.segment
        if seg is None or seg.kind != t.kind:
            return
        cpu = rq.cpu
        if cpu.cur is seg:  # woken from outside this CPU: the reschedule IPI
            cpu.exec(SYSTEM, 0, _reschedule_ipi)
        saved = cpu.saved
        if saved and saved[0] is seg:  # the bottom of the stack, below interrupts
            del saved[0]
            t.carry = seg.remaining
            t.ctx = seg.kind
            t.runtime += t.seg_cost - seg.remaining
            t.segment = None
            rq.curr = None

    def _schedule(self, cpu: Cpu) -> None:
        """``on_idle``: nothing left on the CPU's stack; run the best thread.
        An interrupt already pending is taken first, as it would be the moment
        the switched-to thread enabled interrupts."""
        rq = self.rqs[cpu.index]
        rq.need_resched = False
        if not rq.rt and not rq.fair:
            self._switch(rq, None)  # an interrupt taken now interrupts the idle task
        if cpu.irqs_on and cpu.ctrl.deliverable(cpu.index):
            return
        if not rq.rt and not rq.fair:
            if rq.idle is not None:
                rq.idle(cpu, True)
            return
        cpu.in_kernel = True
        while cpu.cur is None:
            rq.need_resched = False
            t = rq.rt[0] if rq.rt else rq.fair[0] if rq.fair else None
            if t is None:
                self._switch(rq, None)
                break
            self._switch(rq, t)
            rq.curr = t
            cpu.ctx = t.ctx
            if t.policy == SCHED_NORMAL:
                if rq.slice_owner is not t:
                    rq.slice_owner = t
                    rq.slice_start = self.engine.now
                if len(rq.fair) > 1:
                    self._arm_slice(rq)
            self._step(t)
        cpu.in_kernel = False
        if rq.idle is not None:
            rq.idle(cpu, cpu.cur is None)

    def _switch(self, rq: RunQueue, t: Thread | None) -> None:
        """The CPU's task becomes ``t`` (None: the idle task): ``sched_switch``."""
        prev = rq.task
        if prev is t:
            return
        rq.task = t
        trace = self.k.trace
        if trace.enabled:
            state = TASK_RUNNING if prev is None else SWITCH_STATE[prev.state]
            cpu = rq.cpu.index
            if t is None:
                trace.emit(self.engine.now, cpu, SCHED_SWITCH, IDLE_PID, state, idle_comm(cpu))
            else:
                trace.emit(self.engine.now, cpu, SCHED_SWITCH, t.pid, state, t.name)

    def _run(self, t: Thread) -> None:
        """A segment of ``t`` ended."""
        t.runtime += t.seg_cost
        t.segment = None
        self._step(t)

    def _step(self, t: Thread) -> None:
        """Advance ``t`` to its next segment, or block it."""
        rq = self.rqs[t.cpu]
        cpu = rq.cpu
        cost = t.carry
        if cost:
            t.carry = 0
        else:
            gen = t.gen
            while True:
                try:
                    x = next(gen)
                except StopIteration:
                    rq.dequeue(t)
                    t.state = DEAD
                    rq.curr = None
                    return
                t.ctx = cpu.ctx
                if isinstance(x, Sleep):
                    self._sleep(rq, t, x)
                    return
                if x > 0:
                    break
                if rq.need_resched and t.ctx == t.kind:  # cond_resched()
                    rq.curr = None
                    return
            cost = x
        if rq.need_resched and t.ctx == t.kind:
            t.carry = cost
            rq.curr = None
            return
        t.seg_cost = cost
        cpu.exec(t.ctx, cost, self._run, t)
        t.segment = cpu.cur

    def _sleep(self, rq: RunQueue, t: Thread, s: Sleep) -> None:
        rq.dequeue(t)
        t.state = SLEEPING
        rq.curr = None
        if s.ns is not None:
            t.timer += 1
            self.engine.after(s.ns, self._timeout, (t, t.timer))

    def _timeout(self, arg: tuple[Thread, int]) -> None:
        t, gen = arg
        if t.timer == gen:
            self.wake_up_process(t)

    # -- fair time slices -------------------------------------------------------------
    def _arm_slice(self, rq: RunQueue) -> None:
        """Switch the running normal thread out at the end of its current slice."""
        if rq.slice_armed:
            return
        rq.slice_armed = True
        ran = self.engine.now - rq.slice_start
        self.engine.after(self.slice_ns - ran % self.slice_ns, self._slice_end, rq)

    def _slice_end(self, rq: RunQueue) -> None:
        rq.slice_armed = False
        t = rq.curr
        if t is None or t.policy != SCHED_NORMAL or len(rq.fair) < 2:
            return  # re-armed when a normal thread next gets the CPU
        if t is not rq.slice_owner or self.engine.now - rq.slice_start < self.slice_ns:
            self._arm_slice(rq)
            return
        rq.fair.remove(t)
        rq.fair.append(t)
        rq.slice_owner = None
        rq.need_resched = True
        self._preempt(rq)

    # -- report -----------------------------------------------------------------------
    def table(self) -> list[dict[str, Any]]:
        """One row per thread, like ``ps -eLo comm,psr,policy,rtprio,time``."""
        return [
            {"thread": t.name, "cpu": t.cpu, "policy": POLICY_NAMES[t.policy], "prio": t.prio,
             "runtime_ns": self.runtime_ns(t), "wakeups": t.wakeups}
            for t in self.threads
        ]
