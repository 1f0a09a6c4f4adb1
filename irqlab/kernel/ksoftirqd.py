"""ksoftirqd/N (``kernel/softirq.c`` ``run_ksoftirqd``, ``smpboot`` threads).

One normal-priority kernel thread per CPU, woken when the softirq restart
loop gives up (2 ms or 10 passes) or when a softirq is raised outside
interrupt context.  It runs the same bounded restart loop (``run_ksoftirqd`` ->
``handle_softirqs(true)``), then offers to reschedule (``cond_resched``), and
sleeps when nothing is pending: it competes with the other normal threads for
the CPU instead of starving them.  Its time
is softirq time, as ``irqtime_account_process_tick`` accounts it.

The thread is created at its first wake-up, as if at boot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.kernel.sched import SLEEP, Body, Thread

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel


def ksoftirqd(k: Kernel, cpu: int) -> Body:
    softirqs = k.softirqs
    c = k.cpus[cpu]
    while True:
        if not softirqs.pending[cpu]:  # ksoftirqd_should_run
            yield SLEEP
            continue
        yield from softirqs.handle(k, c, from_ksoftirqd=True)
        c.irqs_on = True  # local_irq_enable()
        yield 0  # cond_resched()


def wakeup_softirqd(k: Kernel, cpu: int) -> None:
    threads = k.ksoftirqd
    t: Thread | None = threads[cpu]
    if t is None:
        t = threads[cpu] = k.sched.kthread_create(f"ksoftirqd/{cpu}", cpu, ksoftirqd(k, cpu))
    k.sched.wake_up_process(t)


def handoff_notes(k: Kernel) -> list[str]:
    """One line per CPU whose softirq loop gave up and handed its work to
    ksoftirqd, with the CPU time the thread then took."""
    notes = []
    for cpu, n in enumerate(k.softirqs.handoffs):
        t = k.ksoftirqd[cpu]
        if n and t is not None:
            notes.append(f"CPU{cpu}: pending softirqs outlasted the restart loop (2 ms or 10 passes) "
                         f"{n} times and were handed to {t.name}, which ran "
                         f"{k.sched.runtime_ns(t) / 1000:.1f} us competing with other threads")
    return notes
