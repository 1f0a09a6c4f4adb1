"""--hist: power-of-two histograms drawn as bcc's print_log2_hist draws them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irqlab.analysis.histogram import Histogram
from irqlab.report.hist import log2_slots, render_log2


def test_rows_bars_and_header_follow_bcc_print_log2_hist() -> None:
    h = Histogram()
    for v in (0, 3, 3, 200, 201, 202, 255):
        h.record(v)
    assert render_log2(log2_slots(h.bucket_list())) == "\n".join([
        "     nsecs               : count     distribution",
        "         0 -> 1          : 1        |**********                              |",
        "         2 -> 3          : 2        |********************                    |",
        "         4 -> 7          : 0        |                                        |",
        "         8 -> 15         : 0        |                                        |",
        "        16 -> 31         : 0        |                                        |",
        "        32 -> 63         : 0        |                                        |",
        "        64 -> 127        : 0        |                                        |",
        "       128 -> 255        : 4        |****************************************|",
    ])


def test_empty_distribution_draws_nothing() -> None:
    assert render_log2(log2_slots([])) == ""


@given(st.lists(st.integers(min_value=0, max_value=2**62), min_size=1, max_size=300))
def test_slots_are_exact_power_of_two_counts(vs: list[int]) -> None:
    h = Histogram()
    for v in vs:
        h.record(v)
    slots = log2_slots(h.bucket_list())
    assert sum(slots) == len(vs)
    for i, count in enumerate(slots[1:], start=1):
        low, high = ((1 << i) >> 1, (1 << i) - 1)
        assert count == sum((low <= v <= high) or (i == 1 and v == 0) for v in vs)


def test_a_bucket_across_a_power_of_two_is_refused() -> None:
    with pytest.raises(ValueError, match="straddles"):
        log2_slots([[100, 300, 1]])
