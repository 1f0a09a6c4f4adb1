"""Traffic as flows: the arrival model of a multi-queue NIC.

A flow is a TCP/UDP conversation over IPv4 (its 4-tuple is what RSS hashes),
with a share of the offered packet rate and a frame size.  ``FlowSource``
offers packets at ``rate`` in total, as a Poisson stream in which each packet
belongs to flow i with probability share_i (the superposition of independent
Poisson flows at rate x share_i each).  Shares follow a distribution:

* ``equal``: every flow the same;
* ``zipf``: the flow of rank r gets a share proportional to 1 / r^s (a few
  elephants and many mice, as measured in data-centre traffic);
* ``uniform``: independent draws between ``min`` and ``max``.

Addresses and ports are drawn from the source's random stream: sources
10.0.0.0/8 with ephemeral ports (32768-60999, Linux's
``ip_local_port_range``), towards one server address and port.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from math import log

from irqlab.sim.engine import Engine

SERVER = "192.168.1.10"


class Flow:
    """One flow: its 4-tuple, its share of the rate and its frame size."""

    __slots__ = ("daddr", "dport", "index", "saddr", "share", "size", "sport")

    def __init__(self, index: int, saddr: str, sport: int, daddr: str, dport: int, share: float,
                 size: int) -> None:
        self.index = index
        self.saddr = saddr
        self.sport = sport
        self.daddr = daddr
        self.dport = dport
        self.share = share
        self.size = size


def flow_shares(n: int, dist: str, rng: random.Random, s: float = 1.0, lo: float = 1.0,
                hi: float = 1.0) -> list[float]:
    """``n`` shares summing to 1, by rank (the first is the largest for zipf)."""
    if dist == "equal":
        w = [1.0] * n
    elif dist == "zipf":
        w = [1.0 / (r ** s) for r in range(1, n + 1)]
    elif dist == "uniform":
        w = [rng.uniform(lo, hi) for _ in range(n)]
    else:
        raise ValueError(f"unknown share distribution {dist!r}")
    total = sum(w)
    return [x / total for x in w]


def make_flows(shares: Sequence[float], sizes: Sequence[int], rng: random.Random,
               dport: int = 5201) -> list[Flow]:
    """Flows with the given shares and sizes and random client 4-tuples."""
    return [Flow(i, f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                 rng.randrange(32768, 61000), SERVER, dport, share, size)
            for i, (share, size) in enumerate(zip(shares, sizes, strict=True))]


class FlowSource:
    """Packets of ``flows`` at ``rate_per_s`` in total, each handed to ``sink``."""

    __slots__ = ("_cum", "_mean_ns", "_random", "engine", "flows", "sink")

    def __init__(self, engine: Engine, flows: list[Flow], rate_per_s: float, rng: random.Random,
                 sink: Callable[[Flow], None]) -> None:
        if not flows:
            raise ValueError("a flow source needs at least one flow")
        if not 0 < rate_per_s <= 1e9:
            raise ValueError(f"rate must be above zero and at most 1/ns, got {rate_per_s!r}")
        self.engine = engine
        self.flows = flows
        self.sink = sink
        self._mean_ns = 1e9 / rate_per_s
        self._random = rng.random
        self._cum = list(accumulate(f.share for f in flows))

    def start(self) -> None:
        self.engine.after(self._gap(), self._arrive)

    def _gap(self) -> int:
        return int(-log(1.0 - self._random()) * self._mean_ns + 0.5)

    def _arrive(self, _: object) -> None:
        cum = self._cum
        i = bisect_right(cum, self._random() * cum[-1])
        self.sink(self.flows[min(i, len(self.flows) - 1)])
        self.engine.after(self._gap(), self._arrive)
