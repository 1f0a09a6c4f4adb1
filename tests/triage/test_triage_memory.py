"""A large log is streamed: memory stays bounded whatever the input size."""

from __future__ import annotations

import tracemalloc

from irqlab.triage.diagnose import Triage

FAULT = (b"Jun 01 10:00:05 nuc kernel: DMAR: [DMA Read NO_PASID] Request device [00:02.0] "
         b"fault addr 0x7cd80000 [fault reason 0x06] PTE Read access is not set\n")
NOISE = b"Jun 01 10:00:05 nuc kernel: usb 1-1: reset high-speed USB device number 2\n" * 20
TARGET = 50 << 20  # ~50 MB
PEAK_LIMIT = 8 << 20


def test_50mb_log_streams_with_bounded_memory(tmp_path):
    path = tmp_path / "huge.log"
    block = FAULT + NOISE
    blocks = TARGET // len(block)
    with path.open("wb") as out:
        out.write(b"z" * (3 << 20))  # one 3 MB line with no newline at all
        out.write(b"\n")
        for _ in range(blocks // 1000):
            out.write(block * 1000)
    run = Triage()
    tracemalloc.start()
    try:
        run.scan_path(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [fault] = run.close().to_json()["findings"]
    assert fault["count"] == blocks // 1000 * 1000
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.1f} MB"
