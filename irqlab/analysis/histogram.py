"""Streaming latency histogram with fixed memory (HDR-histogram style).

Values are integer nanoseconds >= 0.  Buckets are log-linear: values below 256
are counted exactly; above that a value keeps its top 8 significant bits, so a
bucket ``[m << s, (m + 1) << s)`` with ``128 <= m < 256`` is at most 1/128 of its
lower bound wide.  Percentiles report the bucket midpoint (clamped to the exact
min/max), i.e. a relative error below 0.4 %, inside the 1 % budget.  The bucket
array only grows up to the highest bucket used and never past
:data:`MAX_BUCKETS` (64-bit values), whatever the number of samples.

We keep our own instead of the ``hdrhistogram`` PyPI package: that one measured
1.0 us per ``record`` on the project's CI machine kind, this one ~0.2 us
(``bench/histogram.py``), and ``record`` sits on the simulator's hot path.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil

_SUB_BITS = 7
_SUB_COUNT = 1 << _SUB_BITS  # 128 sub-buckets per power of two
_EXACT = 2 * _SUB_COUNT  # values below 256 have their own bucket
_MAX_VALUE_BITS = 64
MAX_BUCKETS = ((_MAX_VALUE_BITS - 8) << _SUB_BITS) + _EXACT
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
        try:
            self._counts[i] += 1
        except IndexError:
            self._grow(i)
            self._counts[i] += 1
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
        if not 0 <= p <= 100:
            raise ValueError(f"percentile must be within 0..100, got {p}")
        if self.count == 0:
            return 0
        if p == 100:
            return self.max
        if p == 0:
            return self.min
        # str(): 99.9 means the decimal 99.9, not its binary neighbour
        rank = ceil(Fraction(str(p)) * self.count / 100)
        seen = 0
        for i, c in enumerate(self._counts):
            seen += c
            if seen >= rank:
                low, high = _bucket_bounds(i)
                return min(max((low + high) // 2, self.min), self.max)
        return self.max  # unreachable: the counts sum to self.count

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

    def summary(self) -> dict[str, int]:
        """``{"count", "mean", "p50", "p99", "max"}`` as ints (mean rounded)."""
        return {
            "count": self.count,
            "mean": round(self.mean()),
            "p50": self.percentile(50),
            "p99": self.percentile(99),
            "max": self.max,
        }
