"""Spreading a multi-queue device's vectors over the CPUs
(``kernel/irq/affinity.c`` ``irq_create_affinity_masks``, ``lib/group_cpus.c``
``group_cpus_evenly``), for managed interrupts.

With no more vectors than CPUs, vector i gets the i-th of ``nvecs`` groups of
consecutive CPUs, the first ``ncpus % nvecs`` groups one CPU larger; with
more vectors than CPUs each CPU gets one, and the vectors past the CPUs start
over from CPU 0 (NUMA nodes are not modelled: one node).
"""

from __future__ import annotations


def irq_create_affinity_masks(nvecs: int, ncpus: int) -> list[int]:
    """One CPU mask per vector (bit N = CPU N)."""
    if nvecs > ncpus:
        return [1 << (i % ncpus) for i in range(nvecs)]
    per, extra = divmod(ncpus, nvecs)
    masks = []
    cpu = 0
    for i in range(nvecs):
        n = per + (1 if i < extra else 0)
        masks.append(((1 << n) - 1) << cpu)
        cpu += n
    return masks
