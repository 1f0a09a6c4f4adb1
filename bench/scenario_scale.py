"""Scenario scale: loading, validating and building a machine of many devices
is linear in their number.

Times ``parse`` (TOML + schema + checks) and ``build`` for ``--n`` and for ten
times as many MSI-X devices, in the same process, and prints a last line of
JSON::

    {"devices", "small_s", "large_s", "ratio", "linearity"}

``ratio`` is large time / small time; ``linearity`` is ratio / 10: about 1 for
linear work (a little above from the garbage collector), about 10 for the
quadratic paths this guards against (the duplicate-name check and the
builder's ``list.index`` of each device, issue 10 section 8).

    python3 bench/scenario_scale.py [--n 4000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irqlab.machine.build import build
from irqlab.scenario.loader import parse


def scenario(n: int, cpus: int = 256) -> str:
    head = f'[machine]\narch = "arm64"\ncpus = {cpus}\n[timer]\nenabled = false\n'
    return head + "".join(f'[[device]]\nname = "d{i}"\nkind = "msix"\ncpu = {i % cpus}\n'
                          for i in range(n))


def seconds(n: int) -> float:
    text = scenario(n)
    start = time.perf_counter()
    spec, _ = parse(text, "<bench>")
    build(spec)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000, help="devices of the small run (the large has 10x)")
    n = ap.parse_args().n
    seconds(100)  # warm up imports and caches
    small = seconds(n)
    large = seconds(10 * n)
    ratio = large / small
    print(f"{n} devices: {small:.2f} s; {10 * n} devices: {large:.2f} s")
    print(json.dumps({"devices": [n, 10 * n], "small_s": round(small, 3), "large_s": round(large, 3),
                      "ratio": round(ratio, 2), "linearity": round(ratio / 10, 2)}))


if __name__ == "__main__":
    main()
