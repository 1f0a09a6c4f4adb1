"""Receive-side scaling in the NIC: the Toeplitz hash of a packet's flow and
the indirection table that maps it to a receive queue.

* Toeplitz (Microsoft, "RSS hashing functions"): for each bit of the input,
  left to right, a set bit XORs the key's leftmost 32 bits into the result;
  the key then shifts left one bit.  The input of a TCP/UDP over IPv4 packet
  is source address, destination address, source port, destination port, in
  network order (12 bytes).
* The key is 40 bytes.  ``MS_RSS_KEY`` is the key of Microsoft's
  verification examples, which many drivers ship; Linux fills one random
  key at boot (``netdev_rss_key_fill``) unless ``ethtool -X hkey`` sets one.
* The queue is ``indir[hash % len(indir)]``: the low-order bits of the hash
  index the table (``Documentation/networking/scaling.rst``; 128 entries on
  ixgbe 82599, 512 on i40e/ice).  The kernel's default table is
  ``ethtool_rxfh_indir_default``: entry i -> queue i mod n.
* ``ethtool -X DEV equal N`` spreads the table over queues 0..N-1;
  ``ethtool -X DEV weight W0 W1 ...`` gives queue j a share of the entries
  proportional to Wj, in order (``fill_indir_table`` in ethtool's
  ``ethtool.c``).
"""

from __future__ import annotations

from collections.abc import Sequence

MS_RSS_KEY = bytes((
    0x6D, 0x5A, 0x56, 0xDA, 0x25, 0x5B, 0x0E, 0xC2, 0x41, 0x67,
    0x25, 0x3D, 0x43, 0xA3, 0x8F, 0xB0, 0xD0, 0xCA, 0x2B, 0xCB,
    0xAE, 0x7B, 0x30, 0xB4, 0x77, 0xCB, 0x2D, 0xA3, 0x80, 0x30,
    0xF2, 0x0C, 0x6A, 0x42, 0xB7, 0x3B, 0xBE, 0xAC, 0x01, 0xFA,
))
RSS_KEY_BYTES = 40
#: ixgbe (82599) IXGBE_MAX_RETA_ENTRIES
DEFAULT_INDIR_SIZE = 128


def toeplitz(key: bytes, data: bytes) -> int:
    """The 32-bit Toeplitz hash of ``data`` under ``key`` (at least 4 bytes
    longer than ``data``)."""
    if len(key) < len(data) + 4:
        raise ValueError(f"a {len(key)}-byte key hashes at most {len(key) - 4} bytes, "
                         f"got {len(data)}")
    k = int.from_bytes(key, "big")
    kbits = len(key) * 8
    result = 0
    for i, byte in enumerate(data):
        for bit in range(8):
            if byte & (0x80 >> bit):
                shift = kbits - 32 - (i * 8 + bit)
                result ^= (k >> shift) & 0xFFFFFFFF
    return result


def ipv4_l4_input(saddr: str, daddr: str, sport: int, dport: int) -> bytes:
    """The hash input of a TCP or UDP packet over IPv4 (NDIS_HASH_TCP_IPV4)."""
    return (_ipv4(saddr) + _ipv4(daddr) + sport.to_bytes(2, "big") + dport.to_bytes(2, "big"))


def _ipv4(addr: str) -> bytes:
    parts = addr.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise ValueError(f"not an IPv4 address: {addr!r}")
    return bytes(int(p) for p in parts)


def indir_default(size: int, queues: int) -> list[int]:
    """``ethtool_rxfh_indir_default``: entry i -> queue i mod n."""
    return [i % queues for i in range(size)]


def indir_weights(size: int, weights: Sequence[int]) -> list[int]:
    """``ethtool -X weight W0 W1 ...``: queue j gets a run of entries in
    proportion to Wj (ethtool's ``fill_indir_table``)."""
    total = sum(weights)
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0 and not all 0")
    out = []
    partial = 0
    j = -1
    for i in range(size):
        while i >= size * partial // total:  # i >= size * partial / total, in integers
            j += 1
            partial += weights[j]
        out.append(j)
    return out
