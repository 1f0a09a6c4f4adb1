"""Quantities written with units: durations (``1.5us``, ``10ms``, ``2s``) and
rates (``250k/s``, ``1.2M/s``, ``300/ms``).  Internally time is integer ns and a
rate is events per second (float)."""

from __future__ import annotations

import math
import re

_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_SCALE = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
_PER = {"s": 1.0, "ms": 1e3, "us": 1e6, "µs": 1e6, "ns": 1e9}

_DURATION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*(ns|us|µs|ms|s)\s*$")
_RATE_RE = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*([kKMG]?)\s*/\s*(s|ms|us|µs|ns)\s*$"
)


#: Largest duration: the clock is a signed 64-bit ns count, like the kernel's
#: ktime_t (include/linux/ktime.h KTIME_MAX), about 292 years.
MAX_DURATION_NS = (1 << 63) - 1


class UnitError(ValueError):
    """A quantity could not be read; the message says what was expected."""


def parse_duration(text: str | int | float) -> int:
    """``"1.5us"`` -> 1500 (ns), rounded to the nearest ns.  A bare number is
    rejected: the unit is required."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise UnitError(f"expected a duration with a unit such as '1.5us' or '10ms', got {text!r}")
    m = _DURATION_RE.match(text)
    if not m:
        raise UnitError(
            f"expected a duration with a unit (ns, us, ms, s) such as '1.5us', got {text!r}"
        )
    ns = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if not ns <= MAX_DURATION_NS:
        raise UnitError(f"duration {text!r} exceeds the 64-bit nanosecond clock (about 292 years)")
    return round(ns)


def parse_rate(text: str | int | float) -> float:
    """``"250k/s"`` -> 250000.0 events per second; a rate must be above zero."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise UnitError(f"expected a rate with a unit such as '250k/s', got {text!r}")
    m = _RATE_RE.match(text)
    if not m:
        raise UnitError(f"expected a rate such as '250k/s', '1.2M/s' or '300/ms', got {text!r}")
    rate = float(m.group(1)) * _SCALE[m.group(2)] * _PER[m.group(3)]
    if not 0 < rate < math.inf:
        raise UnitError(f"expected a rate above zero and finite, got {text!r}")
    return rate


def format_ns(ns: float) -> str:
    """Human form of a duration: ``1500`` -> ``'1.50us'``."""
    if ns >= 1e9:
        return f"{ns / 1e9:.3g}s"
    if ns >= 1e6:
        return f"{ns / 1e6:.3g}ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3g}us"
    return f"{ns:.0f}ns"
