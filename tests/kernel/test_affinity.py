"""irq_set_affinity: a line or vector moves to another CPU through its chip."""

from __future__ import annotations

import pytest

from irqlab.kernel.manage import (
    IrqRequestError,
    disable_irq,
    enable_irq,
    free_irq,
    irq_set_affinity,
    request_irq,
)

from .rig import at, machine, run

TWO_CPUS = """
[machine]
arch = "{arch}"
cpus = 2
[timer]
enabled = false
[[device]]
name = "dev"
kind = "{kind}"
{extra}
cpu = 0
arrival = {{ kind = "periodic", period = "100us" }}
handler = {{ cost = "1us" }}
"""


@pytest.mark.parametrize(("arch", "kind", "extra", "kstat"), [
    ("x86", "msix", "", [10, 10]),
    ("x86", "line", 'line = 5\ntrigger = "edge"', [11, 9]),
    ("x86", "line", 'line = 5\ntrigger = "level"', [11, 9]),
    ("arm64", "line", 'line = 40\ntrigger = "level"', [10, 10]),
])
def test_interrupts_follow_the_new_affinity(arch: str, kind: str, extra: str,
                                            kstat: list[int]) -> None:
    m = machine(TWO_CPUS.format(arch=arch, kind=kind, extra=extra))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    at(m, 1_050_000, lambda: irq_set_affinity(m.kernel, irq, 1))
    run(m, 2_050_000)
    assert desc.affinity == 1
    # 10 periods on CPU0 before the move (100 us .. 1 ms), 10 after it (.. 2 ms); an
    # IO-APIC pin moves only while it handles its next interrupt, which stays on CPU0.
    assert desc.kstat == kstat


@pytest.mark.parametrize("trigger", ["edge", "level"])
def test_an_io_apic_pin_moves_at_its_next_interrupt(trigger: str) -> None:
    """GENERIC_PENDING_IRQ (kernel/irq/migration.c): without interrupt remapping
    the RTE is rewritten from the interrupt path, with the pin masked."""
    m = machine(TWO_CPUS.format(arch="x86", kind="line", extra=f'line = 5\ntrigger = "{trigger}"'))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    rte = m.board.ioapic.rte[5]  # type: ignore[attr-defined]
    seen: dict[str, object] = {}

    def move() -> None:
        irq_set_affinity(m.kernel, irq, 1)
        seen["after_request"] = (desc.affinity, desc.pending_mask, rte.dest)

    at(m, 1_050_000, move)
    at(m, 1_099_000, lambda: seen.update(before_next=(desc.affinity, rte.dest)))
    at(m, 1_150_000, lambda: seen.update(after_next=(desc.affinity, desc.pending_mask,
                                                      rte.dest, rte.masked, list(desc.kstat))))
    run(m, 1_250_000)
    assert seen["after_request"] == (0, 0b10, 0), "nothing is rewritten from process context"
    assert seen["before_next"] == (0, 0)
    assert seen["after_next"] == (1, 0, 1, False, [11, 0]), \
        "the 1.1 ms interrupt ran on CPU0 and moved the pin, unmasked again"
    assert desc.kstat == [11, 1]


def test_a_second_request_before_the_next_interrupt_replaces_the_first() -> None:
    m = machine(TWO_CPUS.format(arch="x86", kind="line", extra='line = 5\ntrigger = "level"'))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    at(m, 1_050_000, lambda: irq_set_affinity(m.kernel, irq, 1))
    at(m, 1_060_000, lambda: irq_set_affinity(m.kernel, irq, 0))  # back before it moved
    run(m, 2_050_000)
    assert desc.affinity == 0 and desc.pending_mask == 0
    assert desc.kstat == [20, 0]


def test_a_move_takes_a_new_vector_when_its_own_is_taken_on_the_target_cpu() -> None:
    """apic_set_affinity allocates on the new CPU (here 0x41 is the other device's)."""
    m = machine(TWO_CPUS.format(arch="x86", kind="msix", extra="vector = 0x41") +
                '[[device]]\nname = "other"\nkind = "msix"\ncpu = 1\nvector = 0x41\n')
    irq = m.irqs["dev"][0]
    irq_set_affinity(m.kernel, irq, 1)
    desc = m.kernel.descs[irq]
    assert (desc.affinity, desc.vector) == (1, 0x21)
    assert m.kernel.vector_irq[1][0x41] is m.kernel.descs[m.irqs["other"][0]]


def test_an_offline_cpu_is_refused() -> None:
    m = machine(TWO_CPUS.format(arch="x86", kind="msix", extra=""))
    with pytest.raises(IrqRequestError) as err:
        irq_set_affinity(m.kernel, m.irqs["dev"][0], 2)
    assert err.value.errno == "EINVAL"


def test_a_per_cpu_interrupt_cannot_be_moved() -> None:
    m = machine(TWO_CPUS.format(arch="arm64", kind="line", extra='line = 40\ntrigger = "level"'))
    with pytest.raises(IrqRequestError) as err:
        irq_set_affinity(m.kernel, m.irqs["arch_timer"][0], 1)
    assert err.value.errno == "EINVAL" and "per-CPU" in str(err.value)


def test_an_lpi_moves_through_the_its() -> None:
    """arm64 MSI: its_set_affinity issues MOVI; the next events go to CPU1."""
    m = machine(TWO_CPUS.format(arch="arm64", kind="msix", extra=""))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    at(m, 1_050_000, lambda: irq_set_affinity(m.kernel, irq, 1))
    run(m, 2_050_000)
    assert desc.affinity == 1 and desc.kstat == [10, 10]


def test_the_iommu_fault_interrupt_follows_its_affinity() -> None:
    m = machine("""
[machine]
arch = "x86"
cpus = 2
iommu = true
[timer]
enabled = false
[[device]]
name = "nic"
kind = "msix"
[[fault]]
kind = "dma-fault"
device = "nic"
at = "1ms"
rate = "2k/s"
""")
    irq = m.irqs["dmar0"][0]
    at(m, 500_000, lambda: irq_set_affinity(m.kernel, irq, 1))
    run(m, 20_000_000)
    kstat = m.kernel.descs[irq].kstat
    assert kstat[0] == 0 and kstat[1] > 10


def test_a_disabled_edge_pin_keeps_its_move_until_an_interrupt_after_the_enable() -> None:
    """__irq_move_irq returns at once for a disabled line."""
    m = machine(TWO_CPUS.format(arch="x86", kind="line", extra='line = 5\ntrigger = "edge"'))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    seen: dict[str, object] = {}
    at(m, 1_050_000, lambda: disable_irq(m.kernel, irq))
    at(m, 1_060_000, lambda: irq_set_affinity(m.kernel, irq, 1))
    at(m, 1_150_000, lambda: seen.update(disabled=(desc.affinity, desc.pending_mask)))
    at(m, 1_150_000, lambda: enable_irq(m.kernel, irq))  # resends the 1.1 ms edge to CPU0
    run(m, 2_050_000)
    assert seen["disabled"] == (0, 0b10), "the edge at 1.1 ms found the line disabled: no move"
    assert desc.affinity == 1 and desc.pending_mask == 0
    assert desc.kstat == [11, 9], "the resent edge ran on CPU0 and moved the pin"


def test_a_line_nobody_uses_moves_at_once_and_free_irq_completes_a_pending_move() -> None:
    m = machine(TWO_CPUS.format(arch="x86", kind="line", extra='line = 5\ntrigger = "level"'))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    rte = m.board.ioapic.rte[5]  # type: ignore[attr-defined]
    irq_set_affinity(m.kernel, irq, 1)
    assert (desc.affinity, desc.pending_mask, rte.dest) == (0, 0b10, 0), "in use: deferred"
    free_irq(m.kernel, irq, desc.action[0].dev_id)
    assert (desc.affinity, desc.pending_mask, rte.dest) == (1, 0, 1), "shut down: moved"
    irq_set_affinity(m.kernel, irq, 0)
    assert (desc.affinity, desc.pending_mask) == (0, 0), "not in use: at once"
    assert desc.vector < 0, "shut down, the line holds no vector (reservation mode) ..."
    request_irq(m.kernel, irq, lambda ctx: 1, 0, "again")
    assert (rte.dest, rte.vector) == (0, desc.vector), "... and its RTE is written when it starts"


def test_a_chip_that_refuses_a_move_leaves_the_line_where_it_was() -> None:
    m = machine(TWO_CPUS.format(arch="x86", kind="msix", extra=""))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]

    def refuse(d: object, mask: int) -> None:
        raise ValueError("no route to that CPU")

    desc.chip.irq_set_affinity = refuse  # type: ignore[method-assign]
    with pytest.raises(IrqRequestError) as err:
        irq_set_affinity(m.kernel, irq, 1)
    assert err.value.errno == "EINVAL"
    assert desc.affinity == 0 and desc.vector not in m.kernel.vector_irq[1]


def test_the_irq_thread_follows_its_line_to_the_new_cpu() -> None:
    """irq_set_thread_affinity: irq/N-name runs where the line now interrupts."""
    m = machine(TWO_CPUS.format(arch="x86", kind="msix", extra="")
                .replace('handler = { cost = "1us" }',
                         'handler = { cost = "1us", thread = "5us", oneshot = true }'))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    thread = desc.action[0].thread.thread
    at(m, 1_050_000, lambda: irq_set_affinity(m.kernel, irq, 1))
    run(m, 2_050_000)
    assert desc.kstat == [10, 10] and thread.cpu == 1
