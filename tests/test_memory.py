"""Memory stays flat as a run gets longer when no trace is kept.

A run without trace writers keeps only state of fixed size: one pending event
per source and CPU on the engine heap, per-IRQ counters, and log-bucketed
histograms whose buckets only fill in.  Quadrupling the simulated time
(about 15,000 more events) may therefore add at most a few buckets and counter
entries; anything kept per event (a list of events, per-request records, an
ever-growing heap) would cost well over 500 KiB here.
"""

from __future__ import annotations

import tracemalloc

from irqlab.analysis.irqstats import IrqStats
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.scenario.loader import load

ALLOWED_GROWTH = 64 * 1024  # bytes


def peak_of_run(duration_ns: int) -> tuple[int, int]:
    """(peak bytes allocated during the run, events processed)."""
    spec, _ = load("default")
    m = build(spec)
    stats = IrqStats(spec.machine.cpus)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        simulate(m, duration_ns, [stats])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base, m.engine.processed


def test_memory_does_not_grow_with_run_length() -> None:
    peak_of_run(1_000_000)  # warm-up: lazy imports and caches are not run state
    short, short_events = peak_of_run(20_000_000)
    long, long_events = peak_of_run(80_000_000)
    assert long_events > 3 * short_events
    assert long - short < ALLOWED_GROWTH, (
        f"peak grew by {long - short} bytes from {short_events} to {long_events} events")
