"""Independent, seeded random streams, one per named source.

Each stream is seeded from SHA-256 of ``"<seed>:<name>"``, so adding a device
never shifts the draws of another, and the same scenario and seed give the
same run on every machine and Python build (``hash()`` is salted per process;
SHA-256 is not)."""

from __future__ import annotations

import hashlib
import random


def stream(seed: int, name: str) -> random.Random:
    """The random stream of source ``name`` under run seed ``seed``."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
