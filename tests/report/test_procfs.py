"""Golden tests: snapshots built by hand from rows of real /proc files must
render back to those files byte for byte.

Fixtures (tests/report/fixtures/):
- interrupts-8cpu-x86.txt: rows of shared/data/proc-interrupts/
  server-8cpu-intel-eno-txrx-nvidia-interrupts.txt (justin-e-dong/intersched)
- interrupts-40cpu-no-hwirq.txt: rows of server-40cpu-ir-ioapic-msi-many-vectors
  (izumihanako/rBench-an-interference-generator), older layout without hwirq
- interrupts-6.18-2cpu.txt, softirqs-6.18-2cpu.txt: this CI machine kind, kernel 6.18
"""

from __future__ import annotations

from pathlib import Path

import pytest

from irqlab.events import CounterRow, CounterSnapshot
from irqlab.report.procfs import irq_prec, render_interrupts, render_softirqs

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def arch_rows(text: str, cpus: int) -> dict[str, CounterRow]:
    """x86 trailer rows with counts only: descriptions must come from the renderer."""
    rows = {}
    for line in text.splitlines()[1:]:
        label, rest = line.split(":", 1)
        label = label.strip()
        if label.isdigit():
            continue
        counts = [int(t) for t in rest.split()[:cpus]]
        rows[label] = CounterRow(label, counts)
    return rows


def irq(label: str, counts: list[int], chip: str, hwirq: str | None, flow: str,
        *actions: str) -> CounterRow:
    return CounterRow(label, counts, chip=chip, hwirq=hwirq, trigger=flow,
                      name=", ".join(actions), handlers=list(actions))


def test_8cpu_x86_dump_with_hwirq_and_all_arch_rows() -> None:
    expected = fixture("interrupts-8cpu-x86.txt")
    snap = CounterSnapshot(cpus=8)
    for row in [
        irq("0", [9, 0, 0, 0, 0, 0, 0, 0], "IR-IO-APIC", "2", "edge", "timer"),
        irq("9", [0, 0, 4, 0, 0, 146, 0, 0], "IR-IO-APIC", "9", "fasteoi", "acpi"),
        irq("36", [0, 0, 8795508, 1590530, 86757, 0, 115730, 4698], "IR-PCI-MSI", "512000",
            "edge", "ahci[0000:00:1f.2]"),
        irq("66", [17534783, 41248350, 108970, 0, 6691187, 0, 1186949, 882748], "IR-PCI-MSI",
            "1048576", "edge", "nvidia"),
        irq("88", [0] * 8, "DMAR-MSI", "0", "edge", "dmar0"),
    ]:
        snap.rows[row.label] = row
    snap.rows.update(arch_rows(expected, 8))
    # nr_irqs >= 1000 on that machine: the header has 4 + 8 leading spaces
    assert render_interrupts(snap, prec=4, count_trailing_space=True) == expected


def test_40cpu_dump_without_hwirq_and_with_a_shared_line() -> None:
    expected = fixture("interrupts-40cpu-no-hwirq.txt")
    snap = CounterSnapshot(cpus=40)
    for row in [
        irq("0", [154] + [0] * 39, "IR-IO-APIC", None, "edge", "timer"),
        irq("9", [3] + [0] * 39, "IR-IO-APIC", None, "fasteoi", "acpi"),
        irq("25", [0] * 40, "IR-PCI-MSI", None, "edge", "PCIe PME", "pciehp"),
    ]:
        snap.rows[row.label] = row
    snap.rows.update(arch_rows(expected, 40))
    assert render_interrupts(snap, prec=4, count_trailing_space=True) == expected


def test_kernel_6_18_layout_derives_prec_and_keeps_long_chip_names() -> None:
    expected = fixture("interrupts-6.18-2cpu.txt")
    snap = CounterSnapshot(cpus=2)
    for row in [
        irq("36", [0, 20657], "PCI-MSIX-0000:00:02.0", "1", "edge", "virtio1-req.0"),
        irq("24", [1, 0], "IO-APIC", "5", "edge", "ACPI:Ged"),
        irq("28", [0, 0], "PCI-MSIX-0000:00:01.0", "0", "edge", "virtio0-config"),
        irq("26", [0, 14], "IO-APIC", "4", "edge", "ttyS0"),
    ]:
        snap.rows[row.label] = row  # out of order on purpose: rendered ascending
    snap.rows.update(arch_rows(expected, 2))
    assert render_interrupts(snap) == expected


def test_level_column_layout_of_generic_irq_show_level() -> None:
    # arm64 guest line (public /proc/interrupts capture): no flow name, Level/Edge column
    expected = "  3:       7807       6971       6448       7202     GICv3  27 Level     arch_timer"
    row = CounterRow("3", [7807, 6971, 6448, 7202], chip="GICv3", hwirq="27", trigger="Level",
                     name="arch_timer", handlers=["arch_timer"])
    snap = CounterSnapshot(cpus=4, rows={"3": row})
    assert render_interrupts(snap, count_trailing_space=True).splitlines()[1] == expected


def test_softirqs_6_18() -> None:
    expected = fixture("softirqs-6.18-2cpu.txt")
    rows = [line.split(":") for line in expected.splitlines()[1:]]
    snap = CounterSnapshot(cpus=2, softirqs={
        name.strip(): [int(c) for c in counts.split()] for name, counts in rows
    })
    assert render_softirqs(snap) == expected


@pytest.mark.parametrize(("nr_irqs", "prec"), [(0, 3), (999, 3), (1000, 4), (9999, 4),
                                               (10000, 5), (10**12, 10)])
def test_irq_column_width_follows_nr_irqs(nr_irqs: int, prec: int) -> None:
    assert irq_prec(nr_irqs) == prec
