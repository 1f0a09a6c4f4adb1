"""Interrupt rate over time: interrupts per IRQ (and per x86 vector row) in
time bins, with fixed memory.

An interrupt is counted at the entry of its first action, as ``IrqStats`` counts
them: the further actions of a shared line (``__handle_irq_event_percpu``,
kernel/irq/handle.c, runs them back to back on one CPU) continue it.  The bins
start ``bin_ns`` wide; when a run outgrows ``max_bins`` bins, neighbours are
merged pairwise and the width doubles, so any run length costs at most
``max_bins`` counts per row.
"""

from __future__ import annotations

from irqlab.events import IRQ_ENTRY, SOFTIRQ_ENTRY, VECTOR_ENTRY, VECTOR_ROWS

DEFAULT_BIN_NS = 100_000
DEFAULT_MAX_BINS = 100


class RateTimeline:
    """Event sink: ``feed`` has the signature of :meth:`IrqStats.feed`."""

    def __init__(self, bin_ns: int = DEFAULT_BIN_NS, max_bins: int = DEFAULT_MAX_BINS,
                 start_ns: int | None = None) -> None:
        if bin_ns < 1 or max_bins < 2:
            raise ValueError("bin_ns must be >= 1 and max_bins >= 2")
        self.bin_ns = bin_ns
        self.max_bins = max_bins
        self.start_ns = start_ns
        self.end_ns = start_ns
        self.rows: dict[str, list[int]] = {}
        #: per CPU: (irq, actions run) of the interrupt whose actions may continue
        self._chain: dict[int, tuple[int, set[str]]] = {}

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        """Count one interrupt at the first action's entry (or a vector's entry)."""
        if kind == IRQ_ENTRY:
            chain = self._chain.get(cpu)
            if chain is not None and chain[0] == irq and name not in chain[1]:
                chain[1].add(name)
                return
            self._chain[cpu] = (irq, {name})
            self._count(ts_ns, str(irq))
        elif kind == VECTOR_ENTRY:
            self._chain.pop(cpu, None)
            self._count(ts_ns, VECTOR_ROWS.get(name, name))
        elif kind == SOFTIRQ_ENTRY:
            self._chain.pop(cpu, None)

    def _count(self, ts: int, label: str) -> None:
        if self.start_ns is None:
            self.start_ns = ts
        if self.end_ns is None or ts > self.end_ns:
            self.end_ns = ts
        i = (ts - self.start_ns) // self.bin_ns
        if i < 0:  # out of order before the first event: counted in the first bin
            i = 0
        while i >= self.max_bins:
            self._coarsen()
            i = (ts - self.start_ns) // self.bin_ns
        row = self.rows.get(label)
        if row is None:
            row = self.rows[label] = []
        if len(row) <= i:
            row.extend([0] * (i + 1 - len(row)))
        row[i] += 1

    def _coarsen(self) -> None:
        self.bin_ns *= 2
        for label, row in self.rows.items():
            self.rows[label] = [sum(row[j:j + 2]) for j in range(0, len(row), 2)]

    def per_second(self, end_ns: int | None = None) -> tuple[list[float], dict[str, list[float]]]:
        """``(bin start times in s from the first event, {row: interrupts/s per bin})``,
        every row as long as the run up to ``end_ns`` (default: the last event)."""
        if self.start_ns is None:
            return [], {}
        end = max(end_ns if end_ns is not None else 0, self.end_ns or 0)
        n = max(max((len(r) for r in self.rows.values()), default=0),
                -(-(end - self.start_ns) // self.bin_ns))
        scale = 1e9 / self.bin_ns
        times = [i * self.bin_ns / 1e9 for i in range(n)]
        return times, {label: [c * scale for c in row + [0] * (n - len(row))]
                       for label, row in self.rows.items()}
