"""An Ethernet NIC's receive side: RX rings, per-queue interrupts and
interrupt moderation ("coalescing") done by the hardware.

Each queue has a descriptor ring of ``ring_size`` entries that the NIC fills
by DMA; a frame arriving to a full ring is dropped and counted
(``rx_missed_errors``/``rx_fifo_errors`` in ``ethtool -S``).  Each queue
signals its own MSI-X vector (or GIC LPI) through a :class:`~irqlab.hw.device.Signal`.

Moderation follows the ethtool contract (``include/uapi/linux/ethtool.h``,
``struct ethtool_coalesce``): an interrupt is raised when

    (rx-usecs > 0 and time since the first unsignalled completion >= rx-usecs)
    or (rx-frames > 0 and unsignalled completions >= rx-frames)

Both zero is illegal (interrupts would never be generated); rx-usecs 0 with
rx-frames 1 means moderation off, one interrupt per frame.

The driver masks and unmasks the queue's interrupt (the NAPI contract; Intel
EIMC/EIMS).  Completions while masked are remembered; unmasking with the limit
already reached interrupts at once (the cause bit is still set), else the
moderation timer runs out its remaining time.  Frames the driver has taken
from the ring are no longer "unsignalled" (reading the write-back status
clears them), so an unmask after a poll that emptied the ring is silent.

Multi-queue receive (``Nic.receive_flow``): the NIC hashes each packet's flow
with its RSS key (Toeplitz, ``irqlab.hw.rss``) and the indirection table
picks the queue; the ring then holds the packet as ``arrival_ns << 32 |
hash`` (the hash is what the descriptor reports, ``skb->hash``).  Packets per
table entry are counted, as RSS++ (Barbette et al., CoNEXT 2019) samples
them to rebalance the table.  Queues are combined RX/TX pairs on one vector
(ixgbe "TxRx"): a transmitted frame's completion is an interrupt cause of the
same vector, moderated with the received frames.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from irqlab.hw.arrivals import NO_ARRIVAL
from irqlab.hw.rss import DEFAULT_INDIR_SIZE, MS_RSS_KEY, indir_default, ipv4_l4_input, toeplitz

if TYPE_CHECKING:
    from irqlab.hw.arrivals import Arrivals
    from irqlab.hw.device import Signal
    from irqlab.hw.flows import Flow
    from irqlab.sim.engine import Engine

#: Minimum Ethernet frame: 60 bytes + 4-byte FCS (ETH_ZLEN + ETH_FCS_LEN).
MIN_FRAME_BYTES = 64
#: Ring size of common 10/25 GbE NICs (ixgbe/i40e IXGBE_DEFAULT_RXD = 512).
DEFAULT_RING_SIZE = 512


class CoalesceError(ValueError):
    """An ``ethtool -C`` request the device refuses (EINVAL)."""


def check_coalesce(rx_usecs: int, rx_frames: int) -> None:
    """Refuse what ``ethtool -C`` refuses: negative values and 0/0."""
    if rx_usecs < 0 or rx_frames < 0:
        raise CoalesceError("Cannot set device coalesce parameters: Invalid argument "
                            f"(rx-usecs {rx_usecs}, rx-frames {rx_frames}: must be >= 0)")
    if rx_usecs == 0 and rx_frames == 0:
        raise CoalesceError("Cannot set device coalesce parameters: Invalid argument "
                            "(rx-usecs 0 and rx-frames 0 would never generate an interrupt; "
                            "use rx-usecs 0 rx-frames 1 to turn moderation off)")


class RxQueue:
    """One RX ring with its interrupt vector and moderation state."""

    __slots__ = (
        "arrivals", "bytes", "drops", "engine", "first_ns", "frame_bytes", "frames", "index",
        "interrupts", "irq_enabled", "packets", "ring", "ring_size", "signal", "timer_at",
        "timer_gen", "tx_done", "tx_packets", "unsignalled", "usecs_ns",
    )

    def __init__(self, engine: Engine, index: int, signal: Signal, ring_size: int,
                 frame_bytes: int) -> None:
        if ring_size < 1:
            raise ValueError(f"rx ring size must be >= 1, got {ring_size}")
        self.engine = engine
        self.index = index
        self.signal = signal
        self.ring_size = ring_size
        self.frame_bytes = frame_bytes
        self.ring: deque[int] = deque()  # arrival time of each frame, oldest first
        self.arrivals: Arrivals | None = None
        self.irq_enabled = True
        self.usecs_ns = 0
        self.frames = 1
        self.unsignalled = 0
        self.first_ns = 0
        self.timer_at = 0  # 0: no moderation timer armed
        self.timer_gen = 0
        self.interrupts = 0
        self.packets = 0
        self.bytes = 0
        self.drops = 0
        self.tx_done = 0  # transmit completions not yet cleaned by the driver
        self.tx_packets = 0

    # -- wire side ------------------------------------------------------------------
    def start(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        gap = arrivals.next_gap()
        if gap != NO_ARRIVAL:
            self.engine.after(gap, self._arrive)

    def _arrive(self, _: object) -> None:
        self.receive()
        gap: int = self.arrivals.next_gap()  # type: ignore[union-attr]
        if gap != NO_ARRIVAL:
            self.engine.after(gap, self._arrive)

    def receive(self, skb: int = -1, size: int = 0) -> None:
        """One frame written back into the ring (or dropped: ring full): the
        ring holds ``skb`` for it (its arrival time unless given); ``size`` is
        its length (the queue's frame size unless given)."""
        ring = self.ring
        if len(ring) >= self.ring_size:
            self.drops += 1
            return
        now = self.engine.now
        ring.append(now if skb < 0 else skb)
        self.packets += 1
        self.bytes += size or self.frame_bytes
        self._cause(now)

    def transmit(self) -> None:
        """A frame sent on this queue pair: its completion is written back at
        once (the wire time is not modelled) and is a cause of the vector."""
        self.tx_packets += 1
        self.tx_done += 1
        self._cause(self.engine.now)

    def _cause(self, now: int) -> None:
        """An event the vector signals: fire now, or arm the moderation timer."""
        self.unsignalled += 1
        if self.unsignalled == 1:
            self.first_ns = now
        if not self.irq_enabled:
            return
        if self.frames and self.unsignalled >= self.frames:
            self._fire()
        elif self.unsignalled == 1 and self.usecs_ns:
            self._arm(now + self.usecs_ns)

    # -- moderation -------------------------------------------------------------------
    def _arm(self, at: int) -> None:
        self.timer_gen += 1
        self.timer_at = at
        self.engine.at(at, self._expire, self.timer_gen)

    def _expire(self, gen: int) -> None:
        if gen != self.timer_gen:
            return
        self.timer_at = 0
        if self.unsignalled and self.irq_enabled:
            self._fire()

    def _fire(self) -> None:
        self.unsignalled = 0
        self.timer_at = 0
        self.timer_gen += 1
        self.interrupts += 1
        self.signal.raise_()

    def set_coalesce(self, rx_usecs: int, rx_frames: int) -> None:
        """``ethtool -C rx-usecs N rx-frames M`` for this queue."""
        check_coalesce(rx_usecs, rx_frames)
        self.usecs_ns = rx_usecs * 1000
        self.frames = rx_frames

    # -- driver side ------------------------------------------------------------------
    def irq_disable(self) -> None:
        """Mask this queue's interrupt (EIMC)."""
        self.irq_enabled = False

    def irq_enable(self) -> None:
        """Unmask (EIMS): interrupt now if the moderation limit was reached while
        masked, else let the timer run out its remaining time."""
        self.irq_enabled = True
        if not self.unsignalled:
            return
        now = self.engine.now
        usecs = self.usecs_ns
        if (self.frames and self.unsignalled >= self.frames) or (usecs and now - self.first_ns >= usecs):
            self._fire()
        elif usecs and not self.timer_at:
            self._arm(self.first_ns + usecs)

    def clean_tx(self) -> int:
        """The driver reaps the transmit completions; returns how many."""
        n = self.tx_done
        self.tx_done = 0
        self._cleaned()
        return n

    def take(self, n: int) -> list[int]:
        """The driver cleans up to ``n`` descriptors; returns what the ring held
        for them (arrival times, or arrival << 32 | hash)."""
        ring = self.ring
        if n >= len(ring):
            out = list(ring)
            ring.clear()
        else:
            pop = ring.popleft
            out = [pop() for _ in range(n)]
        self._cleaned()
        return out

    def _cleaned(self) -> None:
        """Events the driver has reaped are no longer unsignalled; with none
        left the moderation timer is off."""
        left = len(self.ring) + self.tx_done
        if self.unsignalled > left:
            self.unsignalled = left
            if not left:
                self.timer_at = 0
                self.timer_gen += 1


class Nic:
    """A multi-queue NIC: one :class:`RxQueue` per signal."""

    def __init__(self, engine: Engine, name: str, signals: list[Signal], *,
                 ring_size: int = DEFAULT_RING_SIZE, frame_bytes: int = MIN_FRAME_BYTES,
                 rx_usecs: int = 0, rx_frames: int = 1, rss_key: bytes = MS_RSS_KEY,
                 indir_size: int = DEFAULT_INDIR_SIZE) -> None:
        self.name = name
        self.engine = engine
        self.queues = [RxQueue(engine, i, s, ring_size, frame_bytes) for i, s in enumerate(signals)]
        self.set_coalesce(rx_usecs, rx_frames)
        self.rss_key = rss_key
        self.indir = indir_default(indir_size, len(self.queues))
        self.indir_packets = [0] * indir_size
        self._hash: dict[int, int] = {}  # flow index -> its hash under rss_key

    def rxhash(self, flow: Flow) -> int:
        """The flow's Toeplitz hash (NDIS_HASH_TCP_IPV4) under this NIC's key."""
        h = self._hash.get(flow.index)
        if h is None:
            h = self._hash[flow.index] = toeplitz(
                self.rss_key, ipv4_l4_input(flow.saddr, flow.daddr, flow.sport, flow.dport))
        return h

    def receive_flow(self, flow: Flow) -> None:
        """A packet of ``flow`` from the wire: hash, indirection table, queue."""
        h = self.rxhash(flow)
        entry = h % len(self.indir)
        self.indir_packets[entry] += 1
        self.queues[self.indir[entry]].receive(self.engine.now << 32 | h, flow.size)

    def set_indir(self, table: list[int]) -> None:
        """``ethtool -X DEV`` with a whole table: the same size, queues that exist."""
        if len(table) != len(self.indir):
            raise ValueError(f"indirection table of {len(table)} entries for a device of "
                             f"{len(self.indir)}")
        bad = [q for q in table if not 0 <= q < len(self.queues)]
        if bad:
            raise ValueError(f"indirection table names queue {bad[0]}; the device has "
                             f"{len(self.queues)} (0-{len(self.queues) - 1})")
        self.indir = list(table)

    def set_coalesce(self, rx_usecs: int, rx_frames: int) -> None:
        """``ethtool -C <dev> rx-usecs N rx-frames M`` (all queues)."""
        check_coalesce(rx_usecs, rx_frames)
        for q in self.queues:
            q.set_coalesce(rx_usecs, rx_frames)

    @property
    def drops(self) -> int:
        return sum(q.drops for q in self.queues)
