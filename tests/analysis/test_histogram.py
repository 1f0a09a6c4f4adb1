from __future__ import annotations

from fractions import Fraction
from math import ceil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irqlab.analysis.histogram import MAX_BUCKETS, Histogram

values = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=400)
percentiles = st.sampled_from([1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99])


def exact_percentile(sorted_values: list[int], p: float) -> int:
    """Nearest rank: the smallest value with at least p % of the samples at or below it."""
    rank = max(1, ceil(Fraction(str(p)) * len(sorted_values) / 100))
    return sorted_values[rank - 1]


def filled(vs: list[int]) -> Histogram:
    h = Histogram()
    for v in vs:
        h.record(v)
    return h


@given(values, percentiles)
def test_percentile_within_one_percent_of_exact(vs: list[int], p: float) -> None:
    exact = exact_percentile(sorted(vs), p)
    assert abs(filled(vs).percentile(p) - exact) <= exact / 100


@given(values)
def test_extremes_and_totals_are_exact(vs: list[int]) -> None:
    h = filled(vs)
    assert (h.count, h.total, h.min, h.max) == (len(vs), sum(vs), min(vs), max(vs))
    assert h.percentile(100) == max(vs)
    assert h.percentile(0) == min(vs)


@given(st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=200), percentiles)
def test_small_values_are_counted_exactly(vs: list[int], p: float) -> None:
    assert filled(vs).percentile(p) == exact_percentile(sorted(vs), p)


@given(values, values)
def test_merge_equals_recording_both_streams(a: list[int], b: list[int]) -> None:
    merged = filled(a)
    merged.merge(filled(b))
    both = filled(a + b)
    assert merged.summary() == both.summary()
    assert merged.min == both.min
    assert [merged.percentile(p) for p in (1, 50, 90, 99.9)] == [
        both.percentile(p) for p in (1, 50, 90, 99.9)
    ]


def test_merge_into_empty_takes_the_other_min() -> None:
    h = Histogram()
    h.merge(filled([700, 900]))
    assert (h.min, h.max, h.count) == (700, 900, 2)


def test_memory_is_bounded_by_the_value_range_not_the_sample_count() -> None:
    h = Histogram()
    h.record(10**9)
    allocated = h.buckets
    for i in range(50_000):
        h.record((i * 7919) % 10**9)
    assert h.buckets == allocated
    h.record(2**64 - 1)
    assert h.buckets == MAX_BUCKETS


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_out_of_range_values_are_rejected(bad: int) -> None:
    with pytest.raises(ValueError, match="ns"):
        Histogram().record(bad)


@pytest.mark.parametrize("p", [-0.1, 100.5])
def test_percentile_outside_0_100_is_rejected(p: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        filled([1]).percentile(p)


def test_summary_is_ints_with_rounded_mean() -> None:
    s = filled([1, 2]).summary()
    assert s == {"count": 2, "mean": 2, "p50": 1, "p90": 2, "p99": 2, "p999": 2, "p9999": 2,
                 "max": 2, "buckets": [[1, 1, 1], [2, 2, 1]]}
    assert all(type(v) is int for k, v in s.items() if k != "buckets")


def test_empty_histogram_reports_zeros() -> None:
    h = Histogram()
    assert h.summary() == {"count": 0, "mean": 0, "p50": 0, "p90": 0, "p99": 0, "p999": 0,
                           "p9999": 0, "max": 0, "buckets": []}
    assert h.min == 0


@given(values)
def test_buckets_hold_every_value_and_sum_to_count(vs: list[int]) -> None:
    buckets = filled(vs).bucket_list()
    assert sum(c for _, _, c in buckets) == len(vs)
    assert [low for low, _, _ in buckets] == sorted({low for low, _, _ in buckets})
    for v in vs:
        inside = [c for low, high, c in buckets if low <= v <= high]
        assert len(inside) == 1
    for low, high, c in buckets:
        assert c == sum(low <= v <= high for v in vs)
        assert high - low <= max(low // 128, 0)  # ns resolution, 1/128 of the value


@given(values, values)
def test_bucket_lists_of_two_runs_merge_by_adding_counts(a: list[int], b: list[int]) -> None:
    """Fixed bounds: the JSON buckets of two runs merge without the runs' data."""
    added: dict[tuple[int, int], int] = {}
    for low, high, c in filled(a).bucket_list() + filled(b).bucket_list():
        added[(low, high)] = added.get((low, high), 0) + c
    assert sorted([low, high, c] for (low, high), c in added.items()) == \
        filled(a + b).bucket_list()


@given(values, st.lists(st.sampled_from([0, 1, 50, 90, 99, 99.9, 99.99, 100]), min_size=1))
def test_percentiles_in_one_pass_equal_one_at_a_time(vs: list[int], ps: list[float]) -> None:
    h = filled(vs)
    assert h.percentiles(ps) == [h.percentile(p) for p in ps]
    for p in ps:
        exact = exact_percentile(sorted(vs), p) if p else min(vs)
        assert abs(h.percentile(p) - exact) <= exact / 100
