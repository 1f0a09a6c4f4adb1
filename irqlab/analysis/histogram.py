"""Streaming latency histogram with fixed memory (HDR-histogram style).

Values are integer nanoseconds >= 0.  Buckets are log-linear: values below 256
are counted exactly; above that a value keeps its top 8 significant bits, so a
bucket ``[m << s, (m + 1) << s)`` with ``128 <= m < 256`` is at most 1/128 of its
lower bound wide.  Percentiles report the bucket midpoint (clamped to the exact
min/max), i.e. a relative error below 0.4 %, inside the 1 % budget.  The bucket
array only grows up to the highest bucket used and never past
:data:`MAX_BUCKETS` (64-bit values), whatever the number of samples.

The bucket boundaries are fixed (they depend on nothing recorded), so the
``[low_ns, high_ns, count]`` lists of :meth:`Histogram.bucket_list` from any
two runs merge by adding the counts of equal bounds.

We keep our own instead of the ``hdrhistogram`` PyPI package: that one measured
1.0-1.6 us per ``record`` on the project's CI machine kind, this one ~0.2 us
(``bench/histogram.py``), and ``record`` sits on the simulator's hot path.  Export
to HdrHistogram's own tools goes through that package (:mod:`irqlab.report.hdr`).
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil
from typing import Final

# Final: the compiled build inlines them instead of looking them up at every use
_SUB_BITS: Final = 7
_SUB_COUNT: Final = 128  # 1 << _SUB_BITS sub-buckets per power of two
_EXACT: Final = 256  # 2 * _SUB_COUNT: values below it have their own bucket
_MAX_VALUE_BITS: Final = 64
PERCENTILES = {"p50": 50, "p90": 90, "p99": 99, "p999": 99.9, "p9999": 99.99}
"""The percentiles of a distribution's summary, by key."""
MAX_BUCKETS: Final = ((_MAX_VALUE_BITS - 8) << _SUB_BITS) + _EXACT
"""Bucket count needed for any value below 2**64 (the memory bound)."""


def _bucket_bounds(i: int) -> tuple[int, int]:
    """Inclusive ``(low, high)`` of the values counted in bucket ``i``."""
    if i < _EXACT:
        return i, i
    s = (i >> _SUB_BITS) - 1
    m = i - (s << _SUB_BITS)
    return m << s, ((m + 1) << s) - 1


class Histogram:
    """Count, total, min, max and percentiles of a stream of ns values."""

    __slots__ = ("_counts", "_min", "count", "max", "total")

    def __init__(self) -> None:
        self._counts: list[int] = [0] * _EXACT
        self.count = 0
        self.total = 0
        self.max = 0
        self._min = -1  # -1: empty

    def record(self, v: int) -> None:
        """Add one value (integer ns >= 0).  Hot path: keep it branch-light."""
        if v < _EXACT:
            if v < 0:
                raise ValueError(f"histogram values are ns >= 0, got {v}")
            i = v
        else:
            s = v.bit_length() - 8
            i = (s << _SUB_BITS) + (v >> s)
        counts = self._counts
        if i >= len(counts):
            self._grow(i)
        # not ``+=``: mypyc compiles an item's augmented assignment as a generic add
        counts[i] = counts[i] + 1
        self.count += 1
        self.total += v
        if v > self.max:
            self.max = v
        if v < self._min or self._min < 0:
            self._min = v

    def _grow(self, i: int) -> None:
        if i >= MAX_BUCKETS:
            raise ValueError(f"histogram values must be below 2**{_MAX_VALUE_BITS} ns")
        self._counts.extend([0] * (i + 1 - len(self._counts)))

    @property
    def min(self) -> int:
        """Smallest value recorded (0 when empty)."""
        return max(self._min, 0)

    @property
    def buckets(self) -> int:
        """Number of buckets currently allocated (bounded by :data:`MAX_BUCKETS`)."""
        return len(self._counts)

    def mean(self) -> float:
        """Arithmetic mean (exact; 0.0 when empty)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, p: float) -> int:
        """Value at percentile ``p`` (0..100), nearest-rank: the smallest value
        with at least ``p`` % of the samples at or below it.  ``p == 100`` is the
        exact max, ``p == 0`` the exact min; 0 when empty."""
        return self.percentiles([p])[0]

    def percentiles(self, ps: list[float]) -> list[int]:
        """:meth:`percentile` of each of ``ps``, in one pass over the buckets."""
        for p in ps:
            if not 0 <= p <= 100:
                raise ValueError(f"percentile must be within 0..100, got {p}")
        if self.count == 0:
            return [0] * len(ps)
        # str(): 99.9 means the decimal 99.9, not its binary neighbour
        ranks = sorted((ceil(Fraction(str(p)) * self.count / 100), j) for j, p in enumerate(ps))
        out = [self.max] * len(ps)
        k, seen = 0, 0
        while k < len(ranks) and ranks[k][0] <= 0:  # p == 0: the exact min
            out[ranks[k][1]] = self.min
            k += 1
        for i, c in enumerate(self._counts):
            if not c:
                continue
            seen += c
            while k < len(ranks) and seen >= ranks[k][0]:
                rank, j = ranks[k]
                if rank < self.count or ps[j] != 100:  # p == 100 stays the exact max
                    low, high = _bucket_bounds(i)
                    out[j] = min(max((low + high) // 2, self.min), self.max)
                k += 1
            if k == len(ranks):
                break
        return out

    def bucket_list(self) -> list[list[int]]:
        """``[low_ns, high_ns, count]`` of every non-empty bucket, ascending;
        ``high_ns`` is inclusive (integer ns), the counts sum to :attr:`count`."""
        return [[*_bucket_bounds(i), c] for i, c in enumerate(self._counts) if c]

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s samples to this histogram."""
        if other.count == 0:
            return
        if len(other._counts) > len(self._counts):
            self._grow(len(other._counts) - 1)
        counts = self._counts
        for i, c in enumerate(other._counts):
            if c:
                counts[i] += c
        if self.count == 0 or other._min < self._min:
            self._min = other._min
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)

    def summary(self) -> dict[str, object]:
        """``count``, ``mean`` (rounded), ``p50``, ``p90``, ``p99``, ``p999``,
        ``p9999``, ``max`` as ints, and ``buckets`` (:meth:`bucket_list`)."""
        pcts = self.percentiles(list(PERCENTILES.values()))
        return {
            "count": self.count,
            "mean": round(self.mean()),
            **dict(zip(PERCENTILES, pcts, strict=True)),
            "max": self.max,
            "buckets": self.bucket_list(),
        }
