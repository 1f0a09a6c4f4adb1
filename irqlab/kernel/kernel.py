"""The kernel's interrupt layer for one machine: a facade binding one controller and
one architecture (``arch.Arch``) to the generic parts: descriptors and vector tables,
CPUs, softirqs, threads, IPIs and the CPU topology (``smp``), the tick, the log
(``printk``), ``/proc`` (``proc``), the spurious poll.  Controller differences are data
from the platform (ack before entry, split EOI, EOI on exception return with
tail-chaining, nesting); an OS personality may give its own ``irq_entry``."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

from irqlab.events import CounterSnapshot, Tracepoints
from irqlab.kernel import manage
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.cpu import Cpu
from irqlab.kernel.cpuhotplug import CpuHotplug
from irqlab.kernel.desc import FlowHandler, IrqDesc
from irqlab.kernel.dispatch import IrqFrame, ivt_handle_interrupt
from irqlab.kernel.handle import poll_irq
from irqlab.kernel.printk import KernelLog
from irqlab.kernel.proc import IrqStat, show_interrupts
from irqlab.kernel.sched import Scheduler, Thread
from irqlab.kernel.smp import Smp
from irqlab.kernel.softirq import Softirqs
from irqlab.kernel.spurious import PollTimer
from irqlab.kernel.tasklet import Tasklets
from irqlab.kernel.tick import Tick
from irqlab.kernel.topology import Topology
from irqlab.kernel.workqueue import Workqueue

if TYPE_CHECKING:
    from irqlab.kernel.arch import Arch, Controller
    from irqlab.kernel.chip import IrqChip
    from irqlab.sim.engine import Engine

DEFAULT_HZ = 250  # CONFIG_HZ of Debian/Ubuntu generic kernels
#: takes an interrupt on a CPU: the dispatch to step, or None when it runs as a state machine
IrqEntry = Callable[[Cpu], Generator[int, None, None] | None]


def _no_timer(cpu: int) -> None:
    raise RuntimeError("this kernel has no timer hardware attached")


class Kernel:
    def __init__(self, engine: Engine, ctrl: Controller, cpus: int, *, arch: Arch,
                 hz: int = DEFAULT_HZ, irq_nesting: bool = False, split_eoi: bool = False,
                 eoi_on_return: bool = False, tail_chaining: bool = False,
                 save_ns: int = 0, restore_ns: int = 0, atomic_sleep: str = "record",
                 tick_ns: int = 0, timer_softirq_ns: int = 0, tick_softirq: bool = True,
                 raise_local_timer: Callable[[int], None] = _no_timer,
                 irq_entry: IrqEntry | None = None, trace: Tracepoints | None = None,
                 topology: Topology | None = None) -> None:
        self.engine = engine
        self.ctrl = ctrl
        #: the controller's constants, read once (not through the protocol per interrupt)
        self.spurious_id = ctrl.spurious
        self.ack_before_entry = ctrl.ack_before_entry
        self.ncpus = cpus
        self.cpu_online_mask = (1 << cpus) - 1  # bit N: CPU N is online (kernel.cpuhotplug)
        self.arch = arch
        self.hz = hz
        self.irq_nesting = irq_nesting
        self.split_eoi = split_eoi
        self.eoi_on_return = eoi_on_return
        self.tail_chaining = tail_chaining
        self.save_ns = save_ns
        self.restore_ns = restore_ns
        self.atomic_sleep_policy = atomic_sleep
        self.trace = trace if trace is not None else Tracepoints()
        self.klog = KernelLog(lambda: engine.now)
        self.printk = self.klog.printk
        self.warn = self.klog.warn
        self.log = self.klog.lines
        self.warnings = self.klog.warnings
        self.irq_entry: IrqEntry = irq_entry if irq_entry is not None else self._irq_entry
        self.descs: dict[int, IrqDesc] = {}
        self.vector_irq: list[dict[int, Any]] = [{} for _ in range(cpus)]
        self.cpus = [Cpu(self, i) for i in range(cpus)]
        self.handler_ctx = [HandlerContext(self, i) for i in range(cpus)]
        self.softirqs = Softirqs(cpus)
        self.irq_frames = [IrqFrame(self, c, IrqFrame(self, c)) for c in self.cpus]
        self.sched = Scheduler(self)
        self.smp = Smp(self, topology or Topology(cpus))
        self.ksoftirqd: list[Thread | None] = [None] * cpus
        self.tasklets = Tasklets(self)
        self.workqueue = Workqueue(self)
        self.irq_stat = IrqStat(cpus)
        self.tick = Tick(self, raise_local_timer, tick_ns=tick_ns,
                         timer_softirq_ns=timer_softirq_ns, softirq=tick_softirq)
        self.irqpoll = PollTimer(self)
        self.hotplug = CpuHotplug(self)
        #: static ratelimit states of printing functions (kernel.ratelimit)
        self.ratelimits: dict[str, Any] = {}
        self.spurious_reports = 0
        self.resends = 0
        ctrl.attach(self._notify)

    # -- wiring -----------------------------------------------------------------
    def _notify(self, cpu: int) -> None:
        self.cpus[cpu].notify()

    def _irq_entry(self, cpu: Cpu) -> Generator[int, None, None] | None:
        vector = self.ctrl.acknowledge(cpu.index) if self.ack_before_entry else None
        frame = self.irq_frames[cpu.index]
        if frame.busy:  # nested: the inner frame, deeper the generator
            inner = frame.inner
            if inner is None or inner.busy:
                return ivt_handle_interrupt(self, cpu, vector)
            frame = inner
        frame.enter(vector)
        return None

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
            cpu.kick()  # nothing to run: settle (idle, or take what is pending)

    def take_spurious(self, cpu: int) -> None:
        """The CPU was signalled but the controller had nothing: its spurious
        id (x86 0xFF, GIC 1023) is taken, if interrupts are enabled there."""
        c = self.cpus[cpu]
        if c.irqs_on and not c.in_kernel:
            c.irqs_on = False  # the CPU accepted an interrupt
            c.start(ivt_handle_interrupt(self, c, self.spurious_id))

    def jiffies(self) -> int:
        return self.engine.now * self.hz // 1_000_000_000

    def snapshot(self) -> CounterSnapshot:
        return show_interrupts(self)

    # -- services for handlers ------------------------------------------------------
    def raise_softirq(self, cpu: int, nr: int, cost_ns: int = 0) -> None:
        self.softirqs.queued_ns[cpu][nr] += cost_ns
        if not self.softirqs.pending[cpu] >> nr & 1:
            self.softirqs.raise_(self, cpu, nr)

    def disable_irq(self, irq: int) -> None:
        manage.disable_irq(self, irq)

    def enable_irq(self, irq: int) -> None:
        manage.enable_irq(self, irq)

    def irq_set_affinity(self, irq: int, cpus: int | Iterable[int]) -> None:
        """As writing ``/proc/irq/N/smp_affinity_list`` (``manage.irq_set_affinity``)."""
        manage.irq_set_affinity(self, irq, cpus)

    def poll_irq(self, desc: IrqDesc) -> None:
        poll_irq(self, desc)
