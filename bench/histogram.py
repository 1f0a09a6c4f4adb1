"""Cost of Histogram.record (the simulator's hot path) against a plain
list.append of the same values.  Prints ns per operation; run with
``python3 bench/histogram.py``."""

from __future__ import annotations

import random
import timeit

from irqlab.analysis.histogram import Histogram

N = 200_000
REPEAT = 5


def ns_per_op(fn, values: list[int]) -> float:
    best = min(timeit.repeat(lambda: fn(values), number=1, repeat=REPEAT))
    return best / len(values) * 1e9


def record_all(values: list[int]) -> None:
    record = Histogram().record
    for v in values:
        record(v)


def append_all(values: list[int]) -> None:
    sink: list[int] = []
    append = sink.append
    for v in values:
        append(v)


def main() -> None:
    rng = random.Random(1)
    # handler times / latencies: 200 ns .. 2 ms, log-uniform
    values = [int(10 ** rng.uniform(2.3, 6.3)) for _ in range(N)]
    hist = ns_per_op(record_all, values)
    base = ns_per_op(append_all, values)
    print(f"Histogram.record  {hist:7.1f} ns/op")
    print(f"list.append       {base:7.1f} ns/op  (baseline)")
    print(f"ratio             {hist / base:7.1f} x")


if __name__ == "__main__":
    main()
