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


SNAPSHOT = """\
           CPU0       CPU1
  0:         10          0   IO-APIC   2-edge      timer
 24:       1000        500  IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]
LOC:       5000       6000   Local timer interrupts
"""


def test_a_snapshot_cut_anywhere_reads_or_names_the_line():
    """A truncated dump either parses (the rows it keeps are whole) or is one
    ProcfsError naming the file: a cut row is never taken as a count."""
    for cut in range(len(SNAPSHOT) + 1):
        try:
            snap = parse_interrupts(SNAPSHOT[:cut], "cut.txt")
        except ProcfsError as err:
            assert err.source == "cut.txt"
            continue
        for label, row in snap.rows.items():
            if label.isdigit():
                assert len(row.per_cpu) == 2
                assert row.per_cpu[0] in (10, 1000)


@pytest.mark.parametrize("text", [
    "      CPU0\n  3:  " + "9" * 5000 + "  X  1-edge a\n",  # int() refuses 4300+ digits
    "      CPU0\n  3:  1  " + "X" * 10_000_000 + "  1-edge a\n",  # 10 MB line, linear time
    "      CPU0\n  3:  1  X 1-" + "-" * 10_000_000 + "\n",
    " CPU0 " * 1_000_000 + "x\n      CPU0\n  3:  1  X  1-edge a\n",
    "\x00\xff\x0b      CPU0\n\x0c\x1c  3:  1  X  1-edge a\n\x85\n",
])
def test_junk_and_huge_lines_never_crash(text):
    try:
        snap = parse_interrupts(text, "junk.txt")
    except ProcfsError as err:
        assert err.source == "junk.txt"
    else:
        assert snap.cpus == 1 and snap.rows["3"].per_cpu == [1]


def test_line_numbers_count_newlines_only():
    """\\v, \\f and \\x1c are not line breaks in a /proc dump."""
    with pytest.raises(ProcfsError) as err:
        parse_interrupts("      CPU0\n  3:  1  X  1-edge a\x0b\x0c\n garbage\n", "d.txt")
    assert err.value.line == 3
