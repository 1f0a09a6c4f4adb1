"""Receive packet steering and receive flow steering (``net/core/dev.c``
``get_rps_cpu``, ``set_rps_cpu``; ``Documentation/networking/scaling.rst``).

* RPS: each receive queue has a CPU map (``/sys/class/net/DEV/queues/rx-N/rps_cpus``);
  a packet goes to ``map[reciprocal_scale(hash, len(map))]``, i.e.
  ``(hash * len) >> 32``.  An empty map leaves the packet on the CPU that
  polled it.
* RFS: the socket layer records, at each ``recvmsg``, the CPU the reading
  thread runs on in the global ``rps_sock_flow_table`` (``rps_sock_flow_entries``
  slots, indexed by hash & mask, tagged by the hash's upper bits).  Each
  queue's ``rps_dev_flow_table`` (``rps_flow_cnt`` slots) remembers the CPU
  the flow is steered to now and the backlog tail it last reached; the flow
  moves to the desired CPU only once the current CPU's backlog head has passed
  that tail, so a flow's packets never overtake each other.  A flow with no
  desired CPU falls back to RPS.

A steered packet, even to the CPU that polled it, goes through that CPU's
backlog (``enqueue_to_backlog``); a remote backlog is kicked by a
call-function IPI at the end of ``net_rx_action`` (``irqlab.kernel.napi``).
"""

from __future__ import annotations

from collections.abc import Sequence

#: Linux's RPS_NO_CPU: nothing recorded
NO_CPU = 0xFFFF


def reciprocal_scale(val: int, ep_ro: int) -> int:
    """``(u32)(((u64) val * ep_ro) >> 32)``: a 32-bit hash scaled to [0, ep_ro)."""
    return (val * ep_ro) >> 32


def _pow2(n: int, field: str) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"{field}: {n} is not a power of two")
    return n


class RpsTables:
    """The RPS maps of one device's queues and the RFS flow tables."""

    def __init__(self, ncpus: int, rps_cpus: Sequence[Sequence[int]], sock_flow_entries: int = 0,
                 flow_cnt: int = 0) -> None:
        self.maps = [list(m) for m in rps_cpus]
        #: rps_cpu_mask = roundup_pow_of_two(nr_cpu_ids) - 1: the CPU's bits of a sock-flow entry
        self.cpu_mask = (1 << (ncpus - 1).bit_length()) - 1
        self.sock_mask = _pow2(sock_flow_entries, "rps_sock_flow_entries") - 1 if sock_flow_entries else -1
        self.sock_flow = [NO_CPU] * sock_flow_entries
        self.flow_mask = _pow2(flow_cnt, "rps_flow_cnt") - 1 if flow_cnt else -1
        #: per queue: [cpu, last_qtail] of each rps_dev_flow
        self.dev_flows = [[[NO_CPU, 0] for _ in range(flow_cnt)] for _ in self.maps]
        self.flow_switches = 0

    @property
    def rfs(self) -> bool:
        return self.sock_mask >= 0 and self.flow_mask >= 0

    def record_flow(self, rxhash: int, cpu: int) -> None:
        """``sock_rps_record_flow_hash``: the reader of this flow runs on ``cpu``."""
        if self.sock_mask >= 0:
            self.sock_flow[rxhash & self.sock_mask] = (rxhash & ~self.cpu_mask) | cpu

    def get_rps_cpu(self, queue: int, rxhash: int, qhead: Sequence[int]) -> tuple[int, list[int] | None]:
        """The CPU to steer a packet to (-1: none, process it here), and the
        flow-table slot whose tail the enqueue must update (RFS)."""
        if self.rfs:
            ident = self.sock_flow[rxhash & self.sock_mask]
            if ident != NO_CPU and not (ident ^ rxhash) & ~self.cpu_mask:
                next_cpu = ident & self.cpu_mask
                rflow = self.dev_flows[queue][rxhash & self.flow_mask]
                tcpu = rflow[0]
                if tcpu != next_cpu and (tcpu == NO_CPU or qhead[tcpu] - rflow[1] >= 0):
                    # set_rps_cpu: the old CPU has drained this flow's packets
                    if tcpu != NO_CPU:
                        self.flow_switches += 1
                    rflow[0] = tcpu = next_cpu
                    rflow[1] = qhead[next_cpu]
                return tcpu, rflow
        m = self.maps[queue]
        if m:
            return m[reciprocal_scale(rxhash, len(m))], None
        return -1, None
