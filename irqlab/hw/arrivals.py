"""Arrival processes that drive devices: periodic, Poisson, bursty on/off, and
replay of captured timestamps.  Each draws from its own random stream (see
``irqlab.sim.rng``) and returns the gap to the next arrival in integer ns, or
``NO_ARRIVAL`` (-1) when it has no more arrivals: a plain ``int``, so that,
compiled, no gap is boxed into an object."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import pairwise
from math import inf
from math import log as _log
from typing import Final

from mypy_extensions import mypyc_attr

#: what ``next_gap`` returns when the source has no more arrivals
NO_ARRIVAL: Final = -1


@mypyc_attr(allow_interpreted_subclasses=True)
class Arrivals:
    __slots__ = ()

    def next_gap(self) -> int:
        """Nanoseconds from the previous arrival (or time 0) to the next one,
        ``NO_ARRIVAL`` if none."""
        raise NotImplementedError

    def set_rate(self, rate_per_s: float) -> None:
        """Arrive at ``rate_per_s`` from the next gap drawn on (the arrival
        already drawn stands); ValueError for a source without a rate."""
        raise ValueError(f"a {type(self).__name__} source has no rate to change")


#: Highest rate: the clock counts whole ns, so a mean gap below 1 ns would round
#: most gaps to 0 and the run would never advance.
MAX_RATE_PER_S = 1e9


def _mean_gap_ns(rate_per_s: float) -> float:
    """Mean gap of a Poisson stream at ``rate_per_s``, refusing rates the clock cannot hold."""
    if not 0 < rate_per_s <= MAX_RATE_PER_S:
        raise ValueError(f"rate must be above zero and at most 1/ns, got {rate_per_s!r} per second")
    return 1e9 / rate_per_s


class Periodic(Arrivals):
    """Every ``period_ns``; the first arrival at ``phase_ns``, or one period
    in when the phase is 0."""

    __slots__ = ("_first", "period_ns", "phase_ns")

    def __init__(self, period_ns: int, phase_ns: int = 0) -> None:
        if period_ns <= 0:
            raise ValueError(f"period must be positive, got {period_ns} ns")
        if phase_ns < 0:
            raise ValueError(f"phase must not be negative, got {phase_ns} ns")
        self.period_ns = period_ns
        self.phase_ns = phase_ns
        self._first = True

    def next_gap(self) -> int:
        if self._first:
            self._first = False
            return self.phase_ns or self.period_ns
        return self.period_ns

    def set_rate(self, rate_per_s: float) -> None:
        self.period_ns = max(1, round(_mean_gap_ns(rate_per_s)))


class Poisson(Arrivals):
    """Exponential gaps at ``rate_per_s`` (events per second)."""

    __slots__ = ("_mean_ns", "_random")

    def __init__(self, rate_per_s: float, rng: random.Random) -> None:
        self._mean_ns = _mean_gap_ns(rate_per_s)
        self._random = rng.random

    def set_rate(self, rate_per_s: float) -> None:
        self._mean_ns = _mean_gap_ns(rate_per_s)

    def next_gap(self) -> int:
        # random.expovariate(1.0) inlined (the same draw: -log(1 - random())),
        # rounded half up to whole ns.
        return int(-_log(1.0 - self._random()) * self._mean_ns + 0.5)


class Bursty(Arrivals):
    """On/off source: Poisson arrivals at ``rate_per_s`` during exponentially
    distributed ON periods (mean ``on_ns``), silence during OFF periods (mean
    ``off_ns``)."""

    __slots__ = ("_left_on", "_mean_gap", "_random", "off_ns", "on_ns")

    def __init__(self, rate_per_s: float, on_ns: int, off_ns: int, rng: random.Random) -> None:
        if not 0 < on_ns < inf or not 0 <= off_ns < inf:
            raise ValueError(f"bursty needs a positive on time and a non-negative off time, "
                             f"got on={on_ns} ns, off={off_ns} ns")
        self._mean_gap = _mean_gap_ns(rate_per_s)
        self.on_ns = on_ns
        self.off_ns = off_ns
        self._random = rng.random
        self._left_on = self._expo() * on_ns

    def set_rate(self, rate_per_s: float) -> None:
        """The rate within bursts; the ON and OFF periods stay."""
        self._mean_gap = _mean_gap_ns(rate_per_s)

    def _expo(self) -> float:
        """``random.expovariate(1.0)`` inlined: the same draw, ``-log(1 - random())``."""
        return -_log(1.0 - self._random())

    def next_gap(self) -> int:
        on_time = self._expo() * self._mean_gap  # arrival gap measured in ON time
        elapsed = on_time
        while on_time > self._left_on:
            on_time -= self._left_on
            elapsed += self._expo() * self.off_ns if self.off_ns else 0.0
            self._left_on = self._expo() * self.on_ns
        self._left_on -= on_time
        return round(elapsed)


class Replay(Arrivals):
    """Arrivals at the given absolute timestamps (ns from the start, sorted)."""

    __slots__ = ("_i", "_last", "_times")

    def __init__(self, times_ns: Sequence[int]) -> None:
        times = list(times_ns)
        if times and times[0] < 0:
            raise ValueError(f"replay timestamps must not be negative, got {times[0]} ns")
        for i, (a, b) in enumerate(pairwise(times), 1):
            if b < a:
                raise ValueError(f"replay timestamps must be sorted: [{i}] = {b} ns comes "
                                 f"after {a} ns")
        self._times = times
        self._i = 0
        self._last = 0

    def next_gap(self) -> int:
        if self._i >= len(self._times):
            return NO_ARRIVAL
        t = self._times[self._i]
        self._i += 1
        gap = t - self._last
        self._last = t
        return gap
