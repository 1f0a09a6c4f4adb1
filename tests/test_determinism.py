"""A run is a function of scenario and seed: byte-identical traces across
processes, and one device's arrivals independent of the others."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from irqlab.events import IRQ_RAISE
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.scenario.loader import load
from irqlab.scenario.schema import DeviceSpec

REPO = Path(__file__).resolve().parents[1]


def trace_hash(tmp_path: Path, *args: str, hash_seed: str = "0") -> str:
    """sha256 of the ftrace text of ``irqlab run default --duration 20ms`` in a
    fresh interpreter (``hash_seed`` salts str hashes, as differs between runs)."""
    out = tmp_path / f"trace-{hash_seed}-{'-'.join(args)}.txt"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-m", "irqlab", "run", "default", "--duration", "20ms",
                    "--trace", str(out), *args], cwd=REPO, env=env, check=True,
                   capture_output=True)
    text = out.read_bytes()
    assert text.count(b"irq_handler_entry") > 100, "the trace must hold a real run"
    return hashlib.sha256(text).hexdigest()


def test_same_seed_gives_a_byte_identical_trace(tmp_path: Path) -> None:
    assert trace_hash(tmp_path, hash_seed="1") == trace_hash(tmp_path, hash_seed="2")


def test_different_seed_gives_a_different_trace(tmp_path: Path) -> None:
    assert trace_hash(tmp_path, "--seed", "1") != trace_hash(tmp_path, "--seed", "2")


class Raises:
    """Sink keeping (time, queue) of each IRQ_RAISE of a multi-vector device."""

    def __init__(self, irqs: list[int]) -> None:
        self.queue_of = {irq: i for i, irq in enumerate(irqs)}
        self.times: list[tuple[int, int]] = []

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        if kind == IRQ_RAISE and irq in self.queue_of:
            self.times.append((ts_ns, self.queue_of[irq]))


def eth0_raises(extra: DeviceSpec | None) -> list[tuple[int, int]]:
    spec, _ = load("default")
    if extra is not None:
        spec.device.insert(0, extra)  # first, so that it also shifts IRQ numbers
    m = build(spec)
    sink = Raises(m.irqs["eth0"])
    simulate(m, 20_000_000, [sink])
    return sink.times


def test_adding_a_device_does_not_change_another_devices_arrivals() -> None:
    alone = eth0_raises(None)
    crowded = eth0_raises(DeviceSpec.model_validate({
        "name": "nvme0", "kind": "msix", "vectors": 2, "cpu": [0, 1],
        "arrival": {"kind": "poisson", "rate": "50k/s"}, "handler": {"cost": "5us"},
    }))
    assert len(alone) > 500
    assert crowded == alone
