"""NAPI and the NET_RX softirq (``net/core/dev.c``, ``net/core/hotdata.c``,
``Documentation/networking/napi.rst``).

Driver contract: the interrupt handler calls ``napi_schedule_prep`` (False
when already scheduled, which sets MISSED, or disabled), masks its device
interrupt and calls ``__napi_schedule`` (per-CPU poll list, NET_RX raised).
``net_rx_action`` polls each instance with its weight (64) within a round
budget of ``netdev_budget`` = 300 packets or ``netdev_budget_usecs`` = 2
jiffies; running out counts ``time_squeeze`` and leaves the rest scheduled
with NET_RX raised again.  A poll that used its whole weight stays on the
list (its interrupt stays masked); one that did less calls
``napi_complete_done``, which tells the driver to unmask unless an interrupt
raced with it (MISSED: polled again) or ``napi_defer_hard_irqs`` /
``gro_flush_timeout`` keep the interrupt masked under an hrtimer that
schedules the poll instead (``napi_watchdog``).

Non-NAPI drivers hand frames to ``netif_rx``: the per-CPU backlog
(``netdev_max_backlog`` = 1000, excess dropped and counted) is drained by the
backlog NAPI instance (``process_backlog``) in the same softirq.

RPS (``irqlab.kernel.rps`` chooses the CPU): ``enqueue_to_backlog`` puts
packets on any CPU's backlog; a remote backlog is put on this CPU's
``rps_ipi_list`` (NET_RX raised here if not already running) and, at the end
of ``net_rx_action``, kicked with a call-function IPI whose function
(``rps_trigger_softirq``) schedules the backlog there and counts
``received_rps`` (``napi_schedule_rps``, ``net_rps_send_ipi``).  Backlog
head and tail counters (``input_queue_head``/``_tail``) keep RFS in order.

Not modelled: GRO (its held packets would also arm the timer), busy polling,
threaded NAPI.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from irqlab.events import NAPI_ENTRY, NAPI_EXIT
from irqlab.kernel.jiffies import usecs_to_jiffies
from irqlab.kernel.softirq import NET_RX

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel

# include/linux/netdevice.h enum (bit numbers: SCHED 0, MISSED 1, DISABLE 2)
NAPIF_STATE_SCHED = 1 << 0
NAPIF_STATE_MISSED = 1 << 1
NAPIF_STATE_DISABLE = 1 << 2

NAPI_POLL_WEIGHT = 64  # netdevice.h; also dev_rx_weight (hotdata.c)
NETDEV_BUDGET = 300  # net.core.netdev_budget (hotdata.c)
NETDEV_MAX_BACKLOG = 1000  # net.core.netdev_max_backlog (hotdata.c)

#: a poll function: ``poll(napi, budget)`` yields CPU costs and returns the work done
Poll = Callable[["Napi", int], Generator[int, None, int]]
#: what ``netif_receive_skb`` hands the frames to (the socket layer): (cpu, arrival times)
Deliver = Callable[[int, list[int]], None]


def netdev_budget_usecs(hz: int) -> int:
    """``2 * USEC_PER_SEC / HZ``: "at least 2 jiffies to guarantee 1 jiffy timeout"."""
    return 2 * 1_000_000 // hz


class Napi:
    """``struct napi_struct``."""

    __slots__ = ("cpu", "defer_count", "defer_hard_irqs", "dev", "gro_flush_timeout", "name",
                 "net", "poll", "polls", "state", "timer_gen", "weight")

    def __init__(self, net: Softnet, poll: Poll, weight: int, name: str, dev: Any, cpu: int) -> None:
        self.net = net
        self.poll = poll
        self.weight = weight
        self.name = name
        self.dev = dev
        self.cpu = cpu
        self.state = 0
        self.defer_hard_irqs = 0  # /sys/class/net/<dev>/napi_defer_hard_irqs
        self.gro_flush_timeout = 0  # ns, /sys/class/net/<dev>/gro_flush_timeout
        self.defer_count = 0  # napi->defer_hard_irqs_count
        self.timer_gen = 0
        self.polls = 0

    @property
    def scheduled(self) -> bool:
        return bool(self.state & NAPIF_STATE_SCHED)


class SoftnetData:
    """``struct softnet_data`` of one CPU (its counters are /proc/net/softnet_stat)."""

    __slots__ = ("backlog", "cpu", "dropped", "in_net_rx_action", "input_pkt_queue", "poll_list",
                 "processed", "received_rps", "rps_ipi_list", "time_squeeze")

    def __init__(self, cpu: int) -> None:
        self.cpu = cpu
        self.rps_ipi_list: list[SoftnetData] = []
        self.received_rps = 0
        self.poll_list: deque[Napi] = deque()
        self.in_net_rx_action = False
        self.processed = 0
        self.dropped = 0
        self.time_squeeze = 0
        self.input_pkt_queue: deque[int] = deque()
        self.backlog: Napi


class Softnet:
    """The networking core of one machine: per-CPU softnet data, the NET_RX
    action, and the protocol stage every received frame goes through."""

    def __init__(self, k: Kernel, protocol_ns: int = 0, deliver: Deliver | None = None) -> None:
        self.k = k
        self.protocol_ns = protocol_ns
        self.deliver = deliver
        self.budget = NETDEV_BUDGET
        self.budget_usecs = netdev_budget_usecs(k.hz)
        self.max_backlog = NETDEV_MAX_BACKLOG
        self.sd = [SoftnetData(cpu) for cpu in range(k.ncpus)]
        #: per CPU: packets dequeued from / queued to its backlog (input_queue_head, _tail)
        self.qhead = [0] * k.ncpus
        self.qtail = [0] * k.ncpus
        for cpu, sd in enumerate(self.sd):
            sd.backlog = Napi(self, self.process_backlog, NAPI_POLL_WEIGHT, "backlog", sd, cpu)
        k.hotplug.cpuhp_setup_state(self.dev_cpu_dead)

    def dev_cpu_dead(self, oldcpu: int, cpu: int) -> None:
        """``dev_cpu_dead`` (CPUHP_NET_DEV_DEAD): the dead CPU's NAPI poll list
        joins ``cpu``'s (its backlog NAPI is only unscheduled: a backlog is
        polled by its own CPU), and the frames of its backlog go through
        ``netif_rx`` on ``cpu``."""
        old = self.sd[oldcpu]
        while old.poll_list:
            n = old.poll_list.popleft()
            if n is old.backlog:
                n.state = 0
            else:
                napi_schedule_irqoff(n, cpu)
        frames = list(old.input_pkt_queue)
        old.input_pkt_queue.clear()
        if frames:
            self.netif_rx(cpu, frames)

    def napi_add(self, poll: Poll, dev: Any, cpu: int, name: str = "napi",
                 weight: int = NAPI_POLL_WEIGHT) -> Napi:
        """``netif_napi_add_weight``: weights above 64 draw the kernel's complaint."""
        if weight > NAPI_POLL_WEIGHT:
            self.k.printk(f"netif_napi_add_weight() called with weight {weight}")
        return Napi(self, poll, weight, name, dev, cpu)

    # -- the protocol stage ---------------------------------------------------------------
    def netif_receive_skb(self, cpu: int, frames: list[int]) -> Generator[int, None, None]:
        """Protocol processing of ``frames`` (cost per frame), then the socket layer."""
        if frames:
            self.sd[cpu].processed += len(frames)
            if self.protocol_ns:
                yield self.protocol_ns * len(frames)
            if self.deliver is not None:
                self.deliver(cpu, frames)

    def netif_rx(self, cpu: int, frames: list[int]) -> int:
        """``netif_rx`` in hard-IRQ context on ``cpu``: its own backlog."""
        return self.enqueue_to_backlog(cpu, cpu, frames)

    def enqueue_to_backlog(self, this_cpu: int, cpu: int, frames: list[int],
                           rflow: list[int] | None = None) -> int:
        """Queue on ``cpu``'s backlog from ``this_cpu``, drop beyond
        ``netdev_max_backlog``, schedule the backlog NAPI (``napi_schedule_rps``).
        ``rflow`` (RFS) learns the tail reached.  Returns the number dropped."""
        sd = self.sd[cpu]
        q = sd.input_pkt_queue
        room = self.max_backlog - len(q)
        dropped = len(frames) - room if len(frames) > room else 0
        if dropped:
            sd.dropped += dropped
            frames = frames[:room]
        if frames:
            q.extend(frames)
            self.qtail[cpu] += len(frames)
            if rflow is not None:
                rflow[1] = self.qtail[cpu]
            backlog = sd.backlog
            if not backlog.state & NAPIF_STATE_SCHED:
                backlog.state |= NAPIF_STATE_SCHED
                if cpu == this_cpu:
                    napi_schedule_irqoff(backlog, cpu)
                else:
                    mysd = self.sd[this_cpu]
                    mysd.rps_ipi_list.append(sd)
                    if not mysd.in_net_rx_action:
                        self.k.raise_softirq(this_cpu, NET_RX)
        return dropped

    def net_rps_send_ipi(self, cpu: int) -> None:
        """End of ``net_rx_action``: kick every remote backlog queued from here
        (the list is pushed at its head: the last queued is kicked first)."""
        sd = self.sd[cpu]
        remote, sd.rps_ipi_list = sd.rps_ipi_list, []
        smp = self.k.smp
        for remsd in reversed(remote):
            smp.smp_call_function_single(cpu, remsd.cpu, self._rps_trigger_softirq)

    def _rps_trigger_softirq(self, _k: Kernel, cpu: int) -> int:
        """The RPS IPI's function on the remote CPU: schedule its backlog."""
        sd = self.sd[cpu]
        napi_schedule_irqoff(sd.backlog, cpu)
        sd.received_rps += 1
        return 0

    def process_backlog(self, napi: Napi, quota: int) -> Generator[int, None, int]:
        """The backlog's poll: up to ``quota`` frames, including those queued
        while it runs; an empty backlog clears SCHED directly (there is no
        interrupt to re-enable)."""
        sd: SoftnetData = napi.dev
        q = sd.input_pkt_queue
        work = 0
        while True:
            n = min(quota - work, len(q))
            frames = [q.popleft() for _ in range(n)]
            self.qhead[napi.cpu] += n
            yield from self.netif_receive_skb(napi.cpu, frames)
            work += n
            if work >= quota:
                return work
            if not q:
                napi.state = 0
                return work

    # -- NET_RX ---------------------------------------------------------------------------
    def net_rx_action(self, k: Kernel, cpu: int) -> Generator[int, None, None]:
        """One NET_RX run: poll the CPU's list within the round budget."""
        sd = self.sd[cpu]
        hz = k.hz
        time_limit = k.jiffies() + usecs_to_jiffies(self.budget_usecs, hz)
        budget = self.budget
        sd.in_net_rx_action = True
        work_list = sd.poll_list
        sd.poll_list = deque()
        repoll: list[Napi] = []
        while True:
            if not work_list:
                if not repoll:
                    sd.in_net_rx_action = False
                    if sd.poll_list:  # scheduled meanwhile: take them in this round
                        work_list = sd.poll_list
                        sd.poll_list = deque()
                        sd.in_net_rx_action = True
                        continue
                break
            n = work_list.popleft()
            budget -= yield from self._napi_poll(n, repoll, cpu)
            if budget <= 0 or k.jiffies() >= time_limit:
                sd.time_squeeze += 1
                break
        sd.in_net_rx_action = False
        work_list.extend(sd.poll_list)
        work_list.extend(repoll)
        sd.poll_list = work_list
        if work_list:
            k.raise_softirq(cpu, NET_RX)
        if sd.rps_ipi_list:
            self.net_rps_send_ipi(cpu)

    def _napi_poll(self, n: Napi, repoll: list[Napi], cpu: int) -> Generator[int, None, int]:
        """``__napi_poll``: a poll that used its whole weight goes back on the list.
        The poll is bracketed by ``napi_entry`` / ``napi_exit`` events (the
        kernel has only the exit: ``napi:napi_poll``, with the work done)."""
        weight = n.weight
        work = 0
        if n.state & NAPIF_STATE_SCHED:
            n.polls += 1
            emit = self.k.trace.emit
            emit(self.k.engine.now, cpu, NAPI_ENTRY, -1, 0, n.name)
            work = yield from n.poll(n, weight)
            emit(self.k.engine.now, cpu, NAPI_EXIT, -1, work, n.name)
            if work > weight:
                self.k.warn("napi-budget", None,
                            f"NAPI poll function {n.name} returned {work}, exceeding its "
                            f"budget of {weight}.", once=True)
        if work < weight:
            return work
        repoll.append(n)
        return work

    def napi_watchdog(self, n: Napi) -> None:
        """The NAPI hrtimer: schedule the poll as an interrupt would."""
        if not n.state & NAPIF_STATE_DISABLE and not n.state & NAPIF_STATE_SCHED:
            n.state |= NAPIF_STATE_SCHED
            self.k.tick.hrtimer_expire(n.cpu, lambda: _watchdog_schedule(n))


def net_dev_init(k: Kernel, protocol_ns: int = 0, deliver: Deliver | None = None) -> Softnet:
    """Boot-time networking init: the softnet data and ``open_softirq(NET_RX_SOFTIRQ,
    net_rx_action)``.  Called again, it returns the same core with the new
    protocol stage."""
    action = k.softirqs.actions[NET_RX]
    net = getattr(action, "__self__", None)
    if isinstance(net, Softnet):
        net.protocol_ns = protocol_ns
        net.deliver = deliver
        return net
    net = Softnet(k, protocol_ns, deliver)
    k.softirqs.open_softirq(NET_RX, net.net_rx_action)
    return net


# -- scheduling and completion ----------------------------------------------------------------
def napi_schedule_prep(n: Napi) -> bool:
    """False if disabled, or already scheduled (then MISSED is set)."""
    state = n.state
    if state & NAPIF_STATE_DISABLE:
        return False
    new = state | NAPIF_STATE_SCHED
    if state & NAPIF_STATE_SCHED:
        new |= NAPIF_STATE_MISSED
    n.state = new
    return not state & NAPIF_STATE_SCHED


def napi_schedule_irqoff(n: Napi, cpu: int) -> None:
    """``____napi_schedule``: tail of this CPU's poll list; NET_RX raised unless
    ``net_rx_action`` is running there and will pick it up."""
    n.cpu = cpu  # napi->list_owner
    sd = n.net.sd[cpu]
    sd.poll_list.append(n)
    if not sd.in_net_rx_action:
        n.net.k.raise_softirq(cpu, NET_RX)


def napi_schedule(n: Napi, cpu: int) -> bool:
    """``napi_schedule`` on ``cpu``: prep + schedule; True if scheduled now."""
    if napi_schedule_prep(n):
        napi_schedule_irqoff(n, cpu)
        return True
    return False


def napi_complete_done(n: Napi, work_done: int) -> bool:
    """True when the driver may re-enable its device interrupt."""
    ret = True
    timeout = 0
    if work_done:
        n.defer_count = n.defer_hard_irqs
    if n.defer_count > 0:
        n.defer_count -= 1
        timeout = n.gro_flush_timeout
        if timeout:
            ret = False
    state = n.state
    if state & NAPIF_STATE_MISSED:  # an interrupt raced with the poll: poll again
        n.state = (state & ~NAPIF_STATE_MISSED) | NAPIF_STATE_SCHED
        napi_schedule_irqoff(n, n.cpu)
        return False
    n.state = state & ~NAPIF_STATE_SCHED
    if timeout:  # hrtimer_start(&n->timer, timeout, HRTIMER_MODE_REL_PINNED)
        n.timer_gen += 1
        n.net.k.engine.after(timeout, _napi_timer, (n, n.timer_gen))
    return ret


def _napi_timer(arg: tuple[Napi, int]) -> None:
    n, gen = arg
    if gen == n.timer_gen:
        n.net.napi_watchdog(n)


def _watchdog_schedule(n: Napi) -> int:
    """``napi_watchdog`` (a hard hrtimer, run from the timer interrupt)."""
    napi_schedule_irqoff(n, n.cpu)
    return 0
