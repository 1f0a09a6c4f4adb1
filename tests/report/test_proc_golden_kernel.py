"""The /proc/interrupts text of a simulated run has the layout of the real
file: the same header, fixed-width count fields, and, for a device like one
on a real machine, the very same chip/hwirq/flow/name tail.

Reference lines: tests/report/fixtures/interrupts-6.18-2cpu.txt (kernel 6.18,
2 CPUs; kernel/irq/proc.c show_interrupts and arch/x86/kernel/irq.c
arch_show_interrupts)."""

from __future__ import annotations

import re
from pathlib import Path

from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.report.procfs import render_interrupts
from irqlab.scenario.loader import parse

REAL = (Path(__file__).parent / "fixtures" / "interrupts-6.18-2cpu.txt").read_text().splitlines()
CPUS = 2
FIELD = 11  # " %10u" per CPU in IRQ rows, "%10u " in the arch rows

SCENARIO = """
[machine]
arch = "x86"
cpus = 2
[[device]]
name = "ttyS0"
kind = "line"
line = 4
trigger = "edge"
cpu = 1
arrival = { kind = "poisson", rate = "2k/s" }
[[device]]
name = "ACPI:Ged"
kind = "line"
line = 5
trigger = "edge"
arrival = { kind = "replay", times = ["1ms"] }
"""


def simulated() -> list[str]:
    spec, _ = parse(SCENARIO, "<golden>")
    m = build(spec)
    simulate(m, 20_000_000)
    return render_interrupts(m.kernel.snapshot()).splitlines()


def split(line: str, irq_row: bool) -> tuple[str, list[str], str]:
    """(label, count fields, tail) of a row."""
    label, rest = line.split(":", 1)
    if not irq_row:
        rest = rest[1:]  # "%*s: " then "%10u " per CPU
    fields = [rest[i * FIELD:(i + 1) * FIELD] for i in range(CPUS)]
    return label, fields, rest[CPUS * FIELD:]


def row(lines: list[str], name: str) -> str:
    return next(ln for ln in lines if ln.rstrip().endswith(name) or ln.startswith(name))


def test_header_is_the_kernels() -> None:
    assert simulated()[0] == REAL[0]


def test_irq_rows_match_the_real_layout() -> None:
    sim = simulated()
    for name in ("ttyS0", "ACPI:Ged"):
        real_label, real_fields, real_tail = split(row(REAL, name), True)
        label, fields, tail = split(row(sim, name), True)
        assert len(label) == len(real_label) == 3  # "%*d:" with prec 3
        for f in fields + real_fields:
            assert re.fullmatch(r" +\d+", f) and len(f) == FIELD
        assert tail == real_tail  # e.g. "  IO-APIC   4-edge      ttyS0" (same pin as the real one)


def test_arch_rows_match_the_real_layout() -> None:
    sim = simulated()
    for name in ("LOC", "SPU"):
        real_label, real_fields, real_tail = split(row(REAL, name), False)
        label, fields, tail = split(row(sim, name), False)
        assert label == real_label
        for f in fields + real_fields:
            assert re.fullmatch(r" *\d+ ", f) and len(f) == FIELD
        assert tail == real_tail
    for name in ("ERR", "MIS"):
        real = row(REAL, name)
        line = row(sim, name)
        assert re.sub(r"\d+$", "0", line) == re.sub(r"\d+$", "0", real)
        assert len(line) == len(real)
