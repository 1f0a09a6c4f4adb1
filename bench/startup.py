"""Start-up cost of the ``irqlab`` command against importing its two main
dependencies.

``startup_ratio`` = CPU time (user + system, of the child process) of
``irqlab run default --duration 1us`` / CPU time of
``python3 -c "import click, pydantic"``, each the median of ``--runs`` runs,
taken interleaved in the same command so that machine load affects both alike.
Target (issue 12): <= 1.6.  irqlab keeps validated scenarios between runs
(``irqlab.scenario.cache``): the bench gives it a cache folder of its own, which
the warm-up run fills; ``uncached_ratio`` is the same ratio for a first run (an
empty cache folder each time: the scenario validated, then kept).  Prints one
line per command, then a last line of JSON.  Find what an import costs with
``python -X importtime -m irqlab ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CACHE_ENV = "IRQLAB_CACHE_DIR"  # irqlab.scenario.cache.CACHE_ENV (the bench imports no irqlab)


def irqlab_command() -> list[str]:
    """The console script next to this interpreter, else ``python -m irqlab``."""
    script = Path(sys.executable).with_name("irqlab")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "irqlab"]


def cpu_seconds(argv: list[str], cache: str | None = None) -> float:
    """User + system CPU time of one run of ``argv`` (its own, from wait4), with
    ``cache`` as irqlab's folder of validated scenarios (default: a new empty one)."""
    with tempfile.TemporaryDirectory() as empty:
        env = {**os.environ, CACHE_ENV: cache or empty}
        return _cpu_seconds(argv, env)


def _cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}: {err.strip()}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median)")
    args = parser.parse_args()
    irqlab = [*irqlab_command(), "run", "default", "--duration", "1us"]
    baseline = [sys.executable, "-c", "import click, pydantic"]
    times: dict[str, list[float]] = {"irqlab": [], "uncached": [], "baseline": []}
    with tempfile.TemporaryDirectory() as cache:
        # warm the page cache and .pyc files, and keep the scenario in ``cache``
        cpu_seconds(irqlab, cache), cpu_seconds(baseline)
        for _ in range(args.runs):
            times["irqlab"].append(cpu_seconds(irqlab, cache))
            times["uncached"].append(cpu_seconds(irqlab))
            times["baseline"].append(cpu_seconds(baseline))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"irqlab run default --duration 1us  {med['irqlab'] * 1e3:7.1f} ms CPU (median of "
          f"{args.runs}; min {min(times['irqlab']) * 1e3:.1f}, max {max(times['irqlab']) * 1e3:.1f})")
    print(f"  the same, first run (no cache)   {med['uncached'] * 1e3:7.1f} ms CPU")
    print(f"python3 -c 'import click, pydantic' {med['baseline'] * 1e3:7.1f} ms CPU (baseline)")
    print(json.dumps({"startup_ratio": round(med["irqlab"] / med["baseline"], 3),
                      "uncached_ratio": round(med["uncached"] / med["baseline"], 3),
                      "irqlab_cpu_s": round(med["irqlab"], 4),
                      "uncached_cpu_s": round(med["uncached"], 4),
                      "baseline_cpu_s": round(med["baseline"], 4),
                      "runs": args.runs}))


if __name__ == "__main__":
    main()
