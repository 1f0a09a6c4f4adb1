"""Softirqs (``kernel/softirq.c``, vectors from ``include/linux/interrupt.h``).

Ten vectors, lowest number first in each pass.  Raised in hard-IRQ context
they run at interrupt exit (``irq_exit`` -> ``invoke_softirq``) with
interrupts enabled; ``handle_softirqs`` restarts while more were raised, for
at most MAX_SOFTIRQ_RESTART = 10 passes and MAX_SOFTIRQ_TIME = 2 ms (in
jiffies: ``msecs_to_jiffies(2)``, checked after each whole pass); what is
still pending then is handed to the per-CPU ksoftirqd thread.  Raised outside
interrupt context, ksoftirqd is woken directly.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Final

from irqlab.events import SOFTIRQ_ENTRY, SOFTIRQ_EXIT, SOFTIRQ_NAMES, SOFTIRQ_RAISE
from irqlab.kernel.cpu import SOFTIRQ
from irqlab.kernel.jiffies import msecs_to_jiffies
from irqlab.kernel.ksoftirqd import wakeup_softirqd

if TYPE_CHECKING:
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel

HI: Final = 0
TIMER: Final = 1
NET_TX: Final = 2
NET_RX: Final = 3
BLOCK: Final = 4
IRQ_POLL: Final = 5
TASKLET: Final = 6
SCHED: Final = 7
HRTIMER: Final = 8
RCU: Final = 9
NR_SOFTIRQS: Final = 10
MAX_SOFTIRQ_TIME_MS: Final = 2
MAX_SOFTIRQ_RESTART: Final = 10

#: a softirq action: called with (kernel, cpu index), returns CPU cost in ns,
#: or a generator yielding costs
SoftirqAction = Callable[["Kernel", int], "int | Generator[int, None, None]"]


class Softirqs:
    """Per-CPU pending bits, the registered actions and the counters."""

    def __init__(self, cpus: int) -> None:
        self.pending = [0] * cpus
        self.running = [False] * cpus
        self.counts = [[0] * cpus for _ in range(NR_SOFTIRQS)]
        self.queued_ns = [[0] * NR_SOFTIRQS for _ in range(cpus)]
        self.actions: list[SoftirqAction | None] = [None] * NR_SOFTIRQS
        self.handoffs = [0] * cpus  # times the loop gave up to ksoftirqd

    def open_softirq(self, nr: int, action: SoftirqAction) -> None:
        self.actions[nr] = action

    def raise_(self, k: Kernel, cpu: int, nr: int) -> None:
        """``raise_softirq_irqoff``; outside interrupt context wake ksoftirqd."""
        self.pending[cpu] |= 1 << nr
        k.trace.emit(k.engine.now, cpu, SOFTIRQ_RAISE, -1, nr, SOFTIRQ_NAMES[nr])
        c = k.cpus[cpu]
        if not c.in_irq and not self.running[cpu] and c.irqs_on:
            wakeup_softirqd(k, cpu)

    def default_action(self, k: Kernel, cpu: int, nr: int) -> int:
        """Vectors without a registered action run the work queued for them by
        handlers (``ctx.raise_softirq(nr, cost)``)."""
        cost = self.queued_ns[cpu][nr]
        self.queued_ns[cpu][nr] = 0
        return cost

    def handle(self, k: Kernel, c: Cpu, from_ksoftirqd: bool = False) -> Generator[int, None, None]:
        """``handle_softirqs``: the bounded restart loop."""
        cpu = c.index
        emit = k.trace.emit
        engine = k.engine
        end = k.jiffies() + msecs_to_jiffies(MAX_SOFTIRQ_TIME_MS, k.hz)
        max_restart = MAX_SOFTIRQ_RESTART
        self.running[cpu] = True
        prev_ctx = c.ctx
        ctx = k.handler_ctx[cpu]
        while True:
            pending = self.pending[cpu]
            self.pending[cpu] = 0
            c.irqs_on = True  # local_irq_enable()
            nr = 0
            while pending:
                if pending & 1:
                    self.counts[nr][cpu] += 1
                    emit(engine.now, cpu, SOFTIRQ_ENTRY, -1, nr, SOFTIRQ_NAMES[nr])
                    c.ctx = SOFTIRQ
                    action = self.actions[nr]
                    ctx.atomic = True
                    result = self.default_action(k, cpu, nr) if action is None else action(k, cpu)
                    if isinstance(result, int):
                        if result:
                            yield result
                    else:
                        yield from result
                    c.ctx = SOFTIRQ
                    emit(engine.now, cpu, SOFTIRQ_EXIT, -1, nr, SOFTIRQ_NAMES[nr])
                pending >>= 1
                nr += 1
            c.irqs_on = False  # local_irq_disable()
            if not self.pending[cpu]:
                break
            max_restart -= 1
            if k.jiffies() < end and not k.sched.need_resched(cpu) and max_restart:
                continue
            if not from_ksoftirqd:  # ksoftirqd itself just stays runnable
                self.handoffs[cpu] += 1
                wakeup_softirqd(k, cpu)
            break
        c.ctx = prev_ctx
        self.running[cpu] = False
