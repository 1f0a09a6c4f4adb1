"""The x86 vector domain (arch/x86/kernel/apic/vector.c): moves allocate on the
new CPU and free the old vector once complete; reservation; -ENOSPC."""

from __future__ import annotations

import pytest

from irqlab.kernel.manage import IrqRequestError, free_irq, irq_set_affinity
from irqlab.machine.build import Machine, build
from irqlab.scenario.loader import load
from tests.kernel.rig import at, machine, run


def _default() -> Machine:
    spec, _ = load("default")
    return build(spec, 1)


def test_a_set_affinity_move_works_on_the_default_scenario() -> None:
    """Both eth0 queues hold vector 0x21 of their CPU: moving queue 0 to CPU1
    takes CPU1's lowest free vector, and frees CPU0's 0x21 a jiffy after the
    first interrupt on CPU1 (HZ=250: 4 ms)."""
    m = _default()
    k = m.kernel
    irq = m.irqs["eth0"][0]
    desc = k.descs[irq]
    assert (desc.affinity, desc.vector) == (0, 0x21)
    seen: dict[str, object] = {}

    def move() -> None:
        irq_set_affinity(k, irq, 1)
        seen["moved"] = (desc.affinity, desc.vector, desc.chip_data.move_in_progress,
                         k.vector_irq[0].get(0x21) is desc)
        with pytest.raises(IrqRequestError) as err:
            irq_set_affinity(k, irq, 0)
        seen["again"] = err.value.errno

    at(m, 10_000_000, move)
    at(m, 10_200_000, lambda: seen.update(soon=k.vector_irq[0].get(0x21) is desc))
    run(m, 30_000_000)
    assert seen["moved"] == (1, 0x23, True, True), \
        "new vector on CPU1 (0x21 eth0-1, 0x22 ahci); the old one still bound"
    assert seen["again"] == "EBUSY", "no second move before the first completes"
    assert seen["soon"], "freed only a jiffy after the first interrupt on CPU1"
    assert 0x21 not in k.vector_irq[0] and not desc.chip_data.move_in_progress
    matrix = m.board.vectors.matrix  # type: ignore[attr-defined]
    assert not matrix.maps[0].alloc_map >> 0x21 & 1 and matrix.maps[1].alloc_map >> 0x23 & 1
    assert desc.kstat[1] > 0
    irq_set_affinity(k, irq, 0)  # complete: a move back is allowed again
    assert desc.affinity == 0


def test_a_move_to_a_cpu_still_in_the_mask_keeps_the_vector() -> None:
    m = machine("[machine]\ncpus = 4\n[[device]]\nname = \"d\"\nkind = \"msix\"\ncpu = 2\n")
    irq = m.irqs["d"][0]
    desc = m.kernel.descs[irq]
    irq_set_affinity(m.kernel, irq, [1, 2, 3])
    assert (desc.affinity, desc.vector, desc.affinity_mask) == (2, 0x21, 0b1110)


def test_the_old_vector_waits_while_an_interrupt_is_still_pending_there() -> None:
    """__vector_cleanup: 'Moved interrupt pending in old target APIC', retry a jiffy later."""
    m = machine("""
[machine]
cpus = 2
[timer]
enabled = false
[[device]]
name = "d"
kind = "msix"
cpu = 0
arrival = { kind = "periodic", period = "100us" }
handler = { cost = "1us" }
""")
    k = m.kernel
    irq = m.irqs["d"][0]
    desc = k.descs[irq]
    apic = m.ctrl

    def move() -> None:
        irq_set_affinity(k, irq, 1)
        apic.lapics[0].tpr = 0xF0  # CPU0 blocks its device vectors: 0x21 stays in IRR
        apic.accept(0, 0x21, False)

    at(m, 1_050_000, move)
    at(m, 10_000_000, lambda: apic.set_tpr(0, 0x10))
    run(m, 30_000_000)
    assert "Moved interrupt pending in old target APIC 24" in [line for _, line in k.log]
    assert desc.kstat[0] == 11, "the stale one was handled on CPU0 once unblocked"
    assert not desc.chip_data.move_in_progress and 0x21 not in k.vector_irq[0]


def test_out_of_vectors_the_driver_runs_fewer_queues() -> None:
    """A 1-CPU machine has 201 device vectors (0x21-0xea less 0x80): a 205-queue
    device gets 201 and its driver carries on with them."""
    m = machine("""
[machine]
cpus = 1
[[device]]
name = "big"
kind = "msix"
vectors = 205
""")
    assert len(m.irqs["big"]) == 201
    assert [w.message for w in m.kernel.warnings] == [
        "big: -ENOSPC for MSI-X vector 201: the driver runs 201 of its 205 queues"]
    matrix = m.board.vectors.matrix  # type: ignore[attr-defined]
    assert matrix.maps[0].available == 0 and matrix.total_allocated == 201


def test_a_line_holds_only_a_reservation_until_it_is_requested() -> None:
    m = machine("[machine]\ncpus = 2\n[[device]]\nname = \"d\"\nkind = \"msix\"\ncpu = 1\n")
    k = m.kernel
    irq = m.irqs["d"][0]
    desc = k.descs[irq]
    matrix = m.board.vectors.matrix  # type: ignore[attr-defined]
    assert (matrix.global_reserved, matrix.total_allocated) == (0, 1)
    free_irq(k, irq, desc.action[0].dev_id)
    assert (matrix.global_reserved, matrix.total_allocated, desc.vector) == (1, 0, -1)
    assert "Global reserved:       1" in m.board.vector_matrix()  # type: ignore[operator]


@pytest.mark.parametrize("iommu", ["intel", "amd"])
def test_behind_interrupt_remapping_a_move_rewrites_the_irte(iommu: str) -> None:
    m = machine(f"""
[machine]
cpus = 2
iommu = "{iommu}"
[timer]
enabled = false
[[device]]
name = "nic"
kind = "msix"
cpu = 0
arrival = {{ kind = "periodic", period = "100us" }}
handler = {{ cost = "1us" }}
""")
    k = m.kernel
    irq = m.irqs["nic"][0]
    desc = k.descs[irq]
    irte = desc.chip.unit.irt[desc.chip.irtes[0]]
    assert (irte.dest, irte.vector) == (0, desc.vector), "written when the line started"
    at(m, 1_050_000, lambda: irq_set_affinity(k, irq, 1))
    run(m, 2_050_000)
    assert (irte.dest, irte.vector) == (m.ctrl.lapics[1].apic_id, desc.vector)
    assert desc.affinity == 1 and desc.kstat == [10, 10]
