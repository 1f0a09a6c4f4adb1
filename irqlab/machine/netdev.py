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

The application is a normal user thread on the first queue's CPU, below every
interrupt and softirq and sharing the CPU with ksoftirqd; what it consumes is
the delivered throughput.  The figures of :meth:`RxPath.report` are measured
from ``device.nic.warmup`` to the end of the run.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from irqlab.analysis.histogram import Histogram
from irqlab.hw.device import Signal
from irqlab.hw.nic import Nic
from irqlab.kernel.cpu import CONTEXT_NAMES, USER
from irqlab.kernel.dim import Moderation, NetDim
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.napi import Napi, Softnet, napi_complete_done, net_dev_init
from irqlab.kernel.sched import SLEEP, SLEEPING, Sleep

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from irqlab.hw.device import Device, RaiseSink
    from irqlab.hw.nic import RxQueue
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.kernel import Kernel
    from irqlab.scenario.schema import NicSpec

APP_BATCH = 16  # packets per read: recvmmsg-style batching of the model application


class Socket:
    """A datagram socket's receive queue, bounded in packets (sk_rcvbuf); a
    delivery wakes the reader (``sk_data_ready``)."""

    __slots__ = ("data_ready", "drops", "queue", "rcvbuf")

    def __init__(self, rcvbuf: int) -> None:
        self.rcvbuf = rcvbuf
        self.queue: deque[int] = deque()
        self.drops = 0
        self.data_ready: Callable[[], None] | None = None

    def deliver(self, cpu: int, frames: list[int]) -> None:
        room = self.rcvbuf - len(self.queue)
        if len(frames) > room:
            self.drops += len(frames) - room
            frames = frames[:room]
        if frames:
            self.queue.extend(frames)
            if self.data_ready is not None:
                self.data_ready()


class Application:
    """The reader: a normal user thread that reads up to ``APP_BATCH`` packets
    at a time and spends ``app_ns`` of user time on each, sleeping while its
    socket is empty."""

    __slots__ = ("app_ns", "delivered", "engine", "latency", "sched", "sock", "thread")

    def __init__(self, k: Kernel, cpu: int, sock: Socket, app_ns: int) -> None:
        self.engine = k.engine
        self.sock = sock
        self.app_ns = app_ns
        self.delivered = 0
        self.latency = Histogram()  # wire arrival -> consumed
        self.sched = k.sched
        self.thread = self.sched.kthread_create("app", cpu, self._body(), kind=USER)
        sock.data_ready = self._data_ready
        self.sched.wake_up_process(self.thread)

    def _data_ready(self) -> None:
        if self.thread.state == SLEEPING:
            self.sched.wake_up_process(self.thread)

    def _body(self) -> Generator[int | Sleep, None, None]:
        q = self.sock.queue
        app_ns = self.app_ns
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
            for t in frames:
                record(now - t)


def _set_moderation(q: RxQueue, m: Moderation) -> None:
    """The driver's DIM work: write the profile to the queue (ethtool -C)."""
    q.set_coalesce(m.usec, m.pkts)


class RxDriver:
    """The NIC driver: the top half of each queue vector and, with NAPI, the poll.
    Costs are per interrupt (``irq_ns``) and per frame (``driver_ns``)."""

    def __init__(self, k: Kernel, net: Softnet, nic: Nic, irq_ns: int, driver_ns: int,
                 napi: bool, adaptive: bool, cpus: list[int]) -> None:
        self.k = k
        self.net = net
        self.nic = nic
        self.irq_ns = irq_ns
        self.driver_ns = driver_ns
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
            frames = q.take(len(q.ring))
            ctx.cost += self.irq_ns + self.driver_ns * len(frames)
            self.net.netif_rx(ctx.cpu, frames)
        return IRQ_HANDLED

    def poll(self, napi: Napi, budget: int) -> Generator[int, None, int]:
        q: RxQueue = napi.dev
        frames = q.take(budget)
        n = len(frames)
        if n:
            yield self.driver_ns * n
        yield from self.net.netif_receive_skb(napi.cpu, frames)
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
                 sink: RaiseSink, arrivals: Callable[[int, int], Any]) -> None:
        self.k = k
        self.name = name
        self.warmup_ns = spec.warmup
        self.cpus = [d.cpu for d in devs]
        self.irqs = [d.irq for d in devs]
        self.nic = Nic(k.engine, name, [TracedSignal(d, sink) for d in devs],
                       ring_size=spec.ring_size, rx_usecs=spec.rx_usecs,
                       rx_frames=spec.frames())
        self.sock = Socket(spec.rcvbuf)
        costs = spec.costs
        self.net = net_dev_init(k, costs.protocol, self.sock.deliver)
        self.driver = RxDriver(k, self.net, self.nic, costs.irq, costs.driver,
                               spec.receive == "napi", spec.adaptive, self.cpus)
        self.app = Application(k, self.cpus[0], self.sock, costs.app)
        n = len(self.nic.queues)
        for q in self.nic.queues:
            source = arrivals(q.index, n)
            if source is not None:
                q.start(source)
        self.start: dict[str, Any] | None = None
        k.engine.at(self.warmup_ns, self._mark)

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
            "delivered": self.app.delivered,
            "irqs": sum(sum(k.descs[irq].kstat) for irq in self.irqs),  # /proc/interrupts
            "ring_drops": self.nic.drops,
            "backlog_drops": sum(s.dropped for s in sd),
            "socket_drops": self.sock.drops,
            "time_squeeze": sum(s.time_squeeze for s in sd),
            "cpu": k.cpus[self.cpus[0]].account(),
        }

    def _mark(self, _: object) -> None:
        self.start = self._counters()
        self.app.latency = Histogram()

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
        lat = self.app.latency

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
        }
