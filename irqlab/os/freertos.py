"""FreeRTOS on a Cortex-M (``machine.os = "freertos"``): ISRs hand work to
tasks through ``...FromISR`` APIs and ask for the context switch through
PendSV (``FreeRTOS-Kernel/portable/GCC/ARM_CM4F/port.c``, ``portmacro.h``).

* An ISR calls e.g. ``xQueueSendFromISR`` or ``xSemaphoreGiveFromISR``; when
  that readies a task of higher priority than the running one,
  ``*pxHigherPriorityTaskWoken`` is set and ``portYIELD_FROM_ISR`` pends
  PendSV (ICSR.PENDSVSET, bit 28).
* PendSV (exception 14) and SysTick run at ``configKERNEL_INTERRUPT_PRIORITY``,
  the lowest, so PendSV is taken only when every ISR has returned, by
  tail-chaining; its handler switches to the highest-priority ready task
  (``vTaskSwitchContext``).
* The kernel masks interrupts with BASEPRI = ``configMAX_SYSCALL_INTERRUPT_PRIORITY``.
  ISRs at a higher logical priority (numerically lower) are never masked and
  must not call the API: ``vPortValidateInterruptPriority`` asserts
  ``ucCurrentPriority >= ucMaxSysCallPriority``; here the violation is
  recorded as a kernel warning.

As a scenario's personality (:class:`FreeRtosOs`), each ``machine.task``
waits on its counting semaphore (``xSemaphoreCreateCounting``) and spends its
``cost`` per item taken; a device whose ``handler.give`` names it gives the
semaphore once per request its ISR cleared, then ``portYIELD_FROM_ISR``.
A task that finds its semaphore empty blocks, and ``portYIELD`` pends PendSV
to switch away.  Task CPU time runs as threads of the kernel's scheduler at
SCHED_FIFO with the task's priority (FreeRTOS's fixed-priority preemptive
order); there is no softirq, and the tick (SysTick at ``configTICK_RATE_HZ``
= ``machine.hz``) raises none.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from irqlab.events import VECTOR_ENTRY, VECTOR_EXIT
from irqlab.hw.nvic import FIRST_IRQ, PENDSV, SYSTICK, Nvic
from irqlab.kernel.sched import SCHED_FIFO, SLEEP, SLEEPING, Sleep
from irqlab.machine.errors import BuildError
from irqlab.os.base import nvic_facts, os_kernel
from irqlab.osview import NVIC, OsView

if TYPE_CHECKING:
    from irqlab.hw.remapping import RemapUnit
    from irqlab.kernel.action import Handler, HandlerContext
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel
    from irqlab.kernel.sched import Thread
    from irqlab.machine.machine import Machine
    from irqlab.platform.base import Board

#: FreeRTOSConfig.h values of the STM32 demos (reference section 9.2)
CONFIG_KERNEL_INTERRUPT_PRIORITY = 255
CONFIG_MAX_SYSCALL_INTERRUPT_PRIORITY = 191
#: PendSV handler: save r4-r11, vTaskSwitchContext, restore (model parameter, ns)
DEFAULT_SWITCH_NS = 500
#: context switches kept for inspection (a trace buffer: older ones are dropped)
SWITCH_LOG = 1024


class Task:
    """A task: higher ``priority`` runs first (FreeRTOS order)."""

    __slots__ = ("give_failed", "given", "name", "priority", "ready", "switched_in", "taken")

    def __init__(self, name: str, priority: int) -> None:
        self.name = name
        self.priority = priority
        self.ready = True
        self.switched_in = 0
        #: semaphore gives from ISRs, gives refused (errQUEUE_FULL), items taken
        self.given = 0
        self.give_failed = 0
        self.taken = 0

    def __repr__(self) -> str:
        return f"<Task {self.name} prio {self.priority}>"


class Queue:
    """A queue of ``length`` items; ``waiting`` tasks are blocked on receive."""

    __slots__ = ("items", "length", "waiting")

    def __init__(self, length: int) -> None:
        self.length = length
        self.items: deque[Any] = deque()
        self.waiting: list[Task] = []


class FreeRtos:
    """The FreeRTOS port installed on a Cortex-M :class:`Kernel`."""

    def __init__(self, k: Kernel, max_syscall_priority: int = CONFIG_MAX_SYSCALL_INTERRUPT_PRIORITY,
                 switch_ns: int = DEFAULT_SWITCH_NS) -> None:
        if not isinstance(k.ctrl, Nvic):
            raise ValueError("FreeRTOS runs on the Cortex-M (armv7m) machine")
        self.k = k
        nvic = k.ctrl
        self.nvic = nvic
        impl = (0xFF << (8 - nvic.priority_bits)) & 0xFF
        # port.c: ucMaxSysCallPriority = configMAX_SYSCALL_INTERRUPT_PRIORITY & ucMaxPriorityValue
        self.max_syscall = max_syscall_priority & impl
        if not self.max_syscall:
            raise ValueError("configMAX_SYSCALL_INTERRUPT_PRIORITY must not be 0 "
                             f"(with {nvic.priority_bits} priority bits: {max_syscall_priority})")
        self.switch_ns = switch_ns
        nvic.set_priority(PENDSV, CONFIG_KERNEL_INTERRUPT_PRIORITY)
        nvic.set_priority(SYSTICK, CONFIG_KERNEL_INTERRUPT_PRIORITY)
        k.bind_vector(0, PENDSV, self.xPortPendSVHandler)
        self.idle = Task("IDLE", 0)
        self.tasks: list[Task] = [self.idle]
        self.current = self.idle
        self.switches: deque[tuple[int, str, str]] = deque(maxlen=SWITCH_LOG)  # (time, from, to)

    # -- tasks and objects ---------------------------------------------------------------
    def task_create(self, name: str, priority: int) -> Task:
        t = Task(name, priority)
        self.tasks.append(t)
        return t

    def queue_create(self, length: int) -> Queue:
        if length < 1:
            raise ValueError(f"queue length must be >= 1, got {length}")
        return Queue(length)

    def semaphore_create_binary(self) -> Queue:
        """A binary semaphore is a queue of one item, created empty."""
        return self.queue_create(1)

    def semaphore_create_counting(self, max_count: int) -> Queue:
        """``xSemaphoreCreateCounting(max_count, 0)``: a queue of ``max_count``
        items, created empty."""
        return self.queue_create(max_count)

    def block_on(self, task: Task, queue: Queue) -> None:
        """``task`` waits for ``queue`` (as xQueueReceive with portMAX_DELAY)."""
        task.ready = False
        queue.waiting.append(task)
        if task is self.current:
            self.current = self._highest_ready()

    def task_block(self, task: Task, queue: Queue) -> None:
        """The running ``task`` blocks on an empty ``queue`` (xSemaphoreTake
        with portMAX_DELAY): it leaves the ready list and ``portYIELD`` pends
        PendSV, whose handler switches to the highest-priority ready task."""
        task.ready = False
        queue.waiting.append(task)
        self.nvic.set_pending(PENDSV)

    def _highest_ready(self) -> Task:
        return max((t for t in self.tasks if t.ready), key=lambda t: t.priority)

    # -- ISR API ------------------------------------------------------------------------
    def port_validate_interrupt_priority(self, ctx: HandlerContext, api: str) -> bool:
        """``vPortValidateInterruptPriority``: False (and a warning) when the
        calling ISR is above configMAX_SYSCALL_INTERRUPT_PRIORITY."""
        prio = self.nvic.priority(ctx.irq + FIRST_IRQ)
        if prio >= self.max_syscall:
            return True
        self.k.warn(
            "freertos-priority", ctx.irq,
            f"configASSERT( ucCurrentPriority >= ucMaxSysCallPriority ) failed in "
            f"vPortValidateInterruptPriority: IRQ{ctx.irq} at priority {prio:#04x} is above "
            f"configMAX_SYSCALL_INTERRUPT_PRIORITY ({self.max_syscall:#04x}) and called {api}")
        return False

    def xQueueSendFromISR(self, ctx: HandlerContext, queue: Queue, item: Any,
                          api: str = "xQueueSendFromISR") -> tuple[bool, bool]:
        """(pdPASS, xHigherPriorityTaskWoken); (False, False) when the queue is full."""
        self.port_validate_interrupt_priority(ctx, api)
        if len(queue.items) >= queue.length:
            return False, False  # errQUEUE_FULL
        queue.items.append(item)
        woken = False
        if queue.waiting:
            task = max(queue.waiting, key=lambda t: t.priority)
            queue.waiting.remove(task)
            task.ready = True
            woken = task.priority > self.current.priority
        return True, woken

    def xSemaphoreGiveFromISR(self, ctx: HandlerContext, sem: Queue) -> tuple[bool, bool]:
        """The macro for ``xQueueGiveFromISR``, which validates the priority."""
        return self.xQueueSendFromISR(ctx, sem, None, "xQueueGiveFromISR")

    def portYIELD_FROM_ISR(self, woken: bool) -> None:
        """``portEND_SWITCHING_ISR``: pend PendSV if a higher task was woken."""
        if woken:
            self.nvic.set_pending(PENDSV)

    # -- PendSV -------------------------------------------------------------------------
    def xPortPendSVHandler(self, k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
        """Save the context, ``vTaskSwitchContext``, restore the new task's."""
        c = cpu.index
        k.trace.emit(k.engine.now, c, VECTOR_ENTRY, -1, vector, "PendSV_Handler")
        k.irq_stat.inc("PendSV", c)
        if self.switch_ns:
            yield self.switch_ns
        prev = self.current
        self.current = self._highest_ready()
        if self.current is not prev:
            self.current.switched_in += 1
        self.switches.append((k.engine.now, prev.name, self.current.name))
        k.trace.emit(k.engine.now, c, VECTOR_EXIT, -1, vector, "PendSV_Handler")


class FreeRtosOs:
    """The FreeRTOS personality of a Cortex-M machine (see the module docstring)."""

    name = "freertos"

    def __init__(self, m: Machine, board: Board) -> None:
        if not isinstance(board.ctrl, Nvic):
            raise BuildError("machine.os = 'freertos': FreeRTOS runs on the Cortex-M (armv7m) machine")
        self.kernel = k = os_kernel(m, board, tick_softirq=False)
        try:
            self.rtos = rtos = FreeRtos(k)
        except ValueError as exc:
            raise BuildError(f"machine.os = 'freertos': {exc}") from None
        #: task name -> (task, its semaphore, the thread running its code)
        self.tasks: dict[str, tuple[Task, Queue, Thread]] = {}
        for spec in getattr(m.spec.machine, "task", []):
            task = rtos.task_create(spec.name, spec.priority)
            sem = rtos.semaphore_create_counting(spec.depth)
            rtos.block_on(task, sem)
            thread = k.sched.kthread_create(spec.name, 0, self._task_body(task, sem, spec.cost),
                                            policy=SCHED_FIFO, prio=spec.priority)
            self.tasks[spec.name] = (task, sem, thread)

    def _task_body(self, task: Task, sem: Queue, cost: int) -> Generator[int | Sleep, None, None]:
        while True:
            if not sem.items:
                self.rtos.task_block(task, sem)
                yield SLEEP
                continue
            sem.items.popleft()
            task.taken += 1
            yield cost

    def give_from_isr(self, ctx: HandlerContext, name: str, n: int) -> None:
        """An ISR gives task ``name``'s semaphore ``n`` times
        (``xSemaphoreGiveFromISR``), then ``portYIELD_FROM_ISR``."""
        task, sem, thread = self.tasks[name]
        woken = False
        for _ in range(n):
            ok, higher = self.rtos.xSemaphoreGiveFromISR(ctx, sem)
            woken |= higher
            if ok:
                task.given += 1
            else:
                task.give_failed += 1
        if sem.items and thread.state == SLEEPING:
            self.kernel.sched.wake_up_process(thread)
        self.rtos.portYIELD_FROM_ISR(woken)

    def finish(self, m: Machine) -> None:
        return None

    def iommu_fault_isr(self, m: Machine, unit: RemapUnit) -> tuple[Handler | None, Handler | None]:
        raise BuildError("machine.os = 'freertos': no IOMMU on a Cortex-M")

    def report_view(self) -> OsView:
        """The NVIC's exceptions by CMSIS handler, with their tail-chained and
        late-arrival entries; no ``/proc`` tables and no softirqs."""
        return OsView(os=self.name, sections=(NVIC,), facts={NVIC: nvic_facts(self.kernel)})

    def results(self) -> list[dict[str, Any]]:
        """One row per task, as ``vTaskList`` and the run-time stats show them."""
        sched = self.kernel.sched
        rows = []
        for task in self.rtos.tasks:
            entry = self.tasks.get(task.name)
            rows.append({
                "task": task.name, "priority": task.priority,
                "state": ("Running" if task is self.rtos.current
                          else "Ready" if task.ready else "Blocked"),
                "runtime_us": round(sched.runtime_ns(entry[2]) / 1000, 3) if entry else None,
                "switched_in": task.switched_in,
                "xSemaphoreGiveFromISR": task.given, "errQUEUE_FULL": task.give_failed,
                "taken": task.taken,
            })
        return rows
