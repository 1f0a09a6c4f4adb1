"""A NIC device's receive path (a scenario device with a ``nic`` table): the
NIC model on the device's MSI-X vectors, its driver, the protocol stage, a
socket and the application that reads it.

Receive modes (``device.nic.receive``), with the NIC's coalescing
(``rx_usecs``, ``rx_frames``, as ``ethtool -C``) applying in every mode:

* ``per-packet``: a pre-NAPI driver: the interrupt handler cleans the whole
  ring and hands every frame to ``netif_rx`` (backlog, NET_RX softirq does
  the protocol work); with rx-usecs > 0 this is static moderation;
* ``napi``: the NAPI contract: the handler masks the queue interrupt and
  schedules the poll, which cleans the ring and runs the protocol stage in
  NET_RX; the interrupt is unmasked on completion; ``adaptive`` lets net DIM
  choose the moderation profile (``ethtool -C adaptive-rx on``).

The application is a normal user thread on the first queue's CPU (or one
per ``app_cpus`` entry, each with its socket), below every interrupt and
softirq and sharing the CPU with ksoftirqd; what it consumes is the delivered
throughput.  The figures of :meth:`RxPath.report` are measured from
``device.nic.warmup`` to the end of the run.

Multi-queue features:

* ``flows``: the wire carries flows (``irqlab.hw.flows``); the NIC hashes
  each packet's 4-tuple and its indirection table picks the queue
  (``irqlab.hw.rss``); the ring then holds ``arrival << 32 | hash``.  Flow i
  is read by the application on ``app_cpus[i % n]``.  ``rss.rebalance``
  rewrites the table from its per-entry packet counts (RSS++, Barbette et al.,
  CoNEXT 2019: heaviest entry first, each to the least loaded queue).
* RPS/RFS (``irqlab.kernel.rps``): the driver hands frames to the backlog of
  the CPU the steering picks (``netif_receive_skb`` / ``netif_rx`` ->
  ``get_rps_cpu`` -> ``enqueue_to_backlog``); a remote backlog is kicked by a
  call-function IPI.  Each read records the reader's CPU for RFS.
* A wake-up of a reader on another CPU than the one delivering is an IPI.
* ``reply``: each frame read is answered on the transmit queue XPS gives the
  reader's CPU (without XPS, ``skb_tx_hash``: the hash scaled to the queue
  count); its completion is a cause of that queue's vector, reaped in its
  poll (``costs.tx`` per frame, on each side).
"""

from __future__ import annotations

import random
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from irqlab.analysis.histogram import Histogram
from irqlab.hw.device import Signal
from irqlab.hw.flows import FlowSource, flow_shares, make_flows
from irqlab.hw.nic import Nic
from irqlab.hw.rss import MS_RSS_KEY, indir_default, indir_weights
from irqlab.kernel.cpu import CONTEXT_NAMES, SYSTEM, USER
from irqlab.kernel.dim import Moderation, NetDim
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.napi import Napi, Softnet, napi_complete_done, net_dev_init
from irqlab.kernel.rps import RpsTables, reciprocal_scale
from irqlab.kernel.sched import SLEEP, SLEEPING, Sleep

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from irqlab.hw.device import Device, RaiseSink
    from irqlab.hw.flows import Flow
    from irqlab.hw.nic import RxQueue
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.kernel import Kernel
    from irqlab.scenario.schema import NicSpec

APP_BATCH = 16  # packets per read: recvmmsg-style batching of the model application
HASH_MASK = 0xFFFFFFFF


class Socket:
    """A datagram socket's receive queue, bounded in packets (sk_rcvbuf); a
    delivery wakes the reader (``sk_data_ready``)."""

    __slots__ = ("data_ready", "drops", "queue", "rcvbuf")

    def __init__(self, rcvbuf: int) -> None:
        self.rcvbuf = rcvbuf
        self.queue: deque[int] = deque()
        self.drops = 0
        self.data_ready: Callable[[int], None] | None = None

    def deliver(self, cpu: int, frames: list[int]) -> None:
        """Frames from the stack on ``cpu``; the reader is woken from there."""
        room = self.rcvbuf - len(self.queue)
        if len(frames) > room:
            self.drops += len(frames) - room
            frames = frames[:room]
        if frames:
            self.queue.extend(frames)
            if self.data_ready is not None:
                self.data_ready(cpu)


class Application:
    """A reader: a normal user thread that reads up to ``APP_BATCH`` packets
    at a time and spends ``app_ns`` of user time on each, sleeping while its
    socket is empty.  Each read records its CPU for RFS (``record``); with
    ``reply`` set, each packet read is answered (``reply(cpu, hash)``) in
    ``tx_ns`` of system time."""

    __slots__ = ("app_ns", "cpu", "delivered", "engine", "latency", "record", "reply", "sched",
                 "shift", "sock", "thread", "tx_ns")

    def __init__(self, k: Kernel, cpu: int, sock: Socket, app_ns: int, *, name: str = "app",
                 shift: int = 0, record: Callable[[int, int], None] | None = None,
                 reply: Callable[[int, int], None] | None = None, tx_ns: int = 0) -> None:
        self.engine = k.engine
        self.cpu = cpu
        self.sock = sock
        self.app_ns = app_ns
        self.shift = shift  # frames are arrival << shift | hash
        self.record = record
        self.reply = reply
        self.tx_ns = tx_ns
        self.delivered = 0
        self.latency = Histogram()  # wire arrival -> consumed
        self.sched = k.sched
        self.thread = self.sched.kthread_create(name, cpu, self._body(), kind=USER)
        sock.data_ready = self._data_ready
        self.sched.wake_up_process(self.thread)

    def _data_ready(self, cpu: int) -> None:
        if self.thread.state == SLEEPING:
            self.sched.wake_up_process(self.thread, cpu)

    def _body(self) -> Generator[int | Sleep, None, None]:
        q = self.sock.queue
        app_ns = self.app_ns
        shift = self.shift
        c = self.sched.k.cpus[self.cpu]
        while True:
            if not q:
                yield SLEEP
                continue
            n = min(APP_BATCH, len(q))
            frames = [q.popleft() for _ in range(n)]
            yield n * app_ns
            self.delivered += n
            now = self.engine.now
            record = self.latency.record
            for f in frames:
                record(now - (f >> shift))
            if self.record is not None:
                for f in frames:
                    self.record(f & HASH_MASK, self.cpu)
            if self.reply is not None:
                c.ctx = SYSTEM  # sendmsg: kernel time of this thread
                for f in frames:
                    self.reply(self.cpu, f & HASH_MASK)
                yield n * self.tx_ns
                c.ctx = USER


def _set_moderation(q: RxQueue, m: Moderation) -> None:
    """The driver's DIM work: write the profile to the queue (ethtool -C)."""
    q.set_coalesce(m.usec, m.pkts)


class RxDriver:
    """The NIC driver: the top half of each queue vector and, with NAPI, the poll.
    Costs are per interrupt (``irq_ns``) and per frame (``driver_ns``)."""

    def __init__(self, k: Kernel, net: Softnet, nic: Nic, irq_ns: int, driver_ns: int,
                 napi: bool, adaptive: bool, cpus: list[int], rps: RpsTables | None = None,
                 tx_ns: int = 0) -> None:
        self.k = k
        self.net = net
        self.nic = nic
        self.irq_ns = irq_ns
        self.driver_ns = driver_ns
        self.tx_ns = tx_ns
        #: RPS/RFS tables (none: every frame stays on the CPU that polled it)
        self.rps = rps if rps is not None else RpsTables(k.ncpus, [[] for _ in nic.queues])
        self.use_napi = napi
        self.napis: list[Napi] = [net.napi_add(self.poll, q, cpu, name=f"{nic.name}-rx-{q.index}")
                                  for q, cpu in zip(nic.queues, cpus, strict=True)]
        self.dims: list[NetDim] | None = None
        if adaptive:
            self.set_adaptive(True)

    def set_adaptive(self, on: bool) -> None:
        """``ethtool -C adaptive-rx on|off``: net DIM starts from its default
        profile (written to every queue), or stops and leaves the last one."""
        if not on:
            self.dims = None
        elif self.dims is None:
            self.dims = [NetDim(partial(_set_moderation, q)) for q in self.nic.queues]
            for q, dim in zip(self.nic.queues, self.dims, strict=True):
                q.set_coalesce(dim.moderation.usec, dim.moderation.pkts)

    def interrupt(self, ctx: HandlerContext) -> int:
        q: RxQueue = ctx.action.dev_id  # type: ignore[union-attr]
        if self.use_napi:
            ctx.cost += self.irq_ns
            q.irq_disable()
            ctx.napi_schedule(self.napis[q.index])
        else:
            tx = q.clean_tx()
            frames = q.take(len(q.ring))
            ctx.cost += self.irq_ns + self.driver_ns * len(frames) + self.tx_ns * tx
            self.net.netif_rx(ctx.cpu, self._steer(q.index, ctx.cpu, frames))
        return IRQ_HANDLED

    def _steer(self, queue: int, cpu: int, frames: list[int]) -> list[int]:
        """RPS/RFS: frames for a CPU's backlog go there; the rest stay here."""
        rps = self.rps
        if not frames or (not rps.rfs and not rps.maps[queue]):
            return frames
        here: list[int] = []
        qhead = self.net.qhead
        for f in frames:
            tcpu, rflow = rps.get_rps_cpu(queue, f & HASH_MASK, qhead)
            if tcpu < 0:
                here.append(f)
            else:
                self.net.enqueue_to_backlog(cpu, tcpu, [f], rflow)
        return here

    def poll(self, napi: Napi, budget: int) -> Generator[int, None, int]:
        q: RxQueue = napi.dev
        tx = q.clean_tx()
        frames = q.take(budget)
        n = len(frames)
        cost = self.driver_ns * n + self.tx_ns * tx
        if cost:
            yield cost
        yield from self.net.netif_receive_skb(napi.cpu, self._steer(q.index, napi.cpu, frames))
        if n == budget:
            return budget
        if self.dims is not None:
            self.dims[q.index].sample(self.k.engine.now, q.interrupts, q.packets, q.bytes)
        if napi_complete_done(napi, n):
            q.irq_enable()
        return n


class TracedSignal(Signal):
    """A queue's vector as the NIC raises it: the raise is reported to the
    machine's tracepoints first, as a device's own raise is."""

    __slots__ = ("dev", "inner", "sink")

    def __init__(self, dev: Device, sink: RaiseSink) -> None:
        self.dev = dev
        self.inner = dev.signal
        self.sink = sink

    def raise_(self) -> None:
        sink = self.sink
        if sink.enabled:
            dev = self.dev
            sink.irq_raise(dev.engine.now, dev.cpu, dev.irq)
        self.inner.raise_()


class RxPath:
    """One NIC device's receive path, from the wire to the application."""

    def __init__(self, k: Kernel, name: str, spec: NicSpec, devs: list[Device],
                 sink: RaiseSink, arrivals: Callable[[int, int], Any],
                 rng_for: Callable[[str], random.Random]) -> None:
        self.k = k
        self.name = name
        self.spec = spec
        self.warmup_ns = spec.warmup
        self.cpus = [d.cpu for d in devs]
        self.irqs = [d.irq for d in devs]
        rss = spec.rss
        self.nic = nic = Nic(k.engine, name, [TracedSignal(d, sink) for d in devs],
                             ring_size=spec.ring_size, rx_usecs=spec.rx_usecs,
                             rx_frames=spec.frames(), indir_size=rss.indir_size,
                             rss_key=bytes.fromhex(rss.key.replace(":", "")) if rss.key else MS_RSS_KEY)
        nic.set_indir(_indir(spec, len(devs)))
        costs = spec.costs
        self.net = net_dev_init(k, costs.protocol, self.deliver)
        self.rps = RpsTables(k.ncpus, [spec.rps_map(i) for i in range(len(devs))],
                             spec.rfs.entries if spec.rfs else 0, spec.rfs.flow_cnt if spec.rfs else 0)
        self.driver = RxDriver(k, self.net, nic, costs.irq, costs.driver,
                               spec.receive == "napi", spec.adaptive, self.cpus, self.rps, costs.tx)
        self.tx_cpu = [0] * k.ncpus  # replies sent, by sending CPU
        app_cpus = list(dict.fromkeys(spec.app_cpus or self.cpus[:1]))
        flows = spec.flows
        shift = 32 if flows is not None else 0
        self.apps = [Application(k, cpu, Socket(spec.rcvbuf), costs.app,
                                 name="app" if len(app_cpus) == 1 else f"app/{cpu}", shift=shift,
                                 record=self.rps.record_flow if flows is not None else None,
                                 reply=self.transmit if spec.reply else None, tx_ns=costs.tx)
                     for cpu in app_cpus]
        self.reader: dict[int, Socket] = {}  # flow hash -> its reader's socket
        self.flows: list[Flow] = []
        if flows is None:
            n = len(nic.queues)
            for q in nic.queues:
                source = arrivals(q.index, n)
                if source is not None:
                    q.start(source)
        else:
            rng = rng_for(f"flows:{name}")
            sizes = [rng.randint(flows.size.min, flows.size.max) for _ in range(flows.count)]
            shares = flow_shares(flows.count, flows.share.dist, rng, flows.share.s,
                                 flows.share.min, flows.share.max)
            self.flows = make_flows(shares, sizes, rng, flows.port)
            self.reader = {nic.rxhash(f): self.apps[f.index % len(self.apps)].sock
                           for f in self.flows}
            FlowSource(k.engine, self.flows, flows.rate, rng_for(f"arrivals:{name}"),
                       nic.receive_flow).start()
        self.rebalances = 0
        if rss.rebalance:
            k.engine.after(rss.rebalance, self._rebalance)
        self.start: dict[str, Any] | None = None
        k.engine.at(self.warmup_ns, self._mark)

    def deliver(self, cpu: int, frames: list[int]) -> None:
        """The socket layer: each frame to its flow's reader (the one reader
        without flows)."""
        if not self.reader:
            self.apps[0].sock.deliver(cpu, frames)
            return
        by_sock: dict[Socket, list[int]] = {}
        for f in frames:
            by_sock.setdefault(self.reader[f & HASH_MASK], []).append(f)
        for sock, fs in by_sock.items():
            sock.deliver(cpu, fs)

    def transmit(self, cpu: int, rxhash: int) -> None:
        """A reply sent from ``cpu``: ``netdev_pick_tx``, XPS by the CPU, else the hash."""
        xps = self.spec.xps
        queue = xps[cpu] if xps is not None else reciprocal_scale(rxhash, len(self.nic.queues))
        self.tx_cpu[cpu] += 1
        self.nic.queues[queue].transmit()

    def _rebalance(self, _: object) -> None:
        """RSS++: the table from its per-entry packet counts since the last time."""
        counts = self.nic.indir_packets
        self.nic.set_indir(rebalanced(counts, len(self.nic.queues)))
        self.nic.indir_packets = [0] * len(counts)
        self.rebalances += 1
        self.k.engine.after(self.spec.rss.rebalance, self._rebalance)

    def handler(self, ctx: HandlerContext) -> int:
        return self.driver.interrupt(ctx)

    def set_coalesce(self, rx_usecs: int | None, rx_frames: int | None,
                     adaptive: bool | None) -> None:
        """``ethtool -C``: rx-usecs and adaptive left out stay; rx-frames left
        out is read as the scenario's ``nic.rx_frames`` is (0 with rx-usecs
        above 0: the timer alone, else 1); CoalesceError for what ethtool refuses."""
        usecs = self.nic.queues[0].usecs_ns // 1000 if rx_usecs is None else rx_usecs
        frames = (0 if usecs else 1) if rx_frames is None else rx_frames
        if rx_usecs is not None or rx_frames is not None:
            self.nic.set_coalesce(usecs, frames)
        if adaptive is not None:
            self.driver.set_adaptive(adaptive)

    def queue(self, index: int) -> RxQueue:
        return self.nic.queues[index]

    def _counters(self) -> dict[str, Any]:
        k = self.k
        sd = self.net.sd
        return {
            "arrived": sum(q.packets + q.drops for q in self.nic.queues),
            "delivered": sum(a.delivered for a in self.apps),
            "irqs": sum(sum(k.descs[irq].kstat) for irq in self.irqs),  # /proc/interrupts
            "ring_drops": self.nic.drops,
            "backlog_drops": sum(s.dropped for s in sd),
            "socket_drops": sum(a.sock.drops for a in self.apps),
            "time_squeeze": sum(s.time_squeeze for s in sd),
            "cpu": k.cpus[self.cpus[0]].account(),
        }

    def _mark(self, _: object) -> None:
        self.start = self._counters()
        for a in self.apps:
            a.latency = Histogram()

    def report(self) -> dict[str, Any]:
        """Rates (per second), drops, the reader CPU's time shares and the
        wire->application latency, from the warm-up (or, in a run that ended
        before it, from the start) to now."""
        end = self._counters()
        start: dict[str, Any]
        if self.start is None:  # the run ended before the warm-up: the whole run
            start, since = {key: 0 for key in end} | {"cpu": [0] * len(end["cpu"])}, 0
        else:
            start, since = self.start, self.warmup_ns
        span = max(self.k.engine.now - since, 1) / 1e9
        cpu_ns = [b - a for a, b in zip(start["cpu"], end["cpu"], strict=True)]
        total = sum(cpu_ns) or 1
        share = dict(zip(CONTEXT_NAMES, (t / total for t in cpu_ns), strict=True))
        lat = Histogram()
        for a in self.apps:
            lat.merge(a.latency)

        def rate(key: str) -> int:
            return round((end[key] - start[key]) / span)

        return {
            "offered_pps": rate("arrived"),
            "delivered_pps": rate("delivered"),
            "irq_per_s": rate("irqs"),
            "cpu_irq_share": round(share["irq"], 4),
            "cpu_softirq_share": round(share["softirq"], 4),
            "cpu_user_share": round(share["user"], 4),
            "drop_ring_pps": rate("ring_drops"),
            "drop_backlog_pps": rate("backlog_drops"),
            "drop_socket_pps": rate("socket_drops"),
            "time_squeeze": end["time_squeeze"] - start["time_squeeze"],
            "latency_p50_us": round(lat.percentile(50) / 1000, 1) if lat.count else None,
            "latency_p99_us": round(lat.percentile(99) / 1000, 1) if lat.count else None,
            "latency_ns": lat.summary(),
            **self.counts(),
        }

    def counts(self) -> dict[str, Any]:
        """Per-queue and per-CPU counts over the whole run (one list entry per
        queue or CPU) and how uneven they are (max / mean)."""
        k = self.k
        qs = self.nic.queues
        sd = self.net.sd
        queues = {"irq": self.irqs, "cpu": [k.descs[irq].affinity for irq in self.irqs],
                  "packets": [q.packets for q in qs],
                  "bytes": [q.bytes for q in qs], "drops": [q.drops for q in qs],
                  "interrupts": [sum(k.descs[irq].kstat) for irq in self.irqs],
                  "tx_packets": [q.tx_packets for q in qs]}
        cpus = {"processed": [s.processed for s in sd], "received_rps": [s.received_rps for s in sd],
                "backlog_drops": [s.dropped for s in sd], "time_squeeze": [s.time_squeeze for s in sd],
                "read": [sum(a.delivered for a in self.apps if a.cpu == c) for c in range(k.ncpus)],
                "tx": list(self.tx_cpu)}
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


def _indir(spec: NicSpec, queues: int) -> list[int]:
    """The indirection table ``ethtool -X`` leaves (the kernel's default without one)."""
    rss = spec.rss
    ind = rss.indir
    if ind is None:
        return indir_default(rss.indir_size, queues)
    if isinstance(ind, list):
        return ind
    if ind.equal is not None:
        return indir_default(rss.indir_size, ind.equal)
    assert ind.weight is not None
    return indir_weights(rss.indir_size, ind.weight)
