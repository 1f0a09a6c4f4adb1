"""The vector matrix (kernel/irq/matrix.c) and the cpumask formats of lib/bitmap-str.c."""

from __future__ import annotations

import pytest

from irqlab.kernel.cpumask import bitmap_list_string, bitmap_string, cpumask_of
from irqlab.kernel.matrix import IrqMatrix, MatrixError


@pytest.mark.parametrize(("cpus", "nbits", "text"), [
    ([0, 1], 2, "3"),
    ([1], 4, "2"),
    ([0, 1, 2, 3, 8], 12, "10f"),
    ([0, 63], 64, "80000000,00000001"),
    ([32], 33, "1,00000000"),
    ([], 8, "00"),
])
def test_smp_affinity_is_hex_in_32_bit_groups(cpus: list[int], nbits: int, text: str) -> None:
    assert bitmap_string(cpumask_of(cpus), nbits) == text


@pytest.mark.parametrize(("cpus", "text"), [
    ([0, 1, 2, 3, 8], "0-3,8"), ([5], "5"), ([0, 2, 4], "0,2,4"), ([], ""),
])
def test_smp_affinity_list_is_ranges(cpus: list[int], text: str) -> None:
    assert bitmap_list_string(cpumask_of(cpus)) == text


def _matrix(cpus: int = 2) -> IrqMatrix:
    m = IrqMatrix(cpus, 256, 0x21, 0x25)  # four allocatable vectors per CPU
    for bit in range(0x20):
        m.assign_system(bit)
    return m


def test_alloc_takes_the_lowest_free_vector_of_the_cpu_with_the_most_available() -> None:
    m = _matrix()
    assert m.alloc(0b11) == (0, 0x21)
    assert m.alloc(0b11) == (1, 0x21), "CPU1 has more available now"
    assert m.alloc(0b01) == (0, 0x22)
    assert [cm.available for cm in m.maps] == [2, 3]
    assert m.total_allocated == 3


def test_a_full_cpu_is_enospc_and_a_freed_vector_comes_back() -> None:
    m = _matrix(1)
    for v in range(0x21, 0x25):
        assert m.alloc(1) == (0, v)
    with pytest.raises(MatrixError) as err:
        m.alloc(1)
    assert err.value.errno == "ENOSPC"
    m.free(0, 0x23, managed=False)
    assert m.alloc(1) == (0, 0x23)


def test_managed_vectors_are_set_aside_on_every_cpu_of_the_mask() -> None:
    m = _matrix()
    m.reserve_managed(0b11)
    assert [(cm.available, cm.managed) for cm in m.maps] == [(3, 1), (3, 1)]
    assert m.alloc(0b11) == (0, 0x22), "the set-aside 0x21 is not handed to others"
    assert m.alloc_managed(0b11) == (0, 0x21)
    assert m.alloc_managed(0b11) == (1, 0x21), "the CPU with fewer managed vectors in use"
    with pytest.raises(MatrixError):
        m.alloc_managed(0b11)  # one set aside per CPU, both taken
    m.free(1, 0x21, managed=True)
    assert (m.maps[1].managed, m.maps[1].managed_allocated, m.maps[1].available) == (1, 0, 3), \
        "a freed managed vector stays set aside"


def test_offline_cpus_are_never_chosen_and_leave_the_debugfs_view() -> None:
    m = _matrix()
    m.offline(0)
    assert m.alloc(0b11) == (1, 0x21)
    assert m.find_best_cpu(0b01) == -1
    m.reserve()
    assert m.debug_show().splitlines() == [
        "Online bitmaps:        1",
        "Global available:      3",
        "Global reserved:       1",
        "Total allocated:       1",
        "System: 32: 0-31",
        " | CPU | avl | man | mac | act | vectors",
        "     1     3     0     0    1  33",
    ]
