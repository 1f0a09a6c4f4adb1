"""RSS in the NIC: the Toeplitz hash against Microsoft's verification
examples, and the indirection tables ``ethtool -X`` writes."""

from __future__ import annotations

import pytest

from irqlab.hw.rss import MS_RSS_KEY, indir_default, indir_weights, ipv4_l4_input, toeplitz


@pytest.mark.parametrize(("src", "sport", "dst", "dport", "l4", "l3"), [
    # "Verifying the RSS hash calculation" (Microsoft, NDIS RSS documentation)
    ("66.9.149.187", 2794, "161.142.100.80", 1766, 0x51CCC178, 0x323E8FC2),
    ("199.92.111.2", 14230, "65.69.140.83", 4739, 0xC626B0EA, 0xD718262A),
])
def test_toeplitz_matches_the_published_verification_hashes(src: str, sport: int, dst: str,
                                                            dport: int, l4: int, l3: int) -> None:
    data = ipv4_l4_input(src, dst, sport, dport)
    assert toeplitz(MS_RSS_KEY, data) == l4
    assert toeplitz(MS_RSS_KEY, data[:8]) == l3  # addresses only (NDIS_HASH_IPV4)


def test_toeplitz_refuses_input_longer_than_the_key_allows() -> None:
    with pytest.raises(ValueError, match="hashes at most 36 bytes"):
        toeplitz(MS_RSS_KEY, bytes(37))


def test_the_default_table_and_ethtool_x_weight() -> None:
    assert indir_default(8, 3) == [0, 1, 2, 0, 1, 2, 0, 1]
    assert indir_weights(8, [1, 1, 2]) == [0, 0, 1, 1, 2, 2, 2, 2]
    assert indir_weights(10, [0, 1, 1]) == [1] * 5 + [2] * 5  # weight 0: no entries
    with pytest.raises(ValueError):
        indir_weights(8, [0, 0])
