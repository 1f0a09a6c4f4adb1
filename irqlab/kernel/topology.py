"""CPU topology: NUMA nodes and last-level-cache domains
(``include/linux/topology.h``: ``cpu_to_node``, ``cpus_share_cache``;
``/sys/devices/system/cpu/cpuN/cache/index3/shared_cpu_list``).

CPUs are numbered contiguously: node ``n`` holds CPUs ``n * per_node`` up to
the next node's first, and each node is cut into LLC domains of
``llc_cpus`` CPUs (one per node by default, as on a client part or one
Intel socket; several per node on AMD EPYC, one per CCX).  The scheduler asks
``cpus_share_cache`` when it chooses how to wake a thread on another CPU;
the placement policy (``irqlab.machine.irqbalance``) places interrupts by
domain and node.  The kernel keeps it as ``k.smp.topology``.
"""

from __future__ import annotations


class Topology:
    __slots__ = ("llc_of", "ncpus", "node_of", "nodes")

    def __init__(self, ncpus: int, nodes: int = 1, llc_cpus: int | None = None) -> None:
        if not 1 <= nodes <= ncpus or ncpus % nodes:
            raise ValueError(f"{ncpus} CPUs do not split into {nodes} NUMA nodes of equal size")
        per_node = ncpus // nodes
        llc = per_node if llc_cpus is None else llc_cpus
        if not 1 <= llc <= per_node or per_node % llc:
            raise ValueError(f"a node of {per_node} CPUs does not split into last-level-cache "
                             f"domains of {llc} CPUs")
        self.ncpus = ncpus
        self.nodes = nodes
        self.node_of = [cpu // per_node for cpu in range(ncpus)]
        self.llc_of = [cpu // llc for cpu in range(ncpus)]

    def cpus_share_cache(self, a: int, b: int) -> bool:
        return self.llc_of[a] == self.llc_of[b]

    def node_cpus(self, node: int) -> list[int]:
        return [c for c in range(self.ncpus) if self.node_of[c] == node]

    def llc_domains(self) -> list[list[int]]:
        """The CPUs of each last-level cache, in order."""
        out: dict[int, list[int]] = {}
        for cpu, llc in enumerate(self.llc_of):
            out.setdefault(llc, []).append(cpu)
        return list(out.values())
