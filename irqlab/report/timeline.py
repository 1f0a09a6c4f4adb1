"""What the timeline exports (Chrome JSON, Perfetto) share: softirq labels,
the interrupt-rate counters' bins, and the flow arrows a device's raise -> the handler that served it -> the
bottom half it raised.

A raise opens a flow that ends at the next entry of that IRQ's handler
(raises coalesced while the line was pending end there too).  A softirq raised
on a CPU opens a flow that ends when that vector next runs on that CPU
(``__raise_softirq_irqoff`` sets a pending bit; ``handle_softirqs`` clears the
bits it runs, kernel/softirq.c).  Ids are small consecutive integers, so a
trace is the same bytes for the same events.  At most :data:`MAX_PENDING`
raises wait on one entry; further raises of a line that is never served (a
disabled, storming line) get no arrow (flow 0), so memory stays bounded.
"""

from __future__ import annotations

from irqlab.analysis.rates import RateTimeline
from irqlab.events import SOFTIRQ_NAMES


def softirq_label(vec: int) -> str:
    """The vector's name (include/linux/interrupt.h order), or ``vecN`` when unknown."""
    return SOFTIRQ_NAMES[vec] if 0 <= vec < len(SOFTIRQ_NAMES) else f"vec{vec}"


MAX_PENDING = 64

RATE_BIN_NS = 1_000_000
"""Bins of the interrupt-rate counters: 1 ms, doubled past :data:`RATE_MAX_BINS`."""
RATE_MAX_BINS = 4096


def rate_timeline() -> RateTimeline:
    """The interrupt-rate counters' timeline (1 ms bins up to a 4 s run)."""
    return RateTimeline(bin_ns=RATE_BIN_NS, max_bins=RATE_MAX_BINS)


class FlowTracker:
    """Pending flows, by IRQ and by (CPU, softirq vector)."""

    def __init__(self) -> None:
        self._next = 1
        self._irq: dict[int, list[int]] = {}
        self._soft: dict[tuple[int, int], list[int]] = {}
        #: per CPU: softirq vectors raised and not yet run
        self.pending_softirqs: dict[int, int] = {}
        #: whether the last raise or run of a softirq changed its CPU's pending count
        self.pending_changed = False

    def _new(self) -> int:
        flow = self._next
        self._next += 1
        return flow

    def raise_irq(self, irq: int) -> int:
        """A device raised ``irq``: the new flow's id (0: none)."""
        flows = self._irq.setdefault(irq, [])
        if len(flows) >= MAX_PENDING:
            return 0
        flows.append(self._new())
        return flows[-1]

    def enter_irq(self, irq: int) -> list[int]:
        """The flows ending at this entry of ``irq``'s handler (none after the
        first action of a shared line)."""
        return self._irq.pop(irq, [])

    def raise_softirq(self, cpu: int, vec: int) -> int:
        """Softirq ``vec`` raised on ``cpu``: the new flow's id (0: none)."""
        flows = self._soft.setdefault((cpu, vec), [])
        self.pending_changed = not flows
        if not flows:
            self.pending_softirqs[cpu] = self.pending_softirqs.get(cpu, 0) + 1
        elif len(flows) >= MAX_PENDING:
            return 0
        flows.append(self._new())
        return flows[-1]

    def enter_softirq(self, cpu: int, vec: int) -> list[int]:
        """The flows ending where ``vec`` starts running on ``cpu``."""
        flows = self._soft.pop((cpu, vec), [])
        self.pending_changed = bool(flows)
        if flows:
            self.pending_softirqs[cpu] -= 1
        return flows
