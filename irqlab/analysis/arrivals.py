"""Per-IRQ arrivals and handler costs of a real trace, for ``irqlab replay``.

:func:`arrivals` turns an event stream (any source: irqlab trace, ftrace text)
into a plain mapping ``label -> IrqArrivals``:

* ``label``: the ``/proc/interrupts`` row the interrupt counts in, as in
  :mod:`irqlab.analysis.irqstats`: ``str(irq)`` for device IRQs, the
  ``VECTOR_ROWS`` label (``"LOC"``, ``"RES"``, ``"CAL"``...) for x86 system
  vectors, the tracepoint's base name for vectors without a row.
* ``times_ns``: arrival time of each interrupt = the first handler entry of that
  interrupt (for a shared line, the entry of its first action; later actions of
  the same interrupt on that CPU are not new arrivals), sorted ascending.
* ``cpus``: the CPU each arrival was handled on (same order as ``times_ns``).
* ``handler_ns``: measured cost of each arrival: first entry to last exit of the
  interrupt's actions (for a vector: entry to exit), wall time like bcc
  ``hardirqs``; -1 where the exit is missing (end of capture, lost events).
* ``actions``: action names seen, in order of first appearance (vectors: the
  tracepoint base name, e.g. ``local_timer``).

Rules: an ``IRQ_ENTRY`` on a CPU that has an open entry of the same IRQ, or that
directly follows an exit of the same IRQ's other action, continues the same
interrupt (``__handle_irq_event_percpu`` runs the actions back to back) unless
that action already ran in it; any other entry is a new arrival.  Exits without an entry are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from irqlab.events import IRQ_ENTRY, IRQ_EXIT, VECTOR_ENTRY, VECTOR_EXIT, VECTOR_ROWS


@dataclass
class IrqArrivals:
    """Arrivals of one ``/proc/interrupts`` row (see module docstring)."""

    label: str
    times_ns: list[int] = field(default_factory=list)
    cpus: list[int] = field(default_factory=list)
    handler_ns: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def arrivals(events: Iterable[tuple[int, int, int, int, int, str]]) -> dict[str, IrqArrivals]:
    """Per-label arrivals of ``events`` (``Event`` fields, time-ordered per CPU), labels sorted
    numerically first, then by name; each list sorted by arrival time."""
    out: dict[str, IrqArrivals] = {}
    # Per CPU: stack of open interrupts [label, index into its lists, open entries,
    # actions run], and the interrupt that just closed (label, index, stack depth,
    # actions run), which a next action of the same line not yet run continues.
    stacks: dict[int, list[list]] = {}
    last: dict[int, tuple[str, int, int, set[str]]] = {}
    for ts, cpu, kind, irq, _value, name in events:
        if kind in (IRQ_ENTRY, VECTOR_ENTRY):
            label = str(irq) if kind == IRQ_ENTRY else VECTOR_ROWS.get(name, name)
            rec = out.get(label)
            if rec is None:
                rec = out[label] = IrqArrivals(label)
            if name and name not in rec.actions:
                rec.actions.append(name)
            stack = stacks.setdefault(cpu, [])
            prev = last.pop(cpu, None)
            if kind == IRQ_ENTRY and stack and stack[-1][0] == label:
                stack[-1][2] += 1
                stack[-1][3].add(name)
            elif kind == IRQ_ENTRY and prev is not None and prev[0] == label \
                    and prev[2] == len(stack) and name not in prev[3]:
                stack.append([label, prev[1], 1, prev[3] | {name}])
            else:
                rec.times_ns.append(ts)
                rec.cpus.append(cpu)
                rec.handler_ns.append(-1)
                stack.append([label, len(rec.times_ns) - 1, 1, {name}])
        elif kind in (IRQ_EXIT, VECTOR_EXIT):
            label = str(irq) if kind == IRQ_EXIT else VECTOR_ROWS.get(name, name)
            stack = stacks.get(cpu, [])
            if not stack or stack[-1][0] != label:
                continue
            top = stack[-1]
            rec = out[label]
            rec.handler_ns[top[1]] = ts - rec.times_ns[top[1]]
            top[2] -= 1
            if top[2] == 0:
                stack.pop()
                if kind == IRQ_EXIT:
                    last[cpu] = (label, top[1], len(stack), top[3])
        else:
            last.pop(cpu, None)
    for rec in out.values():
        if any(b < a for a, b in zip(rec.times_ns, rec.times_ns[1:], strict=False)):
            order = sorted(range(len(rec.times_ns)), key=rec.times_ns.__getitem__)
            rec.times_ns = [rec.times_ns[i] for i in order]
            rec.cpus = [rec.cpus[i] for i in order]
            rec.handler_ns = [rec.handler_ns[i] for i in order]
    return dict(sorted(out.items(), key=lambda kv: (not kv[0].isdigit(),
                                                    int(kv[0]) if kv[0].isdigit() else 0, kv[0])))
