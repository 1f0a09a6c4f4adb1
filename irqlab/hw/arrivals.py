"""Arrival processes that drive devices: periodic, Poisson, bursty on/off, and
replay of captured timestamps.  Each draws from its own random stream (see
``irqlab.sim.rng``) and returns the gap to the next arrival in integer ns, or
``None`` when it has no more arrivals."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import pairwise
from typing import Protocol


class Arrivals(Protocol):
    def next_gap(self) -> int | None:
        """Nanoseconds from the previous arrival (or time 0) to the next one."""


class Periodic:
    """Every ``period_ns``, starting at ``phase_ns``."""

    __slots__ = ("_first", "period_ns", "phase_ns")

    def __init__(self, period_ns: int, phase_ns: int = 0) -> None:
        if period_ns <= 0:
            raise ValueError("period must be positive")
        self.period_ns = period_ns
        self.phase_ns = phase_ns
        self._first = True

    def next_gap(self) -> int | None:
        if self._first:
            self._first = False
            return self.phase_ns or self.period_ns
        return self.period_ns


class Poisson:
    """Exponential gaps at ``rate_per_s`` (events per second)."""

    __slots__ = ("_expo", "_mean_ns")

    def __init__(self, rate_per_s: float, rng: random.Random) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate must be positive")
        self._mean_ns = 1e9 / rate_per_s
        self._expo = rng.expovariate

    def next_gap(self) -> int | None:
        return round(self._expo(1.0) * self._mean_ns)


class Bursty:
    """On/off source: Poisson arrivals at ``rate_per_s`` during exponentially
    distributed ON periods (mean ``on_ns``), silence during OFF periods (mean
    ``off_ns``)."""

    __slots__ = ("_expo", "_left_on", "_mean_gap", "off_ns", "on_ns")

    def __init__(self, rate_per_s: float, on_ns: int, off_ns: int, rng: random.Random) -> None:
        if rate_per_s <= 0 or on_ns <= 0 or off_ns < 0:
            raise ValueError("bursty needs a positive rate and on time and a non-negative off time")
        self._mean_gap = 1e9 / rate_per_s
        self.on_ns = on_ns
        self.off_ns = off_ns
        self._expo = rng.expovariate
        self._left_on = self._expo(1.0) * on_ns

    def next_gap(self) -> int | None:
        on_time = self._expo(1.0) * self._mean_gap  # arrival gap measured in ON time
        elapsed = on_time
        while on_time > self._left_on:
            on_time -= self._left_on
            elapsed += self._expo(1.0) * self.off_ns if self.off_ns else 0.0
            self._left_on = self._expo(1.0) * self.on_ns
        self._left_on -= on_time
        return round(elapsed)


class Replay:
    """Arrivals at the given absolute timestamps (ns, sorted)."""

    __slots__ = ("_i", "_last", "_times")

    def __init__(self, times_ns: Sequence[int]) -> None:
        if any(b < a for a, b in pairwise(times_ns)):
            raise ValueError("replay timestamps must be sorted")
        self._times = list(times_ns)
        self._i = 0
        self._last = 0

    def next_gap(self) -> int | None:
        if self._i >= len(self._times):
            return None
        t = self._times[self._i]
        self._i += 1
        gap = max(0, t - self._last)
        self._last = t
        return gap
