"""irq_set_affinity: a line or vector moves to another CPU through its chip."""

from __future__ import annotations

import pytest

from irqlab.kernel.manage import IrqRequestError, irq_set_affinity

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


@pytest.mark.parametrize(("arch", "kind", "extra"), [
    ("x86", "msix", ""),
    ("x86", "line", 'line = 5\ntrigger = "edge"'),
    ("x86", "line", 'line = 5\ntrigger = "level"'),
    ("arm64", "line", 'line = 40\ntrigger = "level"'),
])
def test_interrupts_follow_the_new_affinity(arch: str, kind: str, extra: str) -> None:
    m = machine(TWO_CPUS.format(arch=arch, kind=kind, extra=extra))
    irq = m.irqs["dev"][0]
    desc = m.kernel.descs[irq]
    at(m, 1_050_000, lambda: irq_set_affinity(m.kernel, irq, 1))
    run(m, 2_050_000)
    assert desc.affinity == 1
    # 10 periods on CPU0 before the move (100 us .. 1 ms), 10 on CPU1 after it (.. 2 ms)
    assert desc.kstat == [10, 10]


def test_a_vector_taken_on_the_target_cpu_is_refused() -> None:
    m = machine(TWO_CPUS.format(arch="x86", kind="msix", extra="vector = 0x41") +
                '[[device]]\nname = "other"\nkind = "msix"\ncpu = 1\nvector = 0x41\n')
    with pytest.raises(IrqRequestError) as err:
        irq_set_affinity(m.kernel, m.irqs["dev"][0], 1)
    assert err.value.errno == "ENOSPC"


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


def test_an_lpi_move_is_refused_cleanly() -> None:
    m = machine(TWO_CPUS.format(arch="arm64", kind="msix", extra=""))
    with pytest.raises(IrqRequestError) as err:
        irq_set_affinity(m.kernel, m.irqs["dev"][0], 1)
    assert err.value.errno == "EINVAL" and "ITS" in str(err.value)


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
