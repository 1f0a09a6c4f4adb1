"""Interrupt placement policies: ``static``, ``local-node`` and an
irqbalance-like daemon (irqbalance 1.9: ``classify.c``, ``placement.c``,
``irqlist.c``).  A policy acts as user space does, by writing an IRQ's
affinity (``/proc/irq/N/smp_affinity_list`` -> ``irq_set_affinity``).

* ``static``: the scenario's CPUs stay (hand-set affinity, or the driver's).
* ``local-node``: each device's IRQs round-robin over the allowed CPUs of its
  NUMA node (the ``local`` mode of Intel's ``set_irq_affinity`` script); a
  device of no known node (``numa_node`` -1) may use every CPU.
* ``irqbalance``: each IRQ gets a class and the class a balance level
  (``map_class_to_level``: other -> package, legacy -> cache domain,
  storage and the ethernet classes -> core).  IRQs are placed at start, then
  every ``interval`` (irqbalance's ``SLEEP_INTERVAL``, 10 s) the daemon
  measures each CPU's interrupt load (hard-IRQ + softirq time over the
  interval, shared among the CPU's IRQs by their interrupt counts:
  ``compute_irq_branch_load_share``), and on every CPU more loaded than the
  least loaded one that holds more than one IRQ, picks IRQs heaviest first as
  long as moving one does not swap the imbalance (``migrate_overloaded_irqs``,
  ``move_candidate_irqs``).  A picked or new IRQ goes down the topology from
  its device's node: the least loaded cache domain, then the least loaded
  CPU (``find_best_object``; ties: fewer IRQs), stopping at its level, whose
  least loaded CPU takes it (x86 delivers to one CPU of the mask).
  Banned CPUs (``IRQBALANCE_BANNED_CPULIST``) are never used; an affinity
  hint, where it meets the allowed CPUs, narrows them (``hintpolicy=subset``).

Moves use the kernel's ``irq_set_affinity`` (on x86 a move allocates a
vector on the target CPU); a move the kernel refuses (a managed interrupt:
-EIO, no free vector: -ENOSPC, a move still in progress: -EBUSY) is counted
and reported, not retried.
"""

from __future__ import annotations

from math import fsum
from typing import TYPE_CHECKING

from irqlab.kernel.cpu import IRQ, SOFTIRQ
from irqlab.kernel.manage import IrqRequestError, irq_set_affinity

if TYPE_CHECKING:
    from irqlab.machine.machine import Machine
    from irqlab.scenario.schema import DeviceSpec

BALANCE_PACKAGE, BALANCE_CACHE, BALANCE_CORE = 0, 1, 2
#: irqbalance's classes and map_class_to_level (classify.c)
CLASS_LEVEL = {
    "other": BALANCE_PACKAGE, "legacy": BALANCE_CACHE, "storage": BALANCE_CORE,
    "video": BALANCE_CORE, "ethernet": BALANCE_CORE, "gbit-ethernet": BALANCE_CORE,
    "10gbit-ethernet": BALANCE_CORE, "virt-event": BALANCE_CORE,
}
SLEEP_INTERVAL_NS = 10_000_000_000  # irqbalance's default --interval, 10 s


def irq_class(spec: DeviceSpec) -> str:
    """The scenario's class, else what the PCI class would say: a NIC is
    ethernet, anything else other."""
    if spec.irq_class is not None:
        return spec.irq_class
    return "ethernet" if spec.nic is not None else "other"


class IrqInfo:
    """What the daemon knows of one IRQ."""

    __slots__ = ("allowed", "count", "irq", "level", "load")

    def __init__(self, irq: int, level: int, allowed: list[int]) -> None:
        self.irq = irq
        self.level = level
        self.allowed = allowed
        self.count = 0  # kstat total at the last pass
        self.load = 0.0


class Balancer:
    """The placement policy of one machine (``[irqbalance]``)."""

    def __init__(self, m: Machine) -> None:
        spec = m.spec.irqbalance
        self.m = m
        self.k = k = m.kernel
        self.policy = spec.policy
        self.interval = spec.interval
        topo = k.smp.topology
        banned = set(spec.banned_cpus)
        self.irqs: list[IrqInfo] = []
        for dev in m.spec.device:
            level = CLASS_LEVEL[irq_class(dev)]
            usable = [c for c in range(k.ncpus) if c not in banned]
            node_cpus = ([c for c in topo.node_cpus(dev.node) if c not in banned]
                         if dev.node is not None else usable)
            hint = [c for c in (dev.affinity_hint or []) if c in node_cpus]
            allowed = hint or node_cpus or usable
            self.irqs += [IrqInfo(irq, level, allowed) for irq in m.irqs.get(dev.name, [])]
        self.cpu_time = [0] * k.ncpus
        self.moves = 0
        self.refused: list[str] = []
        self.passes = 0

    def start(self) -> None:
        if self.policy == "local-node":
            for i, info in enumerate(self.irqs):
                self._move(info, info.allowed[i % len(info.allowed)])
        elif self.policy == "irqbalance":
            load = [0.0] * self.k.ncpus
            nirqs = [0] * self.k.ncpus
            for info in self.irqs:  # the first pass: every IRQ is new
                cpu = self._best_cpu(info, load, nirqs)
                nirqs[cpu] += 1
                self._move(info, cpu)
            self.k.engine.after(self.interval, self._rebalance)

    # -- the periodic pass --------------------------------------------------------------------
    def _rebalance(self, _: object) -> None:
        self.passes += 1
        k = self.k
        load = self._measure()
        nirqs = [0] * k.ncpus
        on: list[list[IrqInfo]] = [[] for _ in range(k.ncpus)]
        for info in self.irqs:
            cpu = k.descs[info.irq].affinity
            on[cpu].append(info)
            nirqs[cpu] += 1
        picked: list[IrqInfo] = []
        min_load = min(load)
        for cpu in sorted(range(k.ncpus), key=lambda c: -load[c]):
            if load[cpu] <= min_load or len(on[cpu]) <= 1:
                continue
            adjustment = load[cpu]
            for info in sorted(on[cpu], key=lambda i: -i.load):
                if info.load > 1 and min_load + info.load < adjustment - info.load:
                    adjustment -= info.load
                    min_load += info.load
                    picked.append(info)
        for info in picked:  # off their CPUs, then placed like new ones
            cpu = k.descs[info.irq].affinity
            load[cpu] -= info.load
            nirqs[cpu] -= 1
        for info in picked:
            cpu = self._best_cpu(info, load, nirqs)
            load[cpu] += info.load
            nirqs[cpu] += 1
            self._move(info, cpu)
        k.engine.after(self.interval, self._rebalance)

    def _measure(self) -> list[float]:
        """Each CPU's interrupt time since the last pass, shared among its IRQs."""
        k = self.k
        load = [0.0] * k.ncpus
        for c in k.cpus:
            t = c.account()
            busy = t[IRQ] + t[SOFTIRQ]
            load[c.index] = float(busy - self.cpu_time[c.index])
            self.cpu_time[c.index] = busy
        counts = [0] * k.ncpus
        delta: dict[int, int] = {}
        for info in self.irqs:
            d = k.descs[info.irq]
            total = sum(d.kstat)
            delta[info.irq] = total - info.count
            info.count = total
            counts[d.affinity] += delta[info.irq]
        for info in self.irqs:
            cpu = k.descs[info.irq].affinity
            info.load = load[cpu] * delta[info.irq] / counts[cpu] if counts[cpu] else 0.0
        return load

    def _best_cpu(self, info: IrqInfo, load: list[float], nirqs: list[int]) -> int:
        """Down the topology from the IRQ's node to its level; the least loaded
        CPU of the object reached."""
        topo = self.k.smp.topology
        cpus = info.allowed
        if info.level >= BALANCE_CACHE:
            domains = [[c for c in d if c in cpus] for d in topo.llc_domains()]
            domains = [d for d in domains if d]
            # the mean as statistics.fmean takes it, without importing statistics at every start
            cpus = min(domains, key=lambda d: (fsum(load[c] for c in d) / len(d),
                                               sum(nirqs[c] for c in d)))
        return min(cpus, key=lambda c: (load[c], nirqs[c], c))

    def _move(self, info: IrqInfo, cpu: int) -> None:
        if self.k.descs[info.irq].affinity == cpu:
            return
        try:
            irq_set_affinity(self.k, info.irq, cpu)
        except IrqRequestError as exc:
            self.refused.append(f"irq {info.irq} -> CPU{cpu}: -{exc.errno}")
            return
        self.moves += 1

    def report(self) -> dict[str, object]:
        k = self.k
        return {"policy": self.policy, "passes": self.passes, "moves": self.moves,
                "refused": len(self.refused),
                "placement": {str(i.irq): k.descs[i.irq].affinity for i in self.irqs}}
