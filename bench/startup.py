"""Start-up cost of the ``irqlab`` command against importing its two main
dependencies.

``startup_ratio`` = CPU time (user + system, of the child process) of
``irqlab run default --duration 1us`` / CPU time of
``python3 -c "import click, pydantic"``, each the median of ``--runs`` runs,
taken interleaved in the same command so that machine load affects both alike.
Target (issue 12): <= 1.6.  Prints one line per command, then a last line of
JSON.  Find what an import costs with ``python -X importtime -m irqlab ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path


def irqlab_command() -> list[str]:
    """The console script next to this interpreter, else ``python -m irqlab``."""
    script = Path(sys.executable).with_name("irqlab")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "irqlab"]


def cpu_seconds(argv: list[str]) -> float:
    """User + system CPU time of one run of ``argv`` (its own, from wait4)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    cpu_seconds(irqlab), cpu_seconds(baseline)  # warm the page cache and .pyc files
    times: dict[str, list[float]] = {"irqlab": [], "baseline": []}
    for _ in range(args.runs):
        times["irqlab"].append(cpu_seconds(irqlab))
        times["baseline"].append(cpu_seconds(baseline))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"irqlab run default --duration 1us  {med['irqlab'] * 1e3:7.1f} ms CPU (median of "
          f"{args.runs}; min {min(times['irqlab']) * 1e3:.1f}, max {max(times['irqlab']) * 1e3:.1f})")
    print(f"python3 -c 'import click, pydantic' {med['baseline'] * 1e3:7.1f} ms CPU (baseline)")
    print(json.dumps({"startup_ratio": round(med["irqlab"] / med["baseline"], 3),
                      "irqlab_cpu_s": round(med["irqlab"], 4),
                      "baseline_cpu_s": round(med["baseline"], 4),
                      "runs": args.runs}))


if __name__ == "__main__":
    main()
