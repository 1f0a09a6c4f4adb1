"""Seeded random streams (irqlab.sim.rng): one independent stream per source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from irqlab.sim.rng import stream

REPO = Path(__file__).resolve().parents[2]


def draws(seed: int, name: str, n: int = 20) -> list[float]:
    rng = stream(seed, name)
    return [rng.random() for _ in range(n)]


def test_same_seed_and_name_give_the_same_stream() -> None:
    assert draws(7, "arrivals:eth0-0") == draws(7, "arrivals:eth0-0")


def test_different_seed_gives_a_different_stream() -> None:
    assert draws(7, "arrivals:eth0-0") != draws(8, "arrivals:eth0-0")


def test_sources_have_different_streams() -> None:
    assert draws(7, "arrivals:eth0-0") != draws(7, "arrivals:eth0-1")


def test_drawing_from_one_source_does_not_shift_another() -> None:
    alone = draws(3, "arrivals:disk")
    disk = stream(3, "arrivals:disk")
    nic = stream(3, "arrivals:nic")  # a source added beside it
    interleaved = []
    for _ in range(20):
        nic.random()
        nic.random()
        interleaved.append(disk.random())
    assert interleaved == alone


def test_stream_does_not_depend_on_the_process_hash_seed() -> None:
    code = "from irqlab.sim.rng import stream; print(stream(5, 'arrivals:eth0').random())"
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": hs}, cwd=REPO).stdout
        for hs in ("1", "2")
    }
    assert len(outs) == 1
    assert outs == {f"{stream(5, 'arrivals:eth0').random()}\n"}
