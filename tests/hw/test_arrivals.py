"""Arrival processes (irqlab.hw.arrivals): exact periodic and replay times,
statistical checks of Poisson and bursty sources at a fixed seed."""

from __future__ import annotations

import math
import random
from itertools import accumulate
from statistics import fmean, stdev

import pytest

from irqlab.hw.arrivals import NO_ARRIVAL, Arrivals, Bursty, Periodic, Poisson, Replay
from irqlab.sim.rng import stream


def gaps(source: Arrivals, n: int) -> list[int]:
    out = []
    for _ in range(n):
        gap = source.next_gap()
        assert gap >= 0
        out.append(gap)
    return out


def test_periodic_is_exact_and_starts_at_its_phase() -> None:
    assert list(accumulate(gaps(Periodic(1_000, phase_ns=250), 4))) == [250, 1_250, 2_250, 3_250]


def test_periodic_without_phase_starts_one_period_in() -> None:
    assert list(accumulate(gaps(Periodic(4_000_000), 3))) == [4_000_000, 8_000_000, 12_000_000]


def test_poisson_mean_rate_and_exponential_spread() -> None:
    rate, n = 20_000.0, 40_000
    g = gaps(Poisson(rate, stream(1, "arrivals:test")), n)
    mean_ns = 1e9 / rate
    # The sample mean of n exponential gaps has standard error mean/sqrt(n).
    assert abs(fmean(g) - mean_ns) < 4 * mean_ns / math.sqrt(n)
    assert stdev(g) / fmean(g) == pytest.approx(1.0, abs=0.03), "exponential: sd == mean"
    assert min(g) >= 0 and all(type(x) is int for x in g)


def test_poisson_is_reproducible_from_its_stream() -> None:
    a = gaps(Poisson(1e5, stream(9, "arrivals:x")), 100)
    assert a == gaps(Poisson(1e5, stream(9, "arrivals:x")), 100)
    assert a != gaps(Poisson(1e5, stream(10, "arrivals:x")), 100)


def test_bursty_keeps_its_on_off_duty_cycle() -> None:
    rate, on, off, n = 40_000.0, 2_000_000, 8_000_000, 200_000
    g = gaps(Bursty(rate, on, off, stream(1, "arrivals:disk")), n)
    total = sum(g)
    duty = on / (on + off)
    # The long-run rate is rate * duty.  Its error is dominated by the number of
    # exponential ON/OFF cycles seen (delta method on sum(ON) / sum(ON + OFF)).
    cycles = n / (rate * on / 1e9)
    rel_sd = math.sqrt(((1 - duty) * on) ** 2 + (duty * off) ** 2) / (on + off) / duty
    assert len(g) / (total / 1e9) == pytest.approx(rate * duty, rel=4 * rel_sd / math.sqrt(cycles))
    # Inside a burst gaps are ~25 us; silences of >= 10 mean gaps are OFF time.
    long_gap = 10 * 1e9 / rate
    assert sum(x for x in g if x >= long_gap) / total == pytest.approx(1 - duty, abs=0.03)
    # A gap stays inside its burst only if the (memoryless) ON period outlasts
    # it, so in-burst gaps are exponential at rate + 1/on.
    in_burst = 1e9 / (rate + 1e9 / on)
    assert fmean(x for x in g if x < long_gap) == pytest.approx(in_burst, rel=0.02)


class Scripted(random.Random):
    """A stream whose unit-mean exponential draws are given in advance."""

    def __init__(self, draws: list[float]) -> None:
        super().__init__(0)
        self.uniforms = [1 - math.exp(-x) for x in draws]  # inverse of -log(1 - u)

    def random(self) -> float:
        return self.uniforms.pop(0)


def test_bursty_carries_arrivals_over_off_periods_in_on_time() -> None:
    # Mean gap 1000 ns, ON periods drawn as 1000 then 2000 ns, OFF 1000 ns:
    # ON [0, 1000), OFF [1000, 2000), ON [2000, 4000), ...
    rng = Scripted([1.0, 0.4, 0.9, 0.2, 2.0, 1.5])
    source = Bursty(1e6, on_ns=1_000, off_ns=5_000, rng=rng)
    times = list(accumulate(gaps(source, 3)))
    # ON time 400; ON time 1300 = 300 into the second ON period; ON time 2800.
    assert times == [400, 2_300, 3_800]


def test_bursty_without_off_time_is_poisson_at_the_full_rate() -> None:
    rate, n = 50_000.0, 20_000
    g = gaps(Bursty(rate, 1_000_000, 0, stream(2, "arrivals:b")), n)
    assert abs(fmean(g) - 1e9 / rate) < 4 * (1e9 / rate) / math.sqrt(n)


def test_replay_reproduces_the_timestamps_exactly() -> None:
    times = [0, 10, 10, 1_000_003, 5_000_000_000]
    source = Replay(times)
    got = list(accumulate(gaps(source, len(times))))
    assert got == times
    assert source.next_gap() == NO_ARRIVAL and source.next_gap() == NO_ARRIVAL


def test_empty_replay_has_no_arrivals() -> None:
    assert Replay([]).next_gap() == NO_ARRIVAL


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: Periodic(0), "period must be positive, got 0"),
        (lambda: Periodic(-5), "period must be positive"),
        (lambda: Periodic(100, phase_ns=-1), "phase must not be negative"),
        (lambda: Poisson(0.0, stream(1, "x")), "rate must be above zero"),
        (lambda: Poisson(-3.0, stream(1, "x")), "rate must be above zero"),
        (lambda: Poisson(math.nan, stream(1, "x")), "rate must be above zero"),
        (lambda: Poisson(math.inf, stream(1, "x")), "at most 1/ns"),
        (lambda: Poisson(2e9, stream(1, "x")), "at most 1/ns"),
        (lambda: Bursty(0.0, 1_000, 1_000, stream(1, "x")), "rate must be above zero"),
        (lambda: Bursty(1e3, 0, 1_000, stream(1, "x")), "positive on time"),
        (lambda: Bursty(1e3, 1_000, -1, stream(1, "x")), "non-negative off time"),
        (lambda: Replay([5, 3]), r"sorted: \[1\] = 3 ns comes after 5 ns"),
        (lambda: Replay([-1, 3]), "must not be negative"),
    ],
)
def test_bad_parameters_are_refused(make: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make()  # type: ignore[operator]
