"""/proc/interrupts and /proc/softirqs parsers against real and hand-written dumps."""

import json
from pathlib import Path

import pytest

from irqlab.observe.procfs import ProcfsError, parse_interrupts, parse_softirqs, read_snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DUMPS = sorted(p.stem for p in FIXTURES.glob("*-interrupts.txt"))


def _as_expected(row):
    got = {"irq": row.label, "counts": row.per_cpu, "total": row.total}
    if row.label.isdigit():
        got.update(chip=row.chip, hwirq=row.hwirq, trigger=row.trigger, name=row.name,
                   handlers=row.handlers)
    else:
        got["description"] = row.name
    return got


def test_every_layout_has_a_fixture():
    names = " ".join(DUMPS)
    for layout in ("ir-ioapic", "gicv3-its", "fiq-ipi-present", "fused-chip-flow", "no-chip",
                   "annotated-msix", "amd-iommu"):
        assert layout in names


@pytest.mark.parametrize("stem", DUMPS)
def test_dump_parses_to_expected_rows(stem):
    expected = json.loads((FIXTURES / f"{stem}.json").read_text())["expected"]
    snap = read_snapshot(FIXTURES / f"{stem}.txt")
    assert snap.cpus == expected["num_cpus"]
    assert [_as_expected(r) for r in snap.rows.values()] == expected["rows"]


def test_flow_kept_beside_level_column():
    text = "           CPU0\n 11:   5   GICv3  27 Level     arch_timer\n  0:  1   IO-APIC   2-edge  timer\n"
    snap = parse_interrupts(text)
    assert (snap.rows["11"].trigger, snap.rows["11"].flow) == ("Level", None)
    assert (snap.rows["0"].trigger, snap.rows["0"].flow) == ("edge", "edge")


def test_softirqs():
    snap = read_snapshot(FIXTURES / "softirqs-4cpu.txt")
    assert snap.cpus == 4 and not snap.rows
    assert list(snap.softirqs) == ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL",
                                   "TASKLET", "SCHED", "HRTIMER", "RCU"]
    assert snap.softirqs["NET_RX"] == [53210, 48812, 47023, 51130]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("no header here\n", None, "no CPU header"),
        ("      CPU0   CPU1\n  3:   1\n", 2, "1 counts for 2 CPUs"),
        ("      CPU0\n  3:   1  X  1-edge a\n  3:   1  X  1-edge a\n", 3, "twice"),
        ("      CPU0\n garbage line\n", 2, "expected a row"),
    ],
)
def test_bad_interrupts_name_the_line(text, line, words):
    with pytest.raises(ProcfsError) as err:
        parse_interrupts(text, "dump.txt")
    assert err.value.source == "dump.txt" and err.value.line == line
    assert words in str(err.value)


def test_bad_softirqs_row_names_the_line():
    with pytest.raises(ProcfsError) as err:
        parse_softirqs("      CPU0  CPU1\n  HI:  1\n", "s.txt")
    assert err.value.line == 2
