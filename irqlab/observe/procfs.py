"""Parsers of ``/proc/interrupts`` and ``/proc/softirqs`` into :class:`CounterSnapshot`.

``/proc/interrupts`` (``kernel/irq/proc.c`` ``show_interrupts``): a header of
``CPU%-8d`` for every online CPU, then one row per IRQ with an action:
``"%*d:"``, ``" %10u"`` per CPU, the chip name (``" %8s"``), the hwirq if the IRQ
has a domain (``" %*lu"``), the Level/Edge column where the architecture has
``GENERIC_IRQ_SHOW_LEVEL`` (ARM), ``"-%-8s"`` the flow name, ``"  %s"`` the action
names joined with ``", "``.  Architecture rows follow (``arch_show_interrupts``):
x86 ``NMI``/``LOC``/``RES``/... with a description, the global ``ERR``/``MIS``
single values, ARM ``IPI<n>`` rows and ``Err``.

Layouts read (each has a test fixture):

* current x86 IO-APIC / IR-IO-APIC, PCI-MSI / IR-PCI-MSI, ``PCI-MSIX-<bdf>``
  per-device MSI domains: ``IR-PCI-MSI 512000-edge  ahci[0000:00:1f.2]``;
* ARM GIC / GICv3 / ITS with the Level/Edge column: ``GICv3  27 Level  arch_timer``;
* kernels before hwirq was printed, chip and flow fused: ``IR-PCI-MSI-edge  eth0``,
  ``IO-APIC-level  acpi``; 2.4-style ``XT-PIC  timer`` (chip only);
* old kernels without a chip column at all (``  1:  120365  timer``);
* rows without counts (``FIQ:  usb_fiq``): ``per_cpu`` is empty;
* IPI rows that list more CPUs than the header (32-bit ARM printed every *present*
  CPU there but only *online* ones in the header): all values are kept, so
  ``per_cpu`` is longer than ``cpus`` and ``total`` is the kernel's total;
* annotated dumps: any text before the header line is skipped, and a blank line
  ends the table (text after it is ignored).

``/proc/softirqs`` (``fs/proc/softirqs.c``): header of ``CPU%-8d`` for every
possible CPU, rows ``"%12s:"`` + ``" %10u"`` per CPU.

Per-CPU lists are indexed by column, i.e. by position in the header; ``cpus`` is
the number of header columns.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from irqlab.events import IRQ_FILES, SOFTIRQ_NAMES, CounterRow, CounterSnapshot


class ProcfsError(ValueError):
    """A dump could not be read; ``source`` and ``line`` (1-based) say where."""

    def __init__(self, message: str, source: str, line: int | None = None):
        self.message, self.source, self.line = message, source, line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


_HEADER_RE = re.compile(r"^\s*CPU\d+(?:\s+CPU\d+)*\s*$")
_ROW_RE = re.compile(r"^\s*([^\s:]+):(.*)$")
IRQ_DIGITS = 10
"""Digits of the largest Linux IRQ number (an ``unsigned int``: 4294967295)."""
_COUNT_RE = re.compile(r"\s*(\d{1,20})(?=\s|$)")
"""A count column: at most 20 digits, as a u64 prints (the kernel's counters are
``unsigned int`` or ``u64``); a longer run of digits is not a count."""

# Flow handler names as set by irq_set_chip_and_handler_name() (x86 io_apic.c,
# msi.c, i8259.c "XT"; kernel/irq/chip.c users).  Needed only to split the fused
# "<chip>-<flow>" token of kernels that printed no hwirq.
_FLOWS = ("XT-new", "XT", "edge", "level", "fasteoi", "simple", "percpu", "percpu_devid",
          "edge_eoi", "bad")
_FUSED_RE = re.compile(r"^(\S+?)-(" + "|".join(re.escape(f) for f in _FLOWS) + r")$")
# Current layout: chip, hwirq, optional Level/Edge, optional -flow, names.
_CHIP_HWIRQ_RE = re.compile(
    r"^(?P<chip>\S+)\s+(?P<hwirq>\d+)(?:\s+(?P<level>Level|Edge))?\s*(?:-(?P<flow>\S+))?"
    r"(?:\s+(?P<names>.*))?$"
)


def _names(text: str) -> tuple[str | None, list[str] | None]:
    text = text.strip()
    if not text:
        return None, None
    return text, [n.strip() for n in text.split(", ")]


def _split_counts(rest: str, limit: int | None) -> tuple[list[int], str]:
    """Leading integer columns of ``rest`` (at most ``limit``), and the remainder."""
    counts: list[int] = []
    pos = 0
    while limit is None or len(counts) < limit:
        m = _COUNT_RE.match(rest, pos)
        if not m:
            break
        counts.append(int(m.group(1)))
        pos = m.end()
    return counts, rest[pos:].strip()


def _irq_row(label: str, counts: list[int], tail: str, has_chip: bool) -> CounterRow:
    if not has_chip:
        name, handlers = _names(tail)
        return CounterRow(label, counts, name=name, handlers=handlers)
    m = _CHIP_HWIRQ_RE.match(tail)
    if m:
        level, flow = m.group("level"), m.group("flow")
        name, handlers = _names(m.group("names") or "")
        return CounterRow(label, counts, chip=m.group("chip"), hwirq=m.group("hwirq"),
                          trigger=level or flow, flow=flow, name=name, handlers=handlers)
    first, _, names = tail.partition(" ")
    fused = _FUSED_RE.match(first)
    chip, flow = (fused.group(1), fused.group(2)) if fused else (first or None, None)
    name, handlers = _names(names)
    return CounterRow(label, counts, chip=chip, trigger=flow, flow=flow, name=name,
                      handlers=handlers)


def _table(text: str, source: str) -> tuple[int, int, list[tuple[int, str, str]]]:
    """(CPU count, header line number, [(line number, label, rest)]) of a dump."""
    lines = text.split("\n")  # not splitlines(): binary junk holds \v, \f, \x1c..
    i = next((n for n, line in enumerate(lines) if _HEADER_RE.match(line)), None)
    if i is None:
        raise ProcfsError("no CPU header line (\"CPU0 CPU1 ...\") found", source)
    cpus = len(lines[i].split())
    rows = []
    for j in range(i + 1, len(lines)):
        line = lines[j]
        if not line.strip():
            break
        m = _ROW_RE.match(line)
        if not m:
            raise ProcfsError(f"expected a row '<label>: <counts> ...', got {line.strip()[:60]!r}",
                              source, j + 1)
        rows.append((j + 1, m.group(1), m.group(2)))
    if not rows:
        raise ProcfsError("header but no rows", source, i + 1)
    return cpus, i + 1, rows


def parse_interrupts(text: str, source: str = "<interrupts>") -> CounterSnapshot:
    """Parse a ``/proc/interrupts`` dump (any layout listed in the module docstring)."""
    cpus, _, rows = _table(text, source)
    parsed: list[tuple[int, str, list[int], str]] = []
    for lineno, label, rest in rows:
        if label.isdigit() and len(label) > IRQ_DIGITS:
            raise ProcfsError(f"IRQ {label[:20]}...: not an IRQ number (more than {IRQ_DIGITS} "
                              "digits)", source, lineno)
        # Numbered rows have exactly one count per header CPU; architecture rows
        # (IPIn, ERR, ...) may have more (present > online) or none (FIQ).
        counts, tail = _split_counts(rest, cpus if label.isdigit() else None)
        if label.isdigit() and len(counts) != cpus:
            raise ProcfsError(f"IRQ {label}: {len(counts)} counts for {cpus} CPUs",
                              source, lineno)
        parsed.append((lineno, label, counts, tail))
    # Every IRQ row has an action; a layout with a chip column therefore never
    # leaves a single bare word after the counts, one without it usually does.
    has_chip = not any(
        label.isdigit() and tail and " " not in tail and not _FUSED_RE.match(tail)
        for _, label, _, tail in parsed
    )
    snap = CounterSnapshot(cpus=cpus)
    for lineno, label, counts, tail in parsed:
        if label in snap.rows:
            raise ProcfsError(f"row {label!r} appears twice", source, lineno)
        if label.isdigit():
            snap.rows[label] = _irq_row(label, counts, tail, has_chip)
        else:
            snap.rows[label] = CounterRow(label, counts, name=tail or None)
    return snap


def parse_softirqs(text: str, source: str = "<softirqs>") -> CounterSnapshot:
    """Parse a ``/proc/softirqs`` dump into ``CounterSnapshot.softirqs``."""
    cpus, _, rows = _table(text, source)
    snap = CounterSnapshot(cpus=cpus)
    for lineno, label, rest in rows:
        counts, tail = _split_counts(rest, None)
        if tail or len(counts) != cpus:
            raise ProcfsError(f"softirq {label}: expected {cpus} counts, got {rest.strip()[:60]!r}",
                              source, lineno)
        snap.softirqs[label] = counts
    return snap


def is_softirqs(text: str) -> bool:
    """True if a dump whose header was found is ``/proc/softirqs`` (rows are
    softirq names with counts only), not ``/proc/interrupts``."""
    header_seen = False
    for line in text.split("\n"):
        if header_seen:
            m = _ROW_RE.match(line)
            return m is not None and m.group(1) in SOFTIRQ_NAMES
        header_seen = bool(_HEADER_RE.match(line))
    return False


def has_cpu_header(text: str) -> bool:
    """True if ``text`` has a ``CPU0 CPU1 ...`` header line (either /proc file)."""
    return any(_HEADER_RE.match(line) for line in text.split("\n"))


def read_snapshot(path: str | Path) -> CounterSnapshot:
    """Read a ``/proc/interrupts`` or ``/proc/softirqs`` dump from ``path``;
    an ``interrupts`` file with an ``irq`` directory beside it (``/proc``
    itself, or a copy of it) brings each numbered IRQ's ``/proc/irq/N/`` files."""
    path = Path(path)
    text = path.read_text(errors="replace")
    if is_softirqs(text):
        return parse_softirqs(text, str(path))
    snap = parse_interrupts(text, str(path))
    if (path.parent / "irq").is_dir():
        snap.irq_files = read_irq_files(path.parent / "irq", list(snap.rows))
    return snap


def read_irq_files(irq_dir: Path, labels: list[str],
                   files: tuple[str, ...] = IRQ_FILES) -> dict[str, dict[str, str]]:
    """``files`` of ``irq_dir``/N/ for each numbered label, as printed (the
    final newline dropped); a file a kernel lacks or will not let us read is
    left out."""
    out: dict[str, dict[str, str]] = {}
    for label in labels:
        if not label.isdigit():
            continue
        got = {}
        for name in files:
            with contextlib.suppress(OSError):
                got[name] = (irq_dir / label / name).read_text(errors="replace").rstrip("\n")
        if got:
            out[label] = got
    return out


STAT_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
"""The ``cpuN`` columns of ``/proc/stat`` that add up to a CPU's time
(``fs/proc/stat.c`` ``show_stat``; guest and guest_nice are already in user and
nice), in USER_HZ ticks."""


def parse_stat_cpus(text: str, source: str = "<stat>") -> dict[int, list[int]]:
    """Per CPU, the :data:`STAT_COLUMNS` ticks of the ``cpuN`` lines of
    ``/proc/stat`` (columns a kernel lacks, before 2.6.11 steal, count 0)."""
    out: dict[int, list[int]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        name, _, rest = line.partition(" ")
        if not (name.startswith("cpu") and name[3:].isdigit()):
            continue
        try:
            ticks = [int(x) for x in rest.split()[:len(STAT_COLUMNS)]]
        except ValueError:
            raise ProcfsError(f"{name}: expected tick counts", source, lineno) from None
        out[int(name[3:])] = ticks + [0] * (len(STAT_COLUMNS) - len(ticks))
    return out
