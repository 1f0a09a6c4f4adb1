"""Mean and 95 % confidence interval across seeds (Student's t).

The critical values t(0.975, df) are those of the NIST/SEMATECH e-Handbook of
Statistical Methods, table 1.3.6.7.2 ("Critical values of the Student's t
distribution", upper tail 0.025); between the tabulated degrees of freedom the
value is interpolated linearly in 1/df, the handbook's rule for its table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: t(0.975, df): two-sided 95 %; df 1-30, then 40, 60, 120 and infinity (z)
T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
    25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}
Z975 = 1.960


def t975(df: int) -> float:
    """The two-sided 95 % critical value of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("a t interval needs at least one degree of freedom")
    if df in T975:
        return T975[df]
    known = sorted(T975)
    if df > known[-1]:
        lo, t_lo, inv_hi, t_hi = known[-1], T975[known[-1]], 0.0, Z975
    else:
        hi = next(k for k in known if k > df)
        lo = max(k for k in known if k < df)
        t_lo, inv_hi, t_hi = T975[lo], 1 / hi, T975[hi]
    frac = (1 / lo - 1 / df) / (1 / lo - inv_hi)
    return t_lo + frac * (t_hi - t_lo)


def mean_ci95(values: Sequence[float]) -> tuple[float, float | None, float | None]:
    """``(mean, low, high)``; the interval is None with fewer than two values."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None, None
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half
