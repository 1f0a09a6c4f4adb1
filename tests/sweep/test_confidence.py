"""Student's t intervals: the table against the t distribution itself."""

from __future__ import annotations

import math
import statistics

import pytest

from irqlab.sweep.confidence import T975, Z975, mean_ci95, t975


def t_cdf(t: float, df: int, steps: int = 20_000) -> float:
    """P(T <= t) by Simpson's rule over the t density (independent of the table)."""
    c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    h = t / steps
    total = 0.0
    for i in range(steps + 1):
        w = 1 if i in (0, steps) else 4 if i % 2 else 2
        x = i * h
        total += w * c * (1 + x * x / df) ** (-(df + 1) / 2)
    return 0.5 + total * h / 3


@pytest.mark.parametrize("df", sorted(T975))
def test_table_values_are_the_975_quantiles(df) -> None:
    assert t_cdf(T975[df], df) == pytest.approx(0.975, abs=2e-4)


def test_between_table_rows_and_beyond() -> None:
    assert T975[40] > t975(50) > T975[60]
    assert t_cdf(t975(50), 50) == pytest.approx(0.975, abs=2e-4)
    assert T975[120] > t975(1000) > Z975
    with pytest.raises(ValueError):
        t975(0)


def test_mean_and_interval() -> None:
    values = [10.0, 12.0, 11.0, 13.0]
    mean, low, high = mean_ci95(values)
    half = T975[3] * statistics.stdev(values) / 2
    assert mean == 11.5 and low == pytest.approx(11.5 - half) and high == pytest.approx(11.5 + half)
    assert mean_ci95([4.0]) == (4.0, None, None)
    assert mean_ci95([3.0, 3.0, 3.0]) == (3.0, 3.0, 3.0)
