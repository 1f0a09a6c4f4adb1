"""The machine's tracepoints: events reach exactly the connected sinks, in
order, and a device's raise becomes an IRQ_RAISE event only while some sink
listens."""

from __future__ import annotations

from irqlab.analysis.irqstats import IrqStats
from irqlab.events import IRQ_ENTRY, IRQ_EXIT, IRQ_RAISE, Tracepoints


class Collect:
    def __init__(self, controller_state: bool = False) -> None:
        self.events: list[tuple] = []
        self.controller_state = controller_state

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        self.events.append((ts_ns, cpu, kind, irq, value, name))


def test_events_reach_exactly_the_connected_sinks() -> None:
    tp = Tracepoints()
    a, b = Collect(), Collect(controller_state=True)
    tp.emit(1, 0, IRQ_ENTRY, 5, 0, "x")  # nobody listens: dropped
    assert not tp.enabled
    tp.connect([a])
    tp.emit(2, 0, IRQ_ENTRY, 5, 0, "x")
    assert not tp.controller_state
    tp.connect([a, b])
    tp.irq_raise(3, 1, 7)
    assert a.events == [(2, 0, IRQ_ENTRY, 5, 0, "x"), (3, 1, IRQ_RAISE, 7, 0, "")]
    assert b.events == [(3, 1, IRQ_RAISE, 7, 0, "")] and tp.enabled and tp.controller_state
    tp.connect([])
    tp.emit(4, 0, IRQ_ENTRY, 5, 0, "x")
    assert len(a.events) == 2 and len(b.events) == 1 and not tp.enabled
    stats = IrqStats(1)
    tp.connect([], stats)
    tp.irq_raise(5, 0, 7)
    assert tp.enabled and stats.last_ts == 5


def test_statistics_called_directly_or_as_a_sink_see_the_same_events() -> None:
    events = [(10, 0, IRQ_RAISE, 7, 0, ""), (15, 0, IRQ_ENTRY, 7, 0, "eth0"),
              (40, 0, IRQ_EXIT, 7, 1, "eth0")]
    runs = []
    for direct in (True, False):
        tp, stats, other = Tracepoints(), IrqStats(1), Collect()
        if direct:
            tp.connect([other], stats)
        else:
            tp.connect([other, stats])
        assert tp.enabled
        for ev in events:
            tp.emit(*ev)
        assert other.events == events
        runs.append((stats.counts, stats.handled, stats.latency_ns["7"].summary(),
                     stats.handler_ns["7"].summary()))
    assert runs[0] == runs[1]
    assert runs[0][0] == {"7": [1]} and runs[0][2]["max"] == 5 and runs[0][3]["max"] == 25


def test_event_kind_ints_are_the_kind_values() -> None:
    """The plain ints the hot path compares (inlined by the compiled build)."""
    import irqlab.events as events

    assert {k.name: getattr(events, k.name) for k in events.Kind} == {k.name: k.value
                                                                      for k in events.Kind}
