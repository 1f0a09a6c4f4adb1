"""CPU masks as the kernel prints and parses them (``lib/bitmap-str.c``,
``lib/vsprintf.c`` ``%*pb`` / ``%*pbl``).

A mask is a Python int, bit N for CPU N.  ``%*pb`` prints it in hex, in
comma-separated 32-bit groups from the highest down, the first group only as
wide as ``nr_cpu_ids`` needs (``bitmap_string``: ``f`` on 4 CPUs,
``ffffffff,ffffffff`` on 64); ``%*pbl`` prints ranges (``0-3,8``), which is
also what ``/proc/irq/N/smp_affinity_list`` accepts (``bitmap_parselist``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

CHUNKSZ = 32


def cpumask_of(cpus: Iterable[int]) -> int:
    mask = 0
    for cpu in cpus:
        mask |= 1 << cpu
    return mask


def for_each_cpu(mask: int) -> Iterator[int]:
    """The CPUs of ``mask``, lowest first."""
    cpu = 0
    while mask:
        if mask & 1:
            yield cpu
        mask >>= 1
        cpu += 1


def cpumask_first(mask: int) -> int:
    """The lowest CPU of ``mask``; -1 when it is empty."""
    return (mask & -mask).bit_length() - 1


def bitmap_string(mask: int, nbits: int) -> str:
    """``%*pb``: hex, 32-bit groups separated by commas, zero-padded."""
    chunksz = nbits % CHUNKSZ or CHUNKSZ
    groups = []
    i = -(-nbits // CHUNKSZ) * CHUNKSZ - CHUNKSZ
    while i >= 0:
        val = mask >> i & ((1 << chunksz) - 1)
        groups.append(f"{val:0{-(-chunksz // 4)}x}")
        chunksz = CHUNKSZ
        i -= CHUNKSZ
    return ",".join(groups)


def bitmap_list_string(mask: int) -> str:
    """``%*pbl``: ranges of set bits, ``0-3,8``; empty for an empty mask."""
    out = []
    cpus = list(for_each_cpu(mask))
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(out)
