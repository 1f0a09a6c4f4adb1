"""One CPU's execution: what runs, what it preempted, and where time goes.

Work is a stack of *segments* (CPU time of one context: hard IRQ, softirq,
system, user).  ``exec`` starts a segment on top; if something was running it
is preempted and banked with its remaining time; when the top segment ends its
continuation runs and, if it starts nothing, the preempted segment resumes.
Interrupt code is written as generators yielding CPU costs (see
``dispatch.py``); ``step`` drives them, running zero-cost steps inline.

Time is accounted per context as ``/proc/stat`` does (user, system, irq,
softirq, idle), interrupt entry/exit included in ``irq``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Final

from irqlab.sim.engine import Engine, Timer

if TYPE_CHECKING:
    from irqlab.kernel.arch import Controller
    from irqlab.kernel.kernel import Kernel

# /proc/stat columns (fs/proc/stat.c), irqlab's accounting buckets.
USER: Final = 0
SYSTEM: Final = 1
IRQ: Final = 2
SOFTIRQ: Final = 3
IDLE: Final = 4
CONTEXT_NAMES = ("user", "system", "irq", "softirq", "idle")

Work = Generator[int, None, Any]


class Segment:
    """CPU time of one context: ``remaining`` ns of ``kind`` counted from
    ``started``, then ``cont(arg)``.  ``seq`` tells its completion event from
    a stale one (the segment was preempted and resumed since)."""

    __slots__ = ("arg", "cont", "kind", "remaining", "seq", "started")

    def __init__(self, kind: int, remaining: int, started: int, cont: Callable[[Any], None],
                 arg: Any, seq: int) -> None:
        self.kind = kind
        self.remaining = remaining
        self.started = started
        self.cont = cont
        self.arg = arg
        self.seq = seq


class Cpu(Timer):
    __slots__ = (
        "_deliverable", "_step_cb", "chain", "ctrl", "ctx", "cur", "engine", "in_irq",
        "in_kernel", "index", "irqs_on", "k", "on_idle", "saved", "seq", "spare", "time",
    )

    def __init__(self, k: Kernel, index: int) -> None:
        self.k = k
        self.index = index
        self.engine: Engine = k.engine
        self.ctrl: Controller = k.ctrl
        self.cur: Segment | None = None
        self.saved: list[Segment] = []  # preempted segments, innermost last
        self.spare: Segment | None = None  # the last ended segment, for reuse
        self.seq = 0  # sequence number of the last segment started or resumed
        self.irqs_on = True
        self.in_kernel = False  # re-entrancy guard while kernel code runs inline
        self.in_irq = 0  # hard-IRQ nesting depth
        self.ctx = IRQ  # context of the segments the running generator yields
        self.chain = False  # an exception return just happened (NVIC tail-chaining)
        self.time = [0, 0, 0, 0, 0]
        self.on_idle: Callable[[Cpu], None] | None = None
        # Bound once: scheduled for every segment.
        self._step_cb = self.step
        # Bound once: asked after every segment (not looked up through the protocol).
        self._deliverable = self.ctrl.deliverable

    # -- segments ---------------------------------------------------------------
    def exec(self, kind: int, cost: int, cont: Callable[[Any], None], arg: Any = None) -> None:
        """Run ``cost`` ns of ``kind`` on top of whatever runs, then ``cont(arg)``."""
        engine = self.engine
        now = engine.now
        cur = self.cur
        if cur is not None:
            elapsed = now - cur.started
            cur.remaining -= elapsed
            self.time[cur.kind] += elapsed
            self.saved.append(cur)
        self.seq = seq = self.seq + 1
        s = self.spare
        if s is None:
            self.cur = Segment(kind, cost, now, cont, arg, seq)
        else:  # the record of the segment that just ended: no allocation per segment
            self.spare = None
            s.kind = kind
            s.remaining = cost
            s.started = now
            s.cont = cont
            s.arg = arg
            s.seq = seq
            self.cur = s
        engine.at_timer(now + cost, self, seq)

    def fire(self, seq: int) -> None:
        """Segment ``seq`` ends (the engine's call: a CPU is the Timer of its segments)."""
        cur = self.cur
        if cur is None or cur.seq != seq:
            return  # preempted: this completion is stale
        self.time[cur.kind] += self.engine.now - cur.started
        self.cur = None
        cont, arg = cur.cont, cur.arg
        cur.arg = None
        # Nothing refers to an ended segment any more (the scheduler drops its
        # thread's in its continuation, _run), so the next exec may reuse it.
        self.spare = cur
        self.in_kernel = True
        cont(arg)
        self.in_kernel = False
        self._settle()

    def _settle(self) -> None:
        """After inline kernel work: resume, go idle, or take a pending IRQ."""
        while True:
            if self.cur is None:
                if self.saved:
                    s = self.saved.pop()
                    now = self.engine.now
                    s.started = now
                    self.seq = seq = self.seq + 1
                    s.seq = seq
                    self.cur = s
                    self.ctx = s.kind
                    self.engine.at_timer(now + s.remaining, self, seq)
                elif self.on_idle is not None:
                    self.on_idle(self)
            if not (self.irqs_on and self._deliverable(self.index)):
                return
            self.in_kernel = True
            self.take()
            self.in_kernel = False

    @property
    def busy(self) -> bool:
        return self.cur is not None

    def end_segment(self) -> None:
        """End the running segment now, as if its time were up (its completion
        event goes stale): a vCPU's time in the host ends at VM entry, which
        nobody knows in advance (``irqlab.virt``)."""
        cur = self.cur
        if cur is not None:
            self.fire(cur.seq)

    # -- generators -----------------------------------------------------------
    def step(self, work: Work) -> None:
        """Advance ``work`` until it yields a non-zero cost (run as a segment)."""
        try:
            while True:
                cost = work.send(None)
                if cost:
                    self.exec(self.ctx, cost, self._step_cb, work)
                    return
        except StopIteration:
            return

    def start(self, work: Work) -> None:
        """Start kernel work from outside this CPU's own callbacks."""
        self.in_kernel = True
        self.step(work)
        self.in_kernel = False
        self._settle()

    def kick(self, _: object = None) -> None:
        """Look for work again (a wake-up of an idle CPU's scheduler), unless
        this CPU's own code is running and will do so when it returns."""
        if not self.in_kernel:
            self._settle()

    # -- interrupts -----------------------------------------------------------
    def notify(self, _cpu: int = 0) -> None:
        """The controller says something may be deliverable."""
        if self.in_kernel or not self.irqs_on:
            return  # looked at again when the kernel code returns or IRQs are enabled
        if self._deliverable(self.index):
            self._settle()

    def take(self) -> None:
        """Accept an interrupt: the hardware masks further ones (IF/PSTATE.I)."""
        self.irqs_on = False
        work = self.k.irq_entry(self)
        if work is not None:
            self.step(work)

    def local_irq_enable(self) -> None:
        self.irqs_on = True

    def account(self) -> list[int]:
        """Time per context up to now, including the running segment; time
        when nothing ran is idle."""
        t = list(self.time)
        cur = self.cur
        if cur is not None:
            t[cur.kind] += self.engine.now - cur.started
        t[IDLE] += self.engine.now - sum(t)
        return t
