"""Sweep throughput: ``irqlab sweep`` on one process, two processes and a
two-worker Dask LocalCluster, against one ``irqlab run`` process per run
started by ``xargs -P 2`` (the way sweeps were run before ``irqlab sweep``).

The sweep: the built-in ``default`` scenario cut to 10 ms, 200 points
(``device.eth0.arrival.rate`` from 1k/s by 1k/s) x 3 seeds = 600 runs.  Each
way is timed as a whole command, start-up included.  The four ways must give
the same numbers: the sweep tables are compared, and each ``irqlab run`` JSON
is flattened and compared with its sweep row.  Progress goes to stderr; the
last line on stdout is JSON::

    {"points", "seeds", "runs", "compiled", "points_per_s": {"jobs_1", "jobs_2",
     "dask_local_2", "xargs_run_p2"}, "speedup_vs_xargs": {...}, "same_rows"}

    python3 bench/sweep.py [--points N] [--seeds N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow.parquet as pq

from irqlab._compiled import compiled
from irqlab.sweep.flatten import flatten_report

IRQLAB = [sys.executable, "-m", "irqlab"]
FIXED = ("--set", "scenario.duration=10ms")
AXIS = "device.eth0.arrival.rate"


def timed(cmd: list[str], label: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    print(f"{label:<14} {elapsed:7.1f} s", file=sys.stderr)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    rates = [f"{k}k/s" for k in range(1, args.points + 1)]
    seeds = list(range(1, args.seeds + 1))
    sweep = [*IRQLAB, "sweep", "default", *FIXED, "--set", f"{AXIS}=1k/s..{args.points}k/s:step=1k/s",
             "--seeds", f"1..{args.seeds}"]
    with tempfile.TemporaryDirectory(prefix="irqlab-bench-") as tmp:
        out = Path(tmp)
        ways = {"jobs_1": ["--jobs", "1"], "jobs_2": ["--jobs", "2"],
                "dask_local_2": ["--dask", "local", "--jobs", "2"]}
        seconds = {name: timed([*sweep, *opts, "-o", str(out / f"{name}.parquet")], name)
                   for name, opts in ways.items()}
        lines = [f"{out}/run-{i}-{seed}.json {FIXED[0]} {FIXED[1]} --set {AXIS}={rate} --seed {seed}"
                 for i, rate in enumerate(rates) for seed in seeds]
        (out / "runs.txt").write_text("\n".join(lines) + "\n")
        script = f'out=$0; exec {" ".join(IRQLAB)} run default "$@" --json > "$out"'
        seconds["xargs_run_p2"] = timed(
            ["sh", "-c", f'xargs -P 2 -L 1 sh -c \'{script}\' < "{out}/runs.txt"'], "xargs_run_p2")
        table = pq.read_table(out / "jobs_1.parquet")
        same = all(pq.read_table(out / f"{name}.parquet").equals(table) for name in ways)
        rows = table.to_pylist()
        for i, seed_rows in enumerate(rows[k:k + len(seeds)] for k in range(0, len(rows), len(seeds))):
            for seed, row in zip(seeds, seed_rows, strict=True):
                flat = flatten_report(json.loads((out / f"run-{i}-{seed}.json").read_text()))
                same = same and all(row.get(k) == v for k, v in flat.items())
    per_s = {name: round(args.points / s, 2) for name, s in seconds.items()}
    base = per_s["xargs_run_p2"]
    print(json.dumps({
        "points": args.points, "seeds": args.seeds, "runs": args.points * args.seeds,
        "compiled": compiled(), "points_per_s": per_s,
        "speedup_vs_xargs": {k: round(v / base, 2) for k, v in per_s.items()},
        "same_rows": same,
    }))


if __name__ == "__main__":
    main()
