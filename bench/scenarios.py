"""Built-in scenarios: simulated interrupts per CPU-second, against SimPy, in one command.

Each built-in scenario is loaded and built (start-up, not timed), then run
with the streaming statistics attached, as ``irqlab run`` does, for its own
duration and further such spans until the run has taken ``--min-cpu`` CPU
seconds; its rate is the hard interrupts it delivered (the
``/proc/interrupts`` rows: device lines, local timer, IPIs, spurious; not the
ERR/MIS error counts) per CPU second (``time.process_time``) of the run.  A
scenario that is a sweep or an experiment (``receive-livelock``,
``moderation``) runs its base machine, the point the sweep varies from.  In
the same command, the idiomatic SimPy model of
``reference_model.py`` serves ``--simpy-n`` interrupts, timed the same way.

Progress goes to stderr; the last stdout line is JSON: ``scenarios`` (name ->
interrupts per CPU second), ``simulated`` (name -> interrupts counted),
``simpy_irq_per_s``, ``default_vs_simpy`` (the default scenario's rate /
SimPy's; issue 12 target >= 2) and ``core`` (compiled or pure Python).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_model import run_simpy

from irqlab._compiled import compiled
from irqlab.analysis.irqstats import IrqStats
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.scenario.loader import builtin_names, load

#: /proc/interrupts rows that count errors, not interrupts taken (x86 ERR/MIS, arm Err)
ERROR_ROWS = {"ERR", "MIS", "Err"}


def delivered(m) -> int:  # type: ignore[no-untyped-def]
    """Hard interrupts taken so far, as /proc/interrupts counts them."""
    return sum(row.total for label, row in m.kernel.snapshot().rows.items()
               if label not in ERROR_ROWS)


def run_scenario(name: str, min_cpu: float) -> tuple[int, float]:
    """(interrupts, CPU seconds) of the built-in ``name``."""
    spec, _ = load(name)
    m = build(spec)
    stats = IrqStats(spec.machine.cpus)
    span = spec.scenario.duration
    t0 = time.process_time()
    simulate(m, span, [stats])
    while time.process_time() - t0 < min_cpu and not m.engine.stop_reason:
        m.engine.run(until_ns=m.engine.now + span)
    cpu = time.process_time() - t0
    return delivered(m), cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-cpu", type=float, default=1.0,
                    help="CPU seconds each scenario runs at least (default 1)")
    ap.add_argument("--simpy-n", type=int, default=200_000, help="interrupts the SimPy model serves")
    args = ap.parse_args(argv)
    names = builtin_names()
    run_scenario("default", 0.1)  # warm-up: imports and CPython's specialisation
    run_simpy(2_000, 2)
    rates: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name in names:
        n, cpu = run_scenario(name, args.min_cpu)
        rates[name] = n / cpu if cpu else float("nan")
        counts[name] = n
        print(f"{name}: {n:,} interrupts in {cpu:.2f} CPU s: {rates[name]:,.0f}/s", file=sys.stderr)
    t0 = time.process_time()
    run_simpy(args.simpy_n, 1)
    simpy_rate = args.simpy_n / (time.process_time() - t0)
    print(f"simpy reference model: {simpy_rate:,.0f}/s", file=sys.stderr)
    core = "compiled" if compiled() else "pure Python"
    print(f"irqlab core: {core}", file=sys.stderr)
    print(json.dumps({
        "scenarios": {name: round(rate) for name, rate in rates.items()},
        "simulated": counts,
        "simpy_irq_per_s": round(simpy_rate),
        "default_vs_simpy": round(rates["default"] / simpy_rate, 2),
        "core": core,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
