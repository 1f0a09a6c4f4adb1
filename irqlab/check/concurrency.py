"""The ``concurrency`` check: the same IRQ while its affinity moves between
CPUs, and the driver's declared shared state under the lockset rule.

Linux never runs one IRQ's handler on two CPUs at once (``IRQD_IRQ_INPROGRESS``
in ``kernel/irq/chip.c``: an edge arriving meanwhile is marked pending and
replayed by the running CPU), but its bottom half (a softirq, tasklet, or the
IRQ thread) may run on another CPU while the top half runs: state they share
needs a lock, taken with ``spin_lock_irqsave`` outside the top half
(Documentation/kernel-hacking/locking.rst).
"""

from __future__ import annotations

from typing import Any

from irqlab.check.budget import Budget
from irqlab.check.harness import Rig, unusable
from irqlab.check.result import FAIL, PASS, CheckResult
from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.kernel.manage import IrqRequestError, irq_set_affinity
from irqlab.machine.build import Machine

MOVES = 16  # affinity moves over the run


class Overlaps:
    """Entries of a DUT IRQ on one CPU while its handler runs on another."""

    def __init__(self) -> None:
        self.irqs: set[int] = set()
        self.open: dict[int, set[int]] = {}
        self.count = 0
        self.first_ns: int | None = None

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        if irq not in self.irqs:
            return
        cpus = self.open.setdefault(irq, set())
        if kind == IRQ_ENTRY:
            if cpus - {cpu}:
                self.count += 1
                self.first_ns = ts_ns if self.first_ns is None else self.first_ns
            cpus.add(cpu)
        elif kind == IRQ_EXIT:
            cpus.discard(cpu)


def concurrency(rig: Rig, budget: Budget) -> CheckResult:
    name = "concurrency"
    overlaps = Overlaps()
    duration = rig.duration(1000)
    moved: list[int] = []

    def setup(m: Machine, irqs: list[int]) -> None:
        overlaps.irqs = set(irqs)
        ncpus = m.spec.machine.cpus

        def move(step: int) -> None:
            for irq in irqs:
                try:
                    irq_set_affinity(m.kernel, irq, step % ncpus)
                except IrqRequestError:
                    continue
                moved.append(m.engine.now)

        if ncpus > 1:
            for step in range(1, MOVES + 1):
                m.engine.at(duration * step // (MOVES + 1), move, step)

    run = rig.run(rig.scenario(), duration, tag="affinity-moves", setup=setup, sinks=[overlaps])
    if (skip := unusable(name, run, whole_run=True)) is not None:
        return skip
    problems = [line for s in rig.driver.shared for line in s.problems()]
    ev: dict[str, Any] = {"affinity_moves": len(moved), "concurrent_handler_runs": overlaps.count,
                          "shared_state": {s.name: sorted({f"{a.context} CPU{a.cpu} "
                                                           f"[{'+'.join(sorted(a.locks)) or 'no lock'}"
                                                           f"{', irqsave' if a.irqsave else ''}] "
                                                           f"{a.site}" for a in s.accesses})
                                           for s in rig.driver.shared},
                          "races": problems}
    if overlaps.count:
        return CheckResult(name, FAIL, f"the handler ran on two CPUs at once {overlaps.count} "
                           f"times (first at {overlaps.first_ns} ns) during affinity moves", ev)
    if problems:
        return CheckResult(name, FAIL, problems[0], ev)
    cpus = run.machine.spec.machine.cpus
    moves = (f"{len(moved)} affinity moves, never on two CPUs at once" if cpus > 1
             else "one CPU: no affinity to move")
    if not rig.driver.shared:
        return CheckResult(name, PASS, f"{moves}; no shared state declared (Shared) to check "
                           "for races", ev)
    return CheckResult(name, PASS, f"{moves}; {len(rig.driver.shared)} shared state(s) always "
                       "under a common lock", ev)
