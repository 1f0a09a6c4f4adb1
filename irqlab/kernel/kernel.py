"""The kernel's interrupt layer for one machine: descriptors, per-CPU vector
tables, CPUs, softirqs, and the services handlers call.

It binds one controller personality (``IrqController``) and drives it the
same way for all of them; personality differences are data: whether the id is
acknowledged before entry (x86 INTA), whether the priority is dropped at entry
(GICv3 EOImode 1), whether the exception return is the EOI and tail-chains
(Cortex-M), and whether hard-IRQ handlers nest (never on Linux; by priority on
the NVIC and under Windows IRQLs).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from irqlab.events import (
    SOFTIRQ_NAMES,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    X86_ROWS,
    CounterRow,
    CounterSnapshot,
)
from irqlab.kernel import manage
from irqlab.kernel.action import HandlerContext, IrqAction
from irqlab.kernel.cpu import Cpu
from irqlab.kernel.desc import FlowHandler, IrqDesc
from irqlab.kernel.dispatch import ivt_handle_interrupt
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE, IRQS_SPURIOUS_DISABLED
from irqlab.kernel.irqthread import irq_wake_thread, setup_irq_thread
from irqlab.kernel.ksoftirqd import wakeup_softirqd
from irqlab.kernel.sched import Scheduler, Thread
from irqlab.kernel.softirq import TIMER, Softirqs
from irqlab.kernel.spurious import poll_spurious_irqs, try_one_irq
from irqlab.kernel.tasklet import Tasklet, Tasklets
from irqlab.kernel.workqueue import Work, Workqueue
from irqlab.sim.engine import StopSimulation

if TYPE_CHECKING:
    from irqlab.hw.controller import IrqController
    from irqlab.kernel.chip import IrqChip
    from irqlab.sim.engine import Engine

Emit = Callable[[int, int, int, int, int, str], None]

WARN_BURST = 10  # like printk_ratelimit's burst: later ones are counted, not kept
LOG_LINES = 4096  # the kernel log is a ring buffer too (log_buf)
DEFAULT_HZ = 250  # CONFIG_HZ of Debian/Ubuntu generic kernels


def _no_emit(ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
    return None


def _no_timer(cpu: int) -> None:
    raise RuntimeError("this kernel has no timer hardware attached")


def _nothing() -> Generator[int, None, None]:
    yield from ()


class KernelWarning:
    """Something the kernel layer warns about (kind, IRQ, time, message)."""

    __slots__ = ("irq", "kind", "message", "time_ns")

    def __init__(self, kind: str, irq: int | None, time_ns: int, message: str) -> None:
        self.kind = kind
        self.irq = irq
        self.time_ns = time_ns
        self.message = message


class Kernel:
    def __init__(self, engine: Engine, ctrl: IrqController, cpus: int, *, arch: str,
                 hz: int = DEFAULT_HZ, irq_nesting: bool = False, split_eoi: bool = False,
                 eoi_on_return: bool = False, tail_chaining: bool = False,
                 save_ns: int = 0, restore_ns: int = 0, atomic_sleep: str = "record",
                 tick_ns: int = 0, timer_softirq_ns: int = 0, seed: int = 0) -> None:
        self.engine = engine
        self.ctrl = ctrl
        self.ncpus = cpus
        self.arch = arch
        self.hz = hz
        self.irq_nesting = irq_nesting
        self.split_eoi = split_eoi
        self.eoi_on_return = eoi_on_return
        self.tail_chaining = tail_chaining
        self.save_ns = save_ns
        self.restore_ns = restore_ns
        self.atomic_sleep_policy = atomic_sleep
        self.tick_ns = tick_ns
        self.timer_softirq_ns = timer_softirq_ns
        self.seed = seed
        self.emit: Emit = _no_emit
        self.descs: dict[int, IrqDesc] = {}
        self.vector_irq: list[dict[int, Any]] = [{} for _ in range(cpus)]
        self.cpus = [Cpu(self, i) for i in range(cpus)]
        self.ctx = [HandlerContext(self, i) for i in range(cpus)]
        self.softirqs = Softirqs(cpus)
        self.sched = Scheduler(self)
        self.ksoftirqd: list[Thread | None] = [None] * cpus
        self.tasklets = Tasklets(self)
        self.workqueue = Workqueue(self)
        self.arch_counts: dict[str, list[int]] = {}
        self.err_count = 0
        #: static ratelimit states of printing functions (kernel.ratelimit)
        self.ratelimits: dict[str, Any] = {}
        self.tick_queued = [False] * cpus
        #: the tick raises the TIMER softirq (Linux); other OS personalities clear it
        self.softirq_tick = True
        #: expired hrtimers waiting for this CPU's timer interrupt
        self.hrtimers: list[list[Callable[[], int]]] = [[] for _ in range(cpus)]
        #: fires a CPU's timer hardware (set by the machine)
        self.raise_local_timer: Callable[[int], None] = _no_timer
        self.warnings: list[KernelWarning] = []
        self.log: deque[tuple[int, str]] = deque(maxlen=LOG_LINES)
        self.spurious_reports = 0
        self.resends = 0
        self._poll_armed = False
        self._warn_kept: dict[tuple[str, int | None], int] = {}
        #: (kind, irq) -> warnings past the burst, counted but not kept
        self.warn_suppressed: dict[tuple[str, int | None], int] = {}
        ctrl.attach(self._notify)

    # -- wiring -----------------------------------------------------------------
    def _notify(self, cpu: int) -> None:
        self.cpus[cpu].notify()

    def irq_entry(self, cpu: Cpu) -> Generator[int, None, None]:
        vector = self.ctrl.acknowledge(cpu.index) if self.ctrl.ack_before_entry else None
        return ivt_handle_interrupt(self, cpu, vector)

    def alloc_irq(self, irq: int, chip: IrqChip, hwirq: int, flow: FlowHandler, flow_name: str,
                  level: bool) -> IrqDesc:
        if irq in self.descs:
            raise ValueError(f"irq {irq} is already allocated")
        desc = IrqDesc(irq, self.ncpus, chip, hwirq, flow, flow_name, level)
        chip.k = self
        self.descs[irq] = desc
        return desc

    def bind_vector(self, cpu: int, vector: int, entry: IrqDesc | Callable[..., Any]) -> None:
        """Install a descriptor or a system-vector handler in a CPU's table."""
        table = self.vector_irq[cpu]
        if vector in table:
            raise ValueError(f"vector {vector:#x} on CPU {cpu} is already in use")
        table[vector] = entry
        if isinstance(entry, IrqDesc):
            entry.vector = vector

    def start(self) -> None:
        for cpu in self.cpus:
            cpu.start(_nothing())

    # -- hrtimers and the tick (kernel/time/hrtimer.c, tick-sched.c) -------------------
    def hrtimer_expire(self, cpu: int, fn: Callable[[], int]) -> None:
        """An hrtimer on ``cpu`` expires now: the CPU's timer hardware raises its
        interrupt, whose handler (``hrtimer_interrupt``) runs ``fn`` in hard-IRQ
        context; ``fn`` returns its CPU cost.  Expiries that meet one timer
        interrupt are run by it together."""
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

    def start_tick(self) -> None:
        """The periodic tick as an hrtimer per CPU (``tick_sched_timer``),
        staggered across CPUs as the kernel's jiffies skew does."""
        period = 1_000_000_000 // self.hz
        for cpu in range(self.ncpus):
            self.engine.at(period * (cpu + 1) // (self.ncpus + 1), self._tick_due, cpu)

    def _tick_due(self, cpu: int) -> None:
        # A tick still waiting for a late timer interrupt absorbs this one: the
        # handler runs once and forwards past the missed periods (hrtimer_forward).
        if not self.tick_queued[cpu]:
            self.tick_queued[cpu] = True
            self.hrtimer_expire(cpu, lambda: self._tick(cpu))
        self.engine.after(1_000_000_000 // self.hz, self._tick_due, cpu)

    def _tick(self, cpu: int) -> int:
        """``tick_sched_timer`` -> ``update_process_times``: the tick work and the
        TIMER softirq (``run_local_timers``; Linux only)."""
        self.tick_queued[cpu] = False
        if self.softirq_tick:
            self.raise_softirq(cpu, TIMER, self.timer_softirq_ns)
        return self.tick_ns

    # -- time, log, warnings ------------------------------------------------------
    def jiffies(self) -> int:
        return self.engine.now * self.hz // 1_000_000_000

    def printk(self, message: str) -> None:
        self.log.append((self.engine.now, message))

    def warn(self, kind: str, irq: int | None, message: str, once: bool = False,
             time_ns: int | None = None) -> None:
        """Record a warning; after WARN_BURST of one kind for one IRQ (or the
        first, with ``once``) further ones are only counted, as printk's rate
        limit does ("callbacks suppressed"), so memory stays bounded."""
        key = (kind, irq)
        kept = self._warn_kept.get(key, 0)
        if kept >= (1 if once else WARN_BURST):
            if not once:
                self.warn_suppressed[key] = self.warn_suppressed.get(key, 0) + 1
            return
        self._warn_kept[key] = kept + 1
        self.warnings.append(KernelWarning(kind, irq, self.engine.now if time_ns is None else time_ns,
                                      message))

    def count_arch(self, row: str, cpu: int) -> None:
        counts = self.arch_counts.get(row)
        if counts is None:
            counts = self.arch_counts[row] = [0] * self.ncpus
        counts[cpu] += 1

    # -- handlers -------------------------------------------------------------------
    def call_handler(self, ctx: HandlerContext, action: IrqAction) -> int:
        ctx.atomic = True
        try:
            res = action.handler(ctx)  # type: ignore[misc]
        except StopSimulation:
            raise
        except (Exception, SystemExit) as exc:  # a driver bug must not end the simulator
            self.printk(f"irq {action.irq}: handler {self.handler_symbol(action, False)} raised {exc!r}")
            self.warn("handler-exception", action.irq,
                      f"handler {action.name} of irq {action.irq} raised {type(exc).__name__}: {exc}",
                      once=True)
            return IRQ_NONE
        return res if isinstance(res, int) else IRQ_NONE

    def handler_symbol(self, action: IrqAction, thread: bool) -> str:
        """``%ps`` of a handler: ``function [module]`` for driver code."""
        fn = action.thread_fn if thread else action.handler
        name = getattr(fn, "symbol", None) or getattr(fn, "__qualname__", None) or repr(fn)
        module = getattr(fn, "module", None)
        return f"{name} [{module}]" if module else str(name)

    def atomic_sleep(self, ctx: HandlerContext, what: str, site: str) -> None:
        """``BUG: scheduling while atomic`` (kernel/sched/core.c __schedule_bug)."""
        msg = f"BUG: scheduling while atomic: {what} in irq {ctx.irq} handler at {site}"
        self.printk(msg)
        self.warn("atomic-sleep", ctx.irq, msg, time_ns=ctx.now)
        if self.atomic_sleep_policy == "bug":
            raise StopSimulation(msg)

    # -- services for handlers ------------------------------------------------------
    def raise_softirq(self, cpu: int, nr: int, cost_ns: int = 0) -> None:
        self.softirqs.queued_ns[cpu][nr] += cost_ns
        if not self.softirqs.pending[cpu] >> nr & 1:
            self.softirqs.raise_(self, cpu, nr)

    def wakeup_softirqd(self, cpu: int) -> None:
        wakeup_softirqd(self, cpu)

    def need_resched(self, cpu: int) -> bool:
        return self.sched.need_resched(cpu)

    def disable_irq(self, irq: int) -> None:
        manage.disable_irq(self, irq)

    def enable_irq(self, irq: int) -> None:
        manage.enable_irq(self, irq)

    def irq_wake_thread(self, desc: IrqDesc, action: IrqAction) -> None:
        if action.thread_fn is None:
            self.printk(f"IRQ {desc.irq} device {action.name} returned IRQ_WAKE_THREAD "
                        "but no thread function available.")
        else:
            irq_wake_thread(self, desc, action)

    def setup_irq_thread(self, desc: IrqDesc, action: IrqAction) -> None:
        setup_irq_thread(self, desc, action)

    def schedule_work(self, cpu: int, work: Work) -> bool:
        """``schedule_work`` on the system workqueue; False if already pending."""
        return self.workqueue.queue_work_on(cpu, work)

    def tasklet_schedule(self, cpu: int, tasklet: Tasklet) -> bool:
        """False if the tasklet was already scheduled."""
        return self.tasklets.schedule(cpu, tasklet)

    def napi_schedule(self, cpu: int, napi: Any) -> None:
        from irqlab.kernel.napi import napi_schedule

        napi_schedule(napi, cpu)

    def sw_resend(self, desc: IrqDesc) -> None:
        """Software resend (resend.c tasklet): replay the flow handler on the
        line's CPU."""
        c = self.cpus[desc.affinity]

        def replay(_: object) -> None:
            c.start(desc.handle_irq(self, desc, c.index))

        self.engine.after(0, replay)

    # -- special vectors ---------------------------------------------------------------
    def spurious_vector(self, cpu: Cpu, vector: int) -> None:
        """x86 0xFF: ``Spurious APIC interrupt (vector 0xFF) on CPU#%d, should never
        happen.``, SPU row, no EOI.  GIC 1023 / NVIC nothing-pending: no state change."""
        if self.arch == "x86":
            self.count_arch("SPU", cpu.index)
            self.printk(f"Spurious APIC interrupt (vector 0xFF) on CPU#{cpu.index}, should never happen.")

    def no_irq_handler(self, cpu: Cpu, vector: int) -> None:
        c = cpu.index
        if self.arch == "x86":
            self.ctrl.eoi(c, vector)  # apic_eoi(): an un-acked vector would block its class
            msg = f"No irq handler for {c}.{vector}"
        elif self.arch == "arm64":
            if self.split_eoi:
                self.ctrl.deactivate(c, vector)
            else:
                self.ctrl.eoi(c, vector)
            msg = f"Unexpected interrupt (irqnr {vector})"
        else:
            msg = f"Spurious interrupt: no handler for exception {vector}"
        self.err_count += 1
        self.printk(msg)
        self.warn("no-handler", None, msg)

    def local_timer(self, k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
        """The tick as a system vector: x86 ``sysvec_apic_timer_interrupt`` (EOI
        first, LOC row) or the Cortex-M SysTick exception (ended by the exception
        return); then the tick work and the TIMER softirq."""
        c = cpu.index
        name, row = ("local_timer", "LOC") if self.arch == "x86" else ("systick", "SysTick")
        self.emit(self.engine.now, c, VECTOR_ENTRY, -1, vector, name)
        if self.arch == "x86":
            self.ctrl.eoi(c, vector)
        self.count_arch(row, c)
        cost = self.run_hrtimers(c)
        if cost:
            yield cost
        self.emit(self.engine.now, c, VECTOR_EXIT, -1, vector, name)

    def timer_interrupt(self, ctx: HandlerContext) -> int:
        """The tick as an ordinary per-CPU IRQ (arm64 ``arch_timer_handler_phys``):
        reprogram the comparator (which drops the level line), tick work, TIMER
        softirq.  ``dev_id`` is the list of per-CPU timer devices."""
        timers = ctx.action.dev_id  # type: ignore[union-attr]
        timers[ctx.cpu].service(timers[ctx.cpu].status)
        ctx.cost += self.run_hrtimers(ctx.cpu)
        return IRQ_HANDLED

    # -- spurious poll (spurious.c poll_spurious_irqs) --------------------------------
    def start_spurious_poll(self) -> None:
        if not self._poll_armed:
            self._poll_armed = True
            self.engine.after(self._poll_interval_ns(), self._poll)

    def _poll_interval_ns(self) -> int:
        return (self.hz // 10) * 1_000_000_000 // self.hz  # POLL_SPURIOUS_IRQ_INTERVAL = HZ/10

    def _poll(self, _: object) -> None:
        if poll_spurious_irqs(self):
            self.engine.after(self._poll_interval_ns(), self._poll)
        else:
            self._poll_armed = False

    def poll_actions(self, desc: IrqDesc) -> None:
        """``try_one_irq``: run the handlers of a disabled shared line from the
        poll timer (on CPU 0, accounted as softirq time)."""
        c = self.cpus[0]
        if c.in_irq or not desc.istate & IRQS_SPURIOUS_DISABLED:
            return
        c.start(try_one_irq(self, desc, 0))

    # -- /proc/interrupts ---------------------------------------------------------------
    def snapshot(self) -> CounterSnapshot:
        """Counters as ``/proc/interrupts`` and ``/proc/softirqs`` would show them."""
        snap = CounterSnapshot(cpus=self.ncpus, ts_ns=self.engine.now)
        for irq in sorted(self.descs):
            d = self.descs[irq]
            if not d.action:
                continue  # show_interrupts skips IRQs without an action
            names = [a.name for a in d.action]
            snap.rows[str(irq)] = CounterRow(
                label=str(irq), per_cpu=list(d.kstat), chip=d.chip.name, hwirq=str(d.hwirq),
                trigger=("Level" if d.level else "Edge") if self.arch != "x86" else d.name,
                flow=d.name, name=", ".join(names), handlers=names,
            )
        rows = [r for r in X86_ROWS if r in self.arch_counts or (self.arch == "x86" and r in ("LOC", "SPU"))]
        rows += [r for r in self.arch_counts if r not in X86_ROWS]
        for row in rows:
            counts = self.arch_counts.get(row, [0] * self.ncpus)
            desc = X86_ROWS.get(row) or ("SysTick exceptions" if row == "SysTick" else row)
            snap.rows[row] = CounterRow(label=row, per_cpu=list(counts), name=desc)
        if self.arch == "x86":
            snap.rows["ERR"] = CounterRow(label="ERR", per_cpu=[self.err_count])
            snap.rows["MIS"] = CounterRow(label="MIS", per_cpu=[0])
        else:
            snap.rows["Err"] = CounterRow(label="Err", per_cpu=[self.err_count])
        for nr, name in enumerate(SOFTIRQ_NAMES):
            snap.softirqs[name] = list(self.softirqs.counts[nr])
        return snap

    def rng(self, name: str) -> random.Random:
        from irqlab.sim.rng import stream

        return stream(self.seed, name)
