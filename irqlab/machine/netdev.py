"""A multi-queue NIC in a scenario (``[device.net]``): flows on the wire, RSS
in the NIC, a NAPI driver with RPS/RFS, reader threads, XPS on the replies.

* The device's MSI-X vectors are its combined queue pairs (``eth0-0`` ...),
  each on the scenario's CPU of that vector.
* The NIC (``irqlab.hw.nic``) hashes each packet's 4-tuple and picks the
  queue from the indirection table (``ethtool -X`` in ``net.indir``).
* The driver's interrupt masks its queue and schedules its NAPI instance;
  the poll reaps transmit completions, takes up to the budget of frames and
  hands them to the stack: on this CPU, or with RPS/RFS (``irqlab.kernel.rps``)
  to the chosen CPU's backlog, a call-function IPI away.
* The socket layer hands each frame to the reader thread of its flow (flow
  i is read on ``app_cpus[i % n]``); waking a reader on another CPU is an
  IPI.  Each read records the reader's CPU for RFS; with ``reply`` each frame
  is answered on the transmit queue XPS gives the reader's CPU (without XPS:
  ``skb_tx_hash``, the flow hash scaled to the queue count), whose completion
  interrupts that queue's vector.
* ``rebalance`` rewrites the indirection table from its per-entry packet
  counts at every interval (RSS++, Barbette et al., CoNEXT 2019).

``report`` gives per-queue and per-CPU counts and how uneven they are.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from irqlab.hw.flows import FlowSource, flow_shares, make_flows
from irqlab.hw.nic import Nic
from irqlab.hw.rss import MS_RSS_KEY, indir_default, indir_weights
from irqlab.kernel.cpu import SYSTEM, USER
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.napi import Napi, napi_complete_done, net_dev_init
from irqlab.kernel.rps import RpsTables, reciprocal_scale
from irqlab.kernel.sched import SLEEP, SLEEPING, Sleep

if TYPE_CHECKING:
    from irqlab.hw.nic import RxQueue
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.kernel import Kernel
    from irqlab.machine.machine import Machine
    from irqlab.scenario.schema import NetSpec

HASH_MASK = 0xFFFFFFFF
APP_BATCH = 16  # frames per read: recvmmsg-style batching of the model application


class Reader:
    """One application thread and its socket: it reads up to ``APP_BATCH``
    frames at a time, records its CPU for RFS, and answers each if asked."""

    def __init__(self, nd: NetDev, cpu: int) -> None:
        self.nd = nd
        self.cpu = cpu
        self.queue: deque[int] = deque()
        self.read = 0
        self.thread = nd.k.sched.kthread_create(f"{nd.nic.name}-reader/{cpu}", cpu, self._body(),
                                                kind=USER)

    def deliver(self, from_cpu: int, frames: list[int]) -> None:
        self.queue.extend(frames)
        if self.thread.state == SLEEPING:
            self.nd.k.sched.wake_up_process(self.thread, from_cpu)

    def _body(self) -> Generator[int | Sleep, None, None]:
        nd = self.nd
        costs = nd.spec.costs
        cpu = nd.k.cpus[self.cpu]
        q = self.queue
        while True:
            if not q:
                yield SLEEP
                continue
            n = min(APP_BATCH, len(q))
            frames = [q.popleft() for _ in range(n)]
            yield n * costs.app
            self.read += n
            for f in frames:
                nd.rps.record_flow(f & HASH_MASK, self.cpu)
            if nd.spec.reply:
                cpu.ctx = SYSTEM  # sendmsg: kernel time of this thread
                for f in frames:
                    nd.transmit(self.cpu, f & HASH_MASK)
                yield n * costs.tx
                cpu.ctx = USER


class NetDev:
    """The NIC of one scenario device, its driver and its readers."""

    def __init__(self, m: Machine, name: str, spec: NetSpec, cpus: list[int], irqs: list[int],
                 signals: list[Any]) -> None:
        self.k = k = m.kernel
        self.spec = spec
        self.cpus = cpus
        self.irqs = irqs
        key = bytes.fromhex(spec.key.replace(":", "")) if spec.key else MS_RSS_KEY
        self.nic = nic = Nic(m.engine, name, signals, ring_size=spec.ring_size,
                             indir_size=spec.indir_size, rss_key=key)
        nic.set_indir(_indir(spec, len(signals)))
        self.net = net_dev_init(k, spec.costs.protocol, self.deliver)
        self.napis = [self.net.napi_add(self.poll, q, cpu, name=f"{name}-{q.index}")
                      for q, cpu in zip(nic.queues, cpus, strict=True)]
        self.rps = RpsTables(k.ncpus, [spec.rps_map(i) for i in range(len(signals))],
                             spec.rfs.entries if spec.rfs else 0, spec.rfs.flow_cnt if spec.rfs else 0)
        rng = m.rng_for(f"flows:{name}")
        sizes = [rng.randint(spec.size.min, spec.size.max) for _ in range(spec.flows)]
        shares = flow_shares(spec.flows, spec.share.dist, rng, spec.share.s, spec.share.min,
                             spec.share.max)
        self.flows = make_flows(shares, sizes, rng, spec.port)
        readers = {c: Reader(self, c) for c in dict.fromkeys(spec.app_cpus)}
        self.reader_of = {nic.rxhash(f): readers[spec.app_cpus[f.index % len(spec.app_cpus)]]
                          for f in self.flows}
        self.readers = list(readers.values())
        self.source = FlowSource(m.engine, self.flows, spec.rate, m.rng_for(f"arrivals:{name}"),
                                 nic.receive_flow)
        self.tx_cpu_queue = [0] * k.ncpus  # XPS or hash choices, counted per CPU
        self.rebalances = 0

    def start(self) -> None:
        self.source.start()
        if self.spec.rebalance:
            self.k.engine.after(self.spec.rebalance, self._rebalance)

    # -- the driver -------------------------------------------------------------------------
    def interrupt(self, ctx: HandlerContext) -> int:
        """The queue vector's handler: mask the queue, schedule its NAPI."""
        q: RxQueue = ctx.action.dev_id  # type: ignore[union-attr]
        ctx.cost += self.spec.costs.irq
        q.irq_disable()
        ctx.napi_schedule(self.napis[q.index])
        return IRQ_HANDLED

    def poll(self, napi: Napi, budget: int) -> Generator[int, None, int]:
        q: RxQueue = napi.dev
        cpu = napi.cpu
        costs = self.spec.costs
        tx = q.clean_tx()
        frames = q.take(budget)
        n = len(frames)
        cost = costs.driver * n + costs.tx * tx
        if cost:
            yield cost
        yield from self.net.netif_receive_skb(cpu, self._steer(q.index, cpu, frames))
        if n == budget:
            return budget
        if napi_complete_done(napi, n):
            q.irq_enable()
        return n

    def _steer(self, queue: int, cpu: int, frames: list[int]) -> list[int]:
        """RPS/RFS: frames for a CPU's backlog go there; the rest stay here."""
        if not frames or (not self.rps.rfs and not self.rps.maps[queue]):
            return frames
        here: list[int] = []
        qhead = self.net.qhead
        for f in frames:
            tcpu, rflow = self.rps.get_rps_cpu(queue, f & HASH_MASK, qhead)
            if tcpu < 0:
                here.append(f)
            else:
                self.net.enqueue_to_backlog(cpu, tcpu, [f], rflow)
        return here

    def deliver(self, cpu: int, frames: list[int]) -> None:
        """The socket layer: each frame to its flow's reader."""
        by_reader: dict[Reader, list[int]] = {}
        for f in frames:
            by_reader.setdefault(self.reader_of[f & HASH_MASK], []).append(f)
        for reader, fs in by_reader.items():
            reader.deliver(cpu, fs)

    def transmit(self, cpu: int, rxhash: int) -> None:
        """``netdev_pick_tx``: XPS by the sending CPU, else the hash."""
        xps = self.spec.xps
        queue = xps[cpu] if xps is not None else reciprocal_scale(rxhash, len(self.nic.queues))
        self.tx_cpu_queue[cpu] += 1
        self.nic.queues[queue].transmit()

    # -- RSS++ --------------------------------------------------------------------------------
    def _rebalance(self, _: object) -> None:
        counts = self.nic.indir_packets
        self.nic.set_indir(rebalanced(counts, len(self.nic.queues)))
        self.nic.indir_packets = [0] * len(counts)
        self.rebalances += 1
        self.k.engine.after(self.spec.rebalance, self._rebalance)

    # -- report -------------------------------------------------------------------------------
    def report(self, k: Kernel) -> dict[str, Any]:
        """Per-queue and per-CPU counts (one list per counter, by queue or CPU)
        and how uneven they are."""
        qs = self.nic.queues
        sd = self.net.sd
        queues = {"irq": self.irqs, "cpu": [n.cpu for n in self.napis],
                  "packets": [q.packets for q in qs], "bytes": [q.bytes for q in qs],
                  "drops": [q.drops for q in qs],
                  "interrupts": [sum(k.descs[irq].kstat) for irq in self.irqs],
                  "tx_packets": [q.tx_packets for q in qs]}
        cpus = {"processed": [s.processed for s in sd], "received_rps": [s.received_rps for s in sd],
                "backlog_drops": [s.dropped for s in sd], "time_squeeze": [s.time_squeeze for s in sd],
                "read": [sum(r.read for r in self.readers if r.cpu == c) for c in range(k.ncpus)],
                "tx": list(self.tx_cpu_queue)}
        return {"queues": queues, "cpus": cpus,
                "queue_imbalance": imbalance(queues["packets"]),
                "cpu_imbalance": imbalance(cpus["processed"]),
                "rfs_flow_switches": self.rps.flow_switches, "rss_rebalances": self.rebalances}


def imbalance(counts: list[int]) -> float:
    """max / mean of ``counts`` (1.0 is even; n means all on one of n)."""
    total = sum(counts)
    return round(max(counts) * len(counts) / total, 3) if total else 1.0


def rebalanced(counts: list[int], queues: int) -> list[int]:
    """An indirection table from per-entry packet counts: heaviest entry first,
    each to the queue with the least load so far (ties: the one with fewer
    entries, then the lower queue), as RSS++'s greedy step does; idle entries
    stay spread for flows yet to come."""
    load = [0] * queues
    entries = [0] * queues
    table = [0] * len(counts)
    for entry in sorted(range(len(counts)), key=lambda e: (-counts[e], e)):
        q = min(range(queues), key=lambda j: (load[j], entries[j], j))
        table[entry] = q
        load[q] += counts[entry]
        entries[q] += 1
    return table


def _indir(spec: NetSpec, queues: int) -> list[int]:
    ind = spec.indir
    if ind is None:
        return indir_default(spec.indir_size, queues)
    if isinstance(ind, list):
        return ind
    if ind.equal is not None:
        return indir_default(spec.indir_size, ind.equal)
    assert ind.weight is not None
    return indir_weights(spec.indir_size, ind.weight)
