"""Render counters exactly as the kernel prints ``/proc/interrupts`` and
``/proc/softirqs``.

``/proc/interrupts`` (kernel/irq/proc.c ``show_interrupts``): a header of
``prec + 8`` spaces and ``"CPU%-8d"`` per online CPU; per IRQ ``"%*d:"`` and
``" %10u"`` per CPU (checked against 6.18; older kernels such as those of the
dumps in shared/data printed ``"%*d: "`` and ``"%10u "``, i.e. one more space
before the chip: ``count_trailing_space``), the chip ``" %8s"``, the hwirq ``" %*lu"`` when
the IRQ has a domain, the ``" %-8s"`` Level/Edge column when the kernel has
GENERIC_IRQ_SHOW_LEVEL, the flow ``"-%-8s"``, then ``"  %s"`` for the first
action and ``", %s"`` for each further one.  The x86 rows that follow
(arch/x86/kernel/irq.c ``arch_show_interrupts``) are ``"%*s: "``, ``"%10u "`` per
CPU and ``"  <description>"``; ERR and MIS are ``"%*s: %10u"``.

``/proc/softirqs`` (fs/proc/softirqs.c ``show_softirqs``): 20 spaces and
``"CPU%-8d"`` per possible CPU, then per vector ``"%12s:"`` and ``" %10u"``.
"""

from __future__ import annotations

from irqlab.analysis.report import GLOBAL_ROWS, X86_ROWS, trigger_and_flow
from irqlab.events import SOFTIRQ_NAMES, CounterRow, CounterSnapshot


def irq_prec(nr_irqs: int) -> int:
    """Width of the IRQ-number column for ``nr_irqs`` descriptors: 3, plus one
    per power of ten from 1000 up to ``nr_irqs``, at most 10 (show_interrupts)."""
    prec, j = 3, 1000
    while prec < 10 and j <= nr_irqs:
        prec += 1
        j *= 10
    return prec


def _is_numbered(label: str) -> bool:
    return label.isdigit()


def _irq_line(row: CounterRow, prec: int, count_trailing_space: bool) -> str:
    parts = [f"{row.label:>{prec}}:"]
    parts.extend(f" {c:10d}" for c in row.per_cpu)
    if count_trailing_space:
        parts.append(" ")
    if row.chip is not None:
        parts.append(f" {row.chip:>8}")
    if row.hwirq is not None:
        parts.append(f" {row.hwirq:>{prec}}")
    level, flow = trigger_and_flow(row)
    if level is not None:
        parts.append(f" {level:<8}")
    if flow is not None:
        parts.append(f"-{flow:<8}")
    actions = row.handlers if row.handlers is not None else ([row.name] if row.name else [])
    if actions:
        parts.append("  " + ", ".join(actions))
    return "".join(parts)


def _arch_line(row: CounterRow, prec: int) -> str:
    if row.label in GLOBAL_ROWS:
        return f"{row.label:>{prec}}: {row.total:10d}"
    counts = "".join(f"{c:10d} " for c in row.per_cpu)
    desc = row.name if row.name is not None else X86_ROWS.get(row.label, "")
    return f"{row.label:>{prec}}: {counts}  {desc}"


def render_interrupts(
    snapshot: CounterSnapshot, prec: int | None = None, count_trailing_space: bool = False
) -> str:
    """``/proc/interrupts`` text of ``snapshot``: numbered IRQs ascending, then the
    other rows in their order.  ``prec`` is the IRQ column width the kernel
    derives from nr_irqs (a parser reads it off the header: its leading spaces
    minus 8); by default it is derived as if nr_irqs were the highest IRQ + 1.
    ``count_trailing_space`` selects the older kernels' numbered-row layout."""
    numbered = sorted((r for r in snapshot.rows.values() if _is_numbered(r.label)),
                      key=lambda r: int(r.label))
    if prec is None:
        prec = irq_prec(int(numbered[-1].label) + 1 if numbered else 0)
    lines = [" " * (prec + 8) + "".join(f"CPU{j:<8d}" for j in range(snapshot.cpus))]
    lines.extend(_irq_line(r, prec, count_trailing_space) for r in numbered)
    lines.extend(_arch_line(r, prec) for r in snapshot.rows.values()
                 if not _is_numbered(r.label))
    return "\n".join(lines) + "\n"


def render_softirqs(snapshot: CounterSnapshot) -> str:
    """``/proc/softirqs`` text of ``snapshot`` (kernel vector order first)."""
    names = [n for n in SOFTIRQ_NAMES if n in snapshot.softirqs]
    names += [n for n in snapshot.softirqs if n not in SOFTIRQ_NAMES]
    lines = [" " * 20 + "".join(f"CPU{j:<8d}" for j in range(snapshot.cpus))]
    for name in names:
        lines.append(f"{name:>12}:" + "".join(f" {c:10d}" for c in snapshot.softirqs[name]))
    return "\n".join(lines) + "\n"
