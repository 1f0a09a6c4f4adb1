"""``--budget``: key=time pairs over the defaults."""

from __future__ import annotations

import pytest

from irqlab.check.budget import Budget, parse_budget
from irqlab.check.driver import CheckError


def test_defaults_and_partial_override() -> None:
    assert parse_budget(None) == Budget(top=5_000, latency_p99=50_000, bottom=200_000)
    assert parse_budget("top=2.5us, bottom=1ms") == Budget(top=2_500, latency_p99=50_000,
                                                            bottom=1_000_000)


@pytest.mark.parametrize("text", ["top", "top=", "p99=1us", "top=1", "top=-1us", "top=1us,,"])
def test_bad_budgets(text: str) -> None:
    with pytest.raises(CheckError, match=r"^--budget"):
        parse_budget(text)
