"""FreeRTOS on a Cortex-M: ISRs hand work to tasks through ``...FromISR``
APIs and ask for the context switch through PendSV
(``FreeRTOS-Kernel/portable/GCC/ARM_CM4F/port.c``, ``portmacro.h``).

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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from irqlab.hw.nvic import FIRST_IRQ, PENDSV, SYSTICK, Nvic

if TYPE_CHECKING:
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel

#: FreeRTOSConfig.h values of the STM32 demos (reference section 9.2)
CONFIG_KERNEL_INTERRUPT_PRIORITY = 255
CONFIG_MAX_SYSCALL_INTERRUPT_PRIORITY = 191
#: PendSV handler: save r4-r11, vTaskSwitchContext, restore (model parameter, ns)
DEFAULT_SWITCH_NS = 500


class Task:
    """A task: higher ``priority`` runs first (FreeRTOS order)."""

    __slots__ = ("name", "priority", "ready")

    def __init__(self, name: str, priority: int) -> None:
        self.name = name
        self.priority = priority
        self.ready = True

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
        self.switches: list[tuple[int, str, str]] = []  # (time, from, to)

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
        return Queue(1)

    def block_on(self, task: Task, queue: Queue) -> None:
        """``task`` waits for ``queue`` (as xQueueReceive with portMAX_DELAY)."""
        task.ready = False
        queue.waiting.append(task)
        if task is self.current:
            self.current = self._highest_ready()

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

    def xQueueSendFromISR(self, ctx: HandlerContext, queue: Queue, item: Any) -> tuple[bool, bool]:
        """(pdPASS, xHigherPriorityTaskWoken); (False, False) when the queue is full."""
        self.port_validate_interrupt_priority(ctx, "xQueueSendFromISR")
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
        return self.xQueueSendFromISR(ctx, sem, None)

    def portYIELD_FROM_ISR(self, woken: bool) -> None:
        """``portEND_SWITCHING_ISR``: pend PendSV if a higher task was woken."""
        if woken:
            self.nvic.set_pending(PENDSV)

    # -- PendSV -------------------------------------------------------------------------
    def xPortPendSVHandler(self, k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
        """Save the context, ``vTaskSwitchContext``, restore the new task's."""
        if self.switch_ns:
            yield self.switch_ns
        prev = self.current
        self.current = self._highest_ready()
        self.switches.append((k.engine.now, prev.name, self.current.name))
