"""The machine's tracepoints: events reach exactly the connected sinks, and a
device's raise becomes an IRQ_RAISE event only while some sink listens."""

from __future__ import annotations

from irqlab.events import IRQ_ENTRY, IRQ_RAISE, Tracepoints


def test_events_reach_exactly_the_connected_sinks() -> None:
    tp = Tracepoints()
    a: list[tuple] = []
    b: list[tuple] = []
    tp.emit(1, 0, IRQ_ENTRY, 5, 0, "x")  # nobody listens: dropped
    assert not tp.enabled
    tp.connect([lambda *ev: a.append(ev)])
    tp.emit(2, 0, IRQ_ENTRY, 5, 0, "x")
    tp.connect([lambda *ev: a.append(ev), lambda *ev: b.append(ev)])
    tp.irq_raise(3, 1, 7)
    assert a == [(2, 0, IRQ_ENTRY, 5, 0, "x"), (3, 1, IRQ_RAISE, 7, 0, "")]
    assert b == [(3, 1, IRQ_RAISE, 7, 0, "")] and tp.enabled
    tp.connect([])
    tp.emit(4, 0, IRQ_ENTRY, 5, 0, "x")
    assert len(a) == 2 and len(b) == 1 and not tp.enabled
