"""Cost of the IOMMU model on a busy machine: the same 2-CPU x86 scenario (one
MSI-X device, 2 vectors, 200k requests/s, a 1 us handler) run without an
IOMMU, with VT-d and with AMD-Vi.  With an IOMMU every request is a DMA walked
through the device's page table, an IRTE lookup for its MSI, and an unmap and
a map in the driver.  Prints seconds per run and the ratios to the run without
an IOMMU, then a JSON line; run with ``python3 bench/iommu.py``."""

from __future__ import annotations

import argparse
import json
import time
import tomllib

from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.scenario.schema import Scenario

SCENARIO = """
[scenario]
name = "iommu-bench"
[machine]
arch = "x86"
cpus = 2
{iommu}
[[device]]
name = "ixgbe"
kind = "msix"
vectors = 2
cpu = [0, 1]
arrival = {{ kind = "poisson", rate = "200k/s" }}
handler = {{ cost = "1us" }}
"""


def seconds(iommu: str, duration_ns: int) -> float:
    m = build(Scenario.model_validate(tomllib.loads(SCENARIO.format(iommu=iommu))))
    start = time.perf_counter()
    simulate(m, duration_ns)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ms", type=int, default=200, help="simulated milliseconds per run")
    duration = ap.parse_args().ms * 1_000_000
    seconds("", duration // 10)  # warm up imports and caches
    base = min(seconds("", duration) for _ in range(2))
    intel = min(seconds('iommu = "intel"', duration) for _ in range(2))
    amd = min(seconds('iommu = "amd"', duration) for _ in range(2))
    print(f"no IOMMU {base:.2f} s; VT-d {intel:.2f} s ({intel / base:.2f}x); "
          f"AMD-Vi {amd:.2f} s ({amd / base:.2f}x)")
    print(json.dumps({"base_s": round(base, 3), "intel_s": round(intel, 3), "amd_s": round(amd, 3),
                      "intel_ratio": round(intel / base, 2), "amd_ratio": round(amd / base, 2)}))


if __name__ == "__main__":
    main()
