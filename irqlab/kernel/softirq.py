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
        """``handle_softirqs``: enters the bounded restart loop and returns the
        generator of the rest (callers ``yield from`` it at once)."""
        loop = SoftirqLoop(k, c)
        return loop.drive(loop.start(from_ksoftirqd))


#: what a softirq action returned (its CPU time, or a generator yielding it); None: the loop ended
ActionResult = int | Generator[int, None, None] | None


class SoftirqLoop:
    """One CPU's ``handle_softirqs`` cut at each action's call: ``start`` and
    ``next`` run the loop up to the next pending vector's action, call it and
    return its result (None once the loop has ended), ``action_done`` follows
    the action's CPU time.  ``drive`` runs it as a generator; the interrupt
    exit (``dispatch.IrqFrame``) runs it as a state machine, with the same
    events, CPU segments and hand-off to ksoftirqd."""

    __slots__ = ("c", "end", "from_ksoftirqd", "handler_ctx", "k", "max_jiffies", "nr", "pending",
                 "prev_ctx", "restart", "softirqs")

    def __init__(self, k: Kernel, c: Cpu) -> None:
        self.k = k
        self.c = c
        self.softirqs = k.softirqs
        self.handler_ctx = k.handler_ctx[c.index]
        self.from_ksoftirqd = False
        self.max_jiffies = msecs_to_jiffies(MAX_SOFTIRQ_TIME_MS, k.hz)  # MAX_SOFTIRQ_TIME
        self.end = 0  # the jiffy at which the loop gives up
        self.restart = 0  # passes left (MAX_SOFTIRQ_RESTART)
        self.prev_ctx = 0
        self.pending = 0  # this pass's vectors not yet run, vector ``nr`` in bit 0
        self.nr = 0

    def start(self, from_ksoftirqd: bool) -> ActionResult:
        """Enter the loop; returns the first action's result (None: nothing ran)."""
        k = self.k
        self.from_ksoftirqd = from_ksoftirqd
        self.end = k.jiffies() + self.max_jiffies
        self.restart = MAX_SOFTIRQ_RESTART
        self.softirqs.running[self.c.index] = True
        self.prev_ctx = self.c.ctx
        self._pass()
        return self.next()

    def _pass(self) -> None:
        """Take this pass's pending vectors, interrupts enabled."""
        pending = self.softirqs.pending
        cpu = self.c.index
        self.pending = pending[cpu]
        pending[cpu] = 0
        self.nr = 0
        self.c.irqs_on = True  # local_irq_enable()

    def next(self) -> ActionResult:
        """Run the next pending vector's action and return its result; at the
        end of a pass restart, hand off to ksoftirqd or leave the loop (None)."""
        k = self.k
        c = self.c
        cpu = c.index
        softirqs = self.softirqs
        while True:
            pending = self.pending
            while pending:
                if pending & 1:
                    nr = self.nr
                    self.pending = pending
                    softirqs.counts[nr][cpu] += 1
                    k.trace.emit(k.engine.now, cpu, SOFTIRQ_ENTRY, -1, nr, SOFTIRQ_NAMES[nr])
                    c.ctx = SOFTIRQ
                    action = softirqs.actions[nr]
                    self.handler_ctx.atomic = True
                    return softirqs.default_action(k, cpu, nr) if action is None else action(k, cpu)
                pending >>= 1
                self.nr += 1
            c.irqs_on = False  # local_irq_disable()
            if not softirqs.pending[cpu]:
                break
            self.restart -= 1
            if k.jiffies() < self.end and not k.sched.need_resched(cpu) and self.restart:
                self._pass()
                continue
            if not self.from_ksoftirqd:  # ksoftirqd itself just stays runnable
                softirqs.handoffs[cpu] += 1
                wakeup_softirqd(k, cpu)
            break
        c.ctx = self.prev_ctx
        softirqs.running[cpu] = False
        return None

    def action_done(self) -> None:
        """The action's time is over: its exit event."""
        k = self.k
        nr = self.nr
        self.c.ctx = SOFTIRQ
        k.trace.emit(k.engine.now, self.c.index, SOFTIRQ_EXIT, -1, nr, SOFTIRQ_NAMES[nr])
        self.pending >>= 1
        self.nr = nr + 1

    def drive(self, result: ActionResult) -> Generator[int, None, None]:
        """The rest of the loop as a generator, from an action's result on."""
        while result is not None:
            if isinstance(result, int):
                if result:
                    yield result
            else:
                yield from result
            self.action_done()
            result = self.next()
