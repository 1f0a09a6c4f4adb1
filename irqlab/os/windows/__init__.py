"""The Windows personality (``machine.os = "windows"``) of the top-half /
bottom-half split, on the x86 machine: ISR at device IRQL, DPC at
DISPATCH_LEVEL, work item at PASSIVE_LEVEL.

* IRQL on x64 is the local APIC task priority: CR8 = TPR[7:4], and a device
  vector's IRQL is ``vector >> 4`` (DIRQL, 3..12).  Raising the IRQL masks
  every interrupt at that level and below, which is the APIC's
  "deliverable only above the processor priority" rule (PPR); with nesting
  on, an ISR at a higher DIRQL preempts one at a lower DIRQL.
* ``KiInterruptDispatch`` writes the vector's IRQL to CR8 for the ISR (the
  EOI does not lower it) and restores the previous IRQL after it.
* An ISR queues a DPC (``KeInsertQueueDpc``) on the current CPU's DPC queue;
  a DPC already queued is not queued again (returns FALSE).  When the
  outermost ISR returns and the IRQL drops below DISPATCH_LEVEL, the
  DISPATCH_LEVEL software interrupt drains the queue in order
  (``KiRetireDpcList``) with interrupts enabled at IRQL 2, so device
  interrupts still preempt DPCs.  DPC time is accounted as softirq time.
* A work item (``IoQueueWorkItem``) runs at PASSIVE_LEVEL in a system worker
  thread, which may wait.
* The DPC's life is traced as the kernel's ETW session shows it to WPA:
  ``DPC_QUEUE`` when ``KeInsertQueueDpc`` queues it, ``DPC_ENTRY`` and
  ``DPC_EXIT`` around the routine, named ``module!routine``.  The report
  (:meth:`NtKernel.report_view`) lists ISRs and DPCs per driver, in Perfmon's
  words for CPU time (Processor object: ``% Privileged Time``, ``% Interrupt
  Time``, ``% DPC Time``).

The VT-d fault ISR ``nt!IvtHandleInterrupt`` is one such ISR: modelled here as
the builds that bug-check from the ISR; newer builds only read the fault status
at DIRQL and queue ``IvtIommuFaultLogDeferredRoutine`` as a DPC (reference 8.2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from irqlab.events import DPC_ENTRY, DPC_EXIT, DPC_QUEUE
from irqlab.hw.apic import LOCAL_TIMER_VECTOR, Apic
from irqlab.hw.iommu import FSTS_FRI_SHIFT, FSTS_PFO, FSTS_PPF, FSTS_PRO, VtdUnit
from irqlab.kernel.cpu import SOFTIRQ
from irqlab.kernel.desc import IrqDesc
from irqlab.kernel.dispatch import ivt_handle_interrupt
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.sched import SLEEP, SLEEPING, Sleep
from irqlab.machine.errors import BuildError
from irqlab.os.base import os_kernel
from irqlab.osview import ISR_DPC, OsView
from irqlab.sim.engine import StopSimulation

if TYPE_CHECKING:
    from irqlab.hw.remapping import RemapUnit
    from irqlab.kernel.action import Handler, HandlerContext
    from irqlab.kernel.cpu import Cpu
    from irqlab.machine.machine import Machine
    from irqlab.platform.base import Board

# IRQLs on x64 (wdm.h)
PASSIVE_LEVEL, APC_LEVEL, DISPATCH_LEVEL = 0, 1, 2
CLOCK_LEVEL, IPI_LEVEL, HIGH_LEVEL = 13, 14, 15
#: lowest device IRQL (DIRQL): vectors 0x30 and up
FIRST_DIRQL = 3

#: a DPC or work-item routine: (context) -> CPU cost in ns
Routine = Callable[[Any], int]


def vector_irql(vector: int) -> int:
    """IRQL of an x64 interrupt vector (its APIC priority class)."""
    return vector >> 4


#: the clock ISR: ``HalpTimerClockInterrupt``, in ntoskrnl.exe since the HAL was
#: merged into the kernel (Windows 10 2004); the row /proc would call LOC
CLOCK_ISR = ("LOC", "ntoskrnl.exe", "HalpTimerClockInterrupt", LOCAL_TIMER_VECTOR)


def driver_file(module: str) -> str:
    """The driver's image name as WPA's Module column shows it (``ndis.sys``)."""
    return f"{module}.sys"


class Kdpc:
    """``KDPC``: a deferred procedure call object; ``name`` is ``module!routine``."""

    __slots__ = ("context", "inserted", "name", "routine")

    def __init__(self, name: str, routine: Routine, context: Any = None) -> None:
        self.name = name
        self.routine = routine
        self.context = context
        self.inserted = False


class WorkItem:
    """``IO_WORKITEM``: a routine for a system worker thread."""

    __slots__ = ("context", "name", "queued", "routine")

    def __init__(self, name: str, routine: Routine, context: Any = None) -> None:
        self.name = name
        self.routine = routine
        self.context = context
        self.queued = False


class NtKernel:
    """The Windows personality of one x86 machine: its kernel dispatches
    interrupts through ``KiInterruptDispatch`` and its clock interrupt raises
    no softirq; ISRs nest by IRQL unless the scenario says otherwise (which
    Windows cannot run with)."""

    name = "windows"

    def __init__(self, m: Machine, board: Board) -> None:
        if not isinstance(board.ctrl, Apic):
            raise BuildError("machine.os = 'windows': the Windows personality runs on the x86 "
                             "(APIC) machine")
        self.apic: Apic = board.ctrl
        self.kernel = k = os_kernel(m, board, irq_nesting=True, tick_softirq=False,
                                  irq_entry=self.ki_interrupt_dispatch)
        if not k.irq_nesting:
            raise BuildError("machine.os = 'windows': Windows ISRs nest by IRQL: build the "
                             "machine with irq_nesting = true")
        self.dpc_queue: list[deque[Kdpc]] = [deque() for _ in range(k.ncpus)]
        self.retiring = [False] * k.ncpus
        self.dpcs_run = [0] * k.ncpus
        self.work_queue: deque[WorkItem] = deque()
        self.sched = k.sched

    def finish(self, m: Machine) -> None:
        """Every device vector is a DIRQL; CR8 starts at PASSIVE_LEVEL; the
        system worker thread is created."""
        k = self.kernel
        for cpu, table in enumerate(k.vector_irq):
            for vector, entry in table.items():
                if isinstance(entry, IrqDesc) and vector_irql(vector) < FIRST_DIRQL:
                    raise BuildError(
                        f"machine.os = 'windows': irq {entry.irq}: vector {vector:#04x} on CPU{cpu} "
                        f"is at IRQL {vector_irql(vector)}, not above DISPATCH_LEVEL: device "
                        "vectors start at 0x30 (DIRQL 3)")
        for cpu in range(k.ncpus):
            self.apic.set_tpr(cpu, PASSIVE_LEVEL << 4)
        self.worker = self.sched.kthread_create("System worker", 0, self._worker_body())

    def iommu_fault_isr(self, m: Machine, unit: RemapUnit) -> tuple[Handler | None, Handler | None]:
        if unit.vendor != "intel":
            raise BuildError(f"machine.iommu = '{unit.vendor}': the Windows fault ISR modelled is "
                             "nt!IvtHandleInterrupt, Intel VT-d's")
        return IvtHandleInterrupt(), None

    def results(self) -> list[dict[str, Any]] | None:
        """The system worker threads (work items run there at PASSIVE_LEVEL)."""
        return [{"thread": row["thread"], "cpu": row["cpu"], "irql": "PASSIVE_LEVEL",
                 "runtime_ns": row["runtime_ns"], "wakeups": row["wakeups"]}
                for row in self.sched.table()] or None

    def report_view(self) -> OsView:
        """ISRs and DPCs per driver, no Linux sections; CPU time in Perfmon's
        Processor counters.  Each interrupt row's driver: the module of its
        built-in driver (``ndis`` of ``ndis-miniport``) as an image name, or
        the image a kernel ISR names (``IvtHandleInterrupt``: ntoskrnl.exe)."""
        rows: dict[str, dict[str, Any]] = {}
        k = self.kernel
        for desc in sorted(k.descs.values(), key=lambda d: d.irq):
            if not desc.action or desc.vector < 0:
                continue
            first = desc.action[0]
            image = (getattr(first.handler, "image", None)
                     or driver_file(getattr(first.handler, "module", first.name)))
            rows[str(desc.irq)] = {"driver": image,
                                   "isr": getattr(first.handler, "symbol", first.name),
                                   "vector": desc.vector, "irql": vector_irql(desc.vector)}
        label, image, isr, vector = CLOCK_ISR
        rows[label] = {"driver": image, "isr": isr, "vector": vector, "irql": vector_irql(vector)}
        return OsView(os=self.name, sections=(ISR_DPC,),
                      terms={"system": "privileged", "irq": "interrupt", "hardirq": "interrupt",
                             "softirq": "dpc"},
                      facts={ISR_DPC: {"irqs": rows, "dpc_irql": DISPATCH_LEVEL}})

    # -- IRQL -------------------------------------------------------------------------
    def current_irql(self, cpu: int) -> int:
        """``KeGetCurrentIrql``: the APIC processor priority class."""
        return self.apic.lapics[cpu].ppr() >> 4

    # -- interrupt dispatch -------------------------------------------------------------
    def ki_interrupt_dispatch(self, cpu: Cpu) -> Generator[int, None, None]:
        """Raise the IRQL (CR8) to the vector's DIRQL, run the ISR, lower it
        again; then, when the outermost ISR has returned, the DPC queue at
        DISPATCH_LEVEL."""
        c = cpu.index
        apic = self.apic
        vector = apic.acknowledge(c)
        old_tpr = apic.lapics[c].tpr
        if vector != apic.spurious:
            apic.set_tpr(c, max(old_tpr, vector & 0xF0))
        yield from ivt_handle_interrupt(self.kernel, cpu, vector)
        apic.set_tpr(c, old_tpr)
        if not cpu.in_irq and self.dpc_queue[c] and not self.retiring[c]:
            yield from self.ki_retire_dpc_list(cpu)

    def ki_retire_dpc_list(self, cpu: Cpu) -> Generator[int, None, None]:
        c = cpu.index
        q = self.dpc_queue[c]
        self.retiring[c] = True
        self.apic.set_tpr(c, DISPATCH_LEVEL << 4)
        cpu.irqs_on = True
        emit = self.kernel.trace.emit
        engine = self.kernel.engine
        while q:
            dpc = q.popleft()
            dpc.inserted = False
            self.dpcs_run[c] += 1
            cpu.ctx = SOFTIRQ
            emit(engine.now, c, DPC_ENTRY, -1, 0, dpc.name)
            cost = dpc.routine(dpc.context)
            if cost:
                yield cost
            emit(engine.now, c, DPC_EXIT, -1, 0, dpc.name)
        self.apic.set_tpr(c, PASSIVE_LEVEL << 4)
        self.retiring[c] = False

    # -- services for ISRs and DPCs -------------------------------------------------------
    def ke_insert_queue_dpc(self, ctx: HandlerContext, dpc: Kdpc) -> bool:
        """``KeInsertQueueDpc`` on the current CPU; FALSE if already queued."""
        if dpc.inserted:
            return False
        dpc.inserted = True
        self.dpc_queue[ctx.cpu].append(dpc)
        self.kernel.trace.emit(self.kernel.engine.now, ctx.cpu, DPC_QUEUE, ctx.irq, 0, dpc.name)
        return True

    def io_queue_work_item(self, item: WorkItem) -> bool:
        """``IoQueueWorkItem``: FALSE if the item is already queued."""
        if item.queued:
            return False
        item.queued = True
        self.work_queue.append(item)
        if self.worker.state == SLEEPING:
            self.sched.wake_up_process(self.worker)
        return True

    def _worker_body(self) -> Generator[int | Sleep, None, None]:
        q = self.work_queue
        while True:
            if not q:
                yield SLEEP
                continue
            item = q.popleft()
            item.queued = False
            cost = item.routine(item.context)
            if cost:
                yield cost


#: model parameter: the ISR's cost to read FSTS and walk the fault records
IVT_ISR_NS = 1_500
#: VT-d interrupt-remapping fault reasons, which the ISR only clears (8.2)
IVT_IR_REASONS = range(0x20, 0x29)


def device_object(sid: int) -> int:
    """A stand-in for the ``DEVICE_OBJECT`` address of the PCI device ``sid``."""
    return 0xFFFFD08B00000000 | sid << 12 | 0x060


class IvtHandleInterrupt:
    """``nt!IvtHandleInterrupt``: the Windows ISR of the VT-d fault event.

    As seen in decompiled builds (reference 8.2; not Microsoft documentation):
    read FSTS; if PPF, walk the fault records from FRI; a DMA-remapping fault
    bug-checks the machine with ``KeBugCheckEx(0xE6, 0x26, DeviceObject,
    faulting page, fault reason)`` (DRIVER_VERIFIER_DMA_VIOLATION, "IOMMU detected
    DMA violation"); interrupt-remapping faults are only cleared.  The bug check
    stops the run.
    """

    symbol = "nt!IvtHandleInterrupt"
    #: the image WPA's Module column names
    image = "ntoskrnl.exe"

    def __call__(self, ctx: HandlerContext) -> int:
        unit: VtdUnit = ctx.action.dev_id  # type: ignore[union-attr]
        ctx.cost += IVT_ISR_NS
        fsts = unit.fsts
        if fsts & FSTS_PPF:
            idx = (fsts >> FSTS_FRI_SHIFT) & 0xFF
            while unit.records[idx].fault:
                rec = unit.records[idx]
                if rec.reason not in IVT_IR_REASONS:
                    ke_bug_check_ex(ctx, 0xE6, 0x26, device_object(rec.sid), rec.address >> 12,
                                    rec.reason)
                unit.clear_record(idx)
                idx = (idx + 1) % len(unit.records)
        unit.write_fsts(FSTS_PFO | FSTS_PPF | FSTS_PRO)
        return IRQ_HANDLED


def ke_bug_check_ex(ctx: HandlerContext, code: int, *args: int) -> None:
    """Stop the machine as ``KeBugCheckEx`` does, leaving what the debugger and
    the Event Viewer would show in the log."""
    k = ctx.k
    p = [*args, 0, 0, 0, 0][:4]
    k.printk(f"KeBugCheckEx({code:#x}, {', '.join(f'{a:#x}' for a in p)}) from "
             f"nt!IvtHandleInterrupt on CPU{ctx.cpu}")
    k.printk("BugCheck {:X}, {{{}}}".format(code, ", ".join(f"{a:x}" for a in p)))
    k.printk("Probably caused by : nt!IvtHandleInterrupt")
    line = ("The computer has rebooted from a bugcheck.  The bugcheck was: "
            f"0x{code:08x} ({', '.join(f'0x{a:016x}' for a in p)}).")
    k.printk(line)
    k.warn("bugcheck", ctx.irq, line)
    raise StopSimulation(f"bug check 0x{code:X} DRIVER_VERIFIER_DMA_VIOLATION from nt!IvtHandleInterrupt")
