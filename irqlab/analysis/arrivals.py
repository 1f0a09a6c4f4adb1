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
* ``softirq_ns``: softirq vector -> run time (``softirq_entry`` to ``softirq_exit``
  less the hard IRQs that interrupted it, as ``/proc/stat`` accounts it) of the
  softirqs this row's handlers raised.  A
  run serves the raises of its vector on its CPU since the previous run
  (``raise_softirq`` only sets a per-CPU pending bit); its time is shared
  equally among them.  Time of runs raised outside any hard IRQ (process
  context, another softirq, or before the capture) goes to ``unraised``.

Rules: an ``IRQ_ENTRY`` on a CPU that has an open entry of the same IRQ, or that
directly follows an exit of the same IRQ's other action, continues the same
interrupt (``__handle_irq_event_percpu`` runs the actions back to back) unless
that action already ran in it; any other entry is a new arrival.  Exits without an entry are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    VECTOR_ROWS,
)


@dataclass
class IrqArrivals:
    """Arrivals of one ``/proc/interrupts`` row (see module docstring)."""

    label: str
    times_ns: list[int] = field(default_factory=list)
    cpus: list[int] = field(default_factory=list)
    handler_ns: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    softirq_ns: dict[int, int] = field(default_factory=dict)


def arrivals(events: Iterable[tuple[int, int, int, int, int, str]],
             unraised: dict[int, int] | None = None) -> dict[str, IrqArrivals]:
    """Per-label arrivals of ``events`` (``Event`` fields, time-ordered per CPU), labels sorted
    numerically first, then by name; each list sorted by arrival time.  Softirq
    run time raised outside hard IRQs is added to ``unraised`` (vector -> ns)."""
    out: dict[str, IrqArrivals] = {}
    # Per (CPU, softirq vector): the labels of the raises since its last run (None:
    # raised outside a hard IRQ).  Per CPU: the running softirq (vector, start,
    # raisers, [hard IRQ time inside the run]) and since when it is in a hard IRQ.
    raised: dict[tuple[int, int], list[str | None]] = {}
    running: dict[int, tuple[int, int, list[str | None], list[int]]] = {}
    hard_since: dict[int, int] = {}
    # Per CPU: stack of open interrupts [label, index into its lists, open entries,
    # actions run], and the interrupt that just closed (label, index, stack depth,
    # actions run), which a next action of the same line not yet run continues.
    stacks: dict[int, list[list]] = {}
    last: dict[int, tuple[str, int, int, set[str]]] = {}
    for ts, cpu, kind, irq, value, name in events:
        if kind in (IRQ_ENTRY, VECTOR_ENTRY):
            label = str(irq) if kind == IRQ_ENTRY else VECTOR_ROWS.get(name, name)
            rec = out.get(label)
            if rec is None:
                rec = out[label] = IrqArrivals(label)
            if name and name not in rec.actions:
                rec.actions.append(name)
            stack = stacks.setdefault(cpu, [])
            if not stack:
                hard_since[cpu] = ts
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
                if not stack and cpu in running:
                    running[cpu][3][0] += ts - hard_since.pop(cpu, ts)
                if kind == IRQ_EXIT:
                    last[cpu] = (label, top[1], len(stack), top[3])
        else:
            last.pop(cpu, None)
            if kind == SOFTIRQ_RAISE:
                inside = stacks.get(cpu)
                raised.setdefault((cpu, value), []).append(inside[-1][0] if inside else None)
            elif kind == SOFTIRQ_ENTRY:
                running[cpu] = (value, ts, raised.pop((cpu, value), []), [0])
            elif kind == SOFTIRQ_EXIT and (run := running.pop(cpu, None)) and run[0] == value:
                _share(out, unraised, value, max(ts - run[1] - run[3][0], 0), run[2])
    for rec in out.values():
        if any(b < a for a, b in zip(rec.times_ns, rec.times_ns[1:], strict=False)):
            order = sorted(range(len(rec.times_ns)), key=rec.times_ns.__getitem__)
            rec.times_ns = [rec.times_ns[i] for i in order]
            rec.cpus = [rec.cpus[i] for i in order]
            rec.handler_ns = [rec.handler_ns[i] for i in order]
    return dict(sorted(out.items(), key=lambda kv: (not kv[0].isdigit(),
                                                    int(kv[0]) if kv[0].isdigit() else 0, kv[0])))


def _share(out: dict[str, IrqArrivals], unraised: dict[int, int] | None, vec: int, ns: int,
           raisers: list[str | None]) -> None:
    """Split a softirq run of ``ns`` equally among the labels that raised it."""
    if not raisers:
        raisers = [None]
    each, extra = divmod(ns, len(raisers))
    for i, label in enumerate(raisers):
        part = each + (i < extra)
        if label is None:
            if unraised is not None:
                unraised[vec] = unraised.get(vec, 0) + part
        else:
            rec = out[label]
            rec.softirq_ns[vec] = rec.softirq_ns.get(vec, 0) + part
