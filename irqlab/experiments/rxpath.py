"""The receive path the network experiments measure: a NIC model bound to a
scenario's MSI-X device, its driver, the protocol stage, a socket and the
application that reads it, all on one simulated machine.

Driver modes:

* ``per-packet``: a pre-NAPI driver: the interrupt handler cleans the whole
  ring and hands every frame to ``netif_rx`` (backlog, NET_RX softirq does the
  protocol work); moderation off (rx-usecs 0, rx-frames 1);
* ``moderation``: the same driver with static hardware moderation (rx-usecs);
* ``napi`` (``napi-moderation`` with static rx-usecs): the NAPI contract: the handler masks the queue interrupt and
  schedules the poll, which cleans the ring and runs the protocol stage in
  NET_RX; the interrupt is unmasked on completion;
* ``adaptive``: NAPI with net DIM choosing the moderation profile.

The application is a normal user thread on the NIC's CPU, below every
interrupt and softirq and sharing the CPU with ksoftirqd; what it consumes
is the delivered throughput.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import Field

from irqlab.analysis.histogram import Histogram
from irqlab.hw.arrivals import Poisson
from irqlab.hw.nic import Nic
from irqlab.kernel.cpu import CONTEXT_NAMES, USER
from irqlab.kernel.dim import Moderation, NetDim
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.kernel.manage import free_irq, request_irq
from irqlab.kernel.napi import Napi, Softnet, napi_complete_done, net_dev_init
from irqlab.kernel.sched import SLEEP, SLEEPING, Scheduler, Sleep
from irqlab.machine.build import BuildError, build
from irqlab.machine.run import simulate
from irqlab.scenario.loader import ScenarioError
from irqlab.scenario.schema import Duration, Strict

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from irqlab.hw.nic import RxQueue
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.kernel import Kernel
    from irqlab.scenario.schema import Scenario

MODES = ("per-packet", "moderation", "napi", "napi-moderation", "adaptive")
APP_BATCH = 16  # packets per read: recvmmsg-style batching of the model application


@dataclass(frozen=True)
class RxCosts:
    """CPU cost (ns) of each stage of the receive path."""

    irq_ns: int  # top half, per interrupt (cause read, ack)
    driver_ns: int  # per frame: descriptor, buffer refill, skb
    protocol_ns: int  # per frame: IP + UDP receive in NET_RX
    app_ns: int  # per frame: the application's read and work (user time)


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


def scheduler_of(k: Kernel) -> Scheduler:
    """The kernel's thread scheduler (one is created if the kernel has none)."""
    sched = getattr(k, "sched", None)
    return sched if sched is not None else Scheduler(k)


class Application:
    """The reader: a normal user thread on the NIC's CPU that reads up to
    ``APP_BATCH`` packets at a time and spends ``app_ns`` of user time on each,
    sleeping while its socket is empty."""

    __slots__ = ("app_ns", "delivered", "engine", "latency", "sched", "sock", "thread")

    def __init__(self, k: Kernel, cpu: int, sock: Socket, app_ns: int) -> None:
        self.engine = k.engine
        self.sock = sock
        self.app_ns = app_ns
        self.delivered = 0
        self.latency = Histogram()  # wire arrival -> consumed
        self.sched = scheduler_of(k)
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
    """The NIC driver: the top half of each queue vector and, with NAPI, the poll."""

    def __init__(self, k: Kernel, net: Softnet, nic: Nic, costs: RxCosts, mode: str,
                 cpus: list[int]) -> None:
        self.k = k
        self.net = net
        self.nic = nic
        self.costs = costs
        self.use_napi = mode in ("napi", "napi-moderation", "adaptive")
        self.napis: list[Napi] = [net.napi_add(self.poll, q, cpu, name=f"{nic.name}-rx-{q.index}")
                                  for q, cpu in zip(nic.queues, cpus, strict=True)]
        self.dims: list[NetDim] | None = None
        if mode == "adaptive":
            self.dims = [NetDim(partial(_set_moderation, q)) for q in nic.queues]
            for q, dim in zip(nic.queues, self.dims, strict=True):
                q.set_coalesce(dim.moderation.usec, dim.moderation.pkts)

    def interrupt(self, ctx: HandlerContext) -> int:
        q: RxQueue = ctx.action.dev_id  # type: ignore[union-attr]
        costs = self.costs
        if self.use_napi:
            ctx.cost += costs.irq_ns
            q.irq_disable()
            ctx.napi_schedule(self.napis[q.index])
        else:
            frames = q.take(len(q.ring))
            ctx.cost += costs.irq_ns + costs.driver_ns * len(frames)
            self.net.netif_rx(ctx.cpu, frames)
        return IRQ_HANDLED

    def poll(self, napi: Napi, budget: int) -> Generator[int, None, int]:
        q: RxQueue = napi.dev
        frames = q.take(budget)
        n = len(frames)
        if n:
            yield self.costs.driver_ns * n
        yield from self.net.netif_receive_skb(napi.cpu, frames)
        if n == budget:
            return budget
        if self.dims is not None:
            self.dims[q.index].sample(self.k.engine.now, q.interrupts, q.packets, q.bytes)
        if napi_complete_done(napi, n):
            q.irq_enable()
        return n


@dataclass
class Point:
    """One measured run: offered load through one driver mode."""

    mode: str
    offered_pps: float
    rx_usecs: int = 0


class RxBench:
    """A machine from ``spec`` with its device ``nic`` replaced by the NIC model."""

    def __init__(self, spec: Scenario, nic_name: str, costs: RxCosts, point: Point, seed: int,
                 ring_size: int, rcvbuf: int) -> None:
        self.m = m = build(spec, seed)
        k = m.kernel
        self.k = k
        devs = m.devices[nic_name]
        self.cpus = [d.cpu for d in devs]
        self.irqs = [d.irq for d in devs]
        static = point.mode in ("moderation", "napi-moderation")
        rx_usecs, rx_frames = (point.rx_usecs, 0) if static else (0, 1)
        self.nic = Nic(m.engine, nic_name, [d.signal for d in devs], ring_size=ring_size,
                       rx_usecs=rx_usecs, rx_frames=rx_frames)
        self.sock = Socket(rcvbuf)
        self.net = net_dev_init(k, costs.protocol_ns, self.sock.deliver)
        self.driver = RxDriver(k, self.net, self.nic, costs, point.mode, self.cpus)
        # the NIC driver module takes over the device's interrupts
        for q, dev, irq in zip(self.nic.queues, devs, self.irqs, strict=True):
            action = k.descs[irq].action[0]
            free_irq(k, irq, dev)
            request_irq(k, irq, self.driver.interrupt, action.flags, action.name, q)
        self.app = Application(k, self.cpus[0], self.sock, costs.app_ns)
        self.point = point
        self.seed = seed

    def _counters(self) -> dict[str, Any]:
        k = self.k
        sd = self.net.sd
        return {
            "delivered": self.app.delivered,
            "irqs": sum(sum(k.descs[irq].kstat) for irq in self.irqs),
            "ring_drops": self.nic.drops,
            "backlog_drops": sum(s.dropped for s in sd),
            "socket_drops": self.sock.drops,
            "time_squeeze": sum(s.time_squeeze for s in sd),
            "cpu": k.cpus[self.cpus[0]].account(),
        }

    def run(self, duration_ns: int, warmup_ns: int) -> dict[str, Any]:
        """Simulate; rates are measured after ``warmup_ns``."""
        from irqlab.sim.rng import stream

        engine = self.m.engine
        p = self.point
        for q in self.nic.queues:
            rng = stream(self.seed, f"arrivals:{self.nic.name}-{q.index}:{p.offered_pps:g}")
            q.start(Poisson(p.offered_pps / len(self.nic.queues), rng))
        start: dict[str, Any] = {}
        engine.at(warmup_ns, lambda _: start.update(self._counters()))
        engine.at(warmup_ns, lambda _: setattr(self.app, "latency", Histogram()))
        simulate(self.m, duration_ns)
        end = self._counters()
        span = (engine.now - warmup_ns) / 1e9
        cpu_ns = [b - a for a, b in zip(start["cpu"], end["cpu"], strict=True)]
        total = sum(cpu_ns) or 1
        share = dict(zip(CONTEXT_NAMES, (t / total for t in cpu_ns), strict=True))
        lat = self.app.latency
        return {
            "mode": p.mode,
            "offered_pps": round(p.offered_pps),
            "delivered_pps": round((end["delivered"] - start["delivered"]) / span),
            "irq_per_s": round((end["irqs"] - start["irqs"]) / span),
            "cpu_irq_share": round(share["irq"], 4),
            "cpu_softirq_share": round(share["softirq"], 4),
            "cpu_user_share": round(share["user"], 4),
            "drop_ring_pps": round((end["ring_drops"] - start["ring_drops"]) / span),
            "drop_backlog_pps": round((end["backlog_drops"] - start["backlog_drops"]) / span),
            "drop_socket_pps": round((end["socket_drops"] - start["socket_drops"]) / span),
            "time_squeeze": end["time_squeeze"] - start["time_squeeze"],
            "latency_p50_us": round(lat.percentile(50) / 1000, 1) if lat.count else None,
            "latency_p99_us": round(lat.percentile(99) / 1000, 1) if lat.count else None,
        }


# -- the experiment tables' common part ------------------------------------------------------
class CostSpec(Strict):
    irq: Duration
    driver: Duration
    protocol: Duration
    app: Duration

    def costs(self) -> RxCosts:
        return RxCosts(self.irq, self.driver, self.protocol, self.app)


class RxExperiment(Strict):
    """Fields every receive-path experiment has."""

    nic: str = "eth0"
    costs: CostSpec
    warmup: Duration = 5_000_000
    ring_size: int = Field(512, ge=1, le=65536)
    #: socket receive queue, in packets
    rcvbuf: int = Field(1024, ge=1)
    #: worker processes for the sweep (0: one per CPU, 1: in this process)
    workers: int = Field(0, ge=0)


def check_nic(spec: Scenario, exp: RxExperiment, duration_ns: int) -> None:
    """The scenario must have the device the NIC model replaces."""
    source = f"scenario '{spec.scenario.name}'"
    dev = next((d for d in spec.device if d.name == exp.nic), None)
    if dev is None or dev.kind != "msix":
        raise ScenarioError(f"{source}: experiment.nic: no MSI-X device named '{exp.nic}' "
                            "in the scenario (the NIC model needs one)")
    if dev.arrival.kind != "none":
        raise ScenarioError(f"{source}: device '{exp.nic}': arrival must be 'none': the "
                            "experiment offers the load itself")
    try:
        build(spec)  # the machine each point builds: its errors, once, before the sweep
    except BuildError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    if exp.warmup >= duration_ns:
        raise ScenarioError(f"{source}: experiment.warmup: {exp.warmup} ns is not shorter "
                            f"than the run ({duration_ns} ns)")


def _run_point(args: tuple[Scenario, RxExperiment, Point, int, int]) -> dict[str, Any]:
    spec, exp, point, seed, duration_ns = args
    bench = RxBench(spec, exp.nic, exp.costs.costs(), point, seed, exp.ring_size, exp.rcvbuf)
    return bench.run(duration_ns, exp.warmup)


def run_points(spec: Scenario, exp: RxExperiment, points: list[Point], seed: int,
               duration_ns: int) -> list[dict[str, Any]]:
    """Every point, in order; each is its own machine, deterministic from ``seed``."""
    check_nic(spec, exp, duration_ns)
    jobs = [(spec, exp, p, seed, duration_ns) for p in points]
    workers = exp.workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [_run_point(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_run_point, jobs))
