"""The event core (irqlab.sim.engine): integer-ns clock, FIFO ties, stop conditions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from irqlab.hw.controller import LineSink
from irqlab.hw.device import Device, EdgeSignal, Wire
from irqlab.sim.engine import Engine, StopSimulation


def recorder(engine: Engine, log: list[tuple[int, Any]]) -> Callable[[Any], None]:
    def record(arg: Any) -> None:
        log.append((engine.now, arg))

    return record


def test_clock_is_integer_ns_and_advances_to_each_event() -> None:
    e = Engine()
    log: list[tuple[int, Any]] = []
    rec = recorder(e, log)
    e.at(1_500, rec, "a")
    e.at(7, rec, "b")
    e.after(3_000_000_000, rec, "c")  # 3 s: exact in ns, no float drift
    e.run()
    assert log == [(7, "b"), (1_500, "a"), (3_000_000_000, "c")]
    assert all(type(t) is int for t, _ in log)
    assert type(e.now) is int and e.now == 3_000_000_000


def test_after_is_relative_to_the_current_event() -> None:
    e = Engine()
    log: list[tuple[int, Any]] = []
    rec = recorder(e, log)
    e.at(100, lambda _: e.after(25, rec, "later"))
    e.run()
    assert log == [(125, "later")]


def test_equal_times_run_in_scheduling_order() -> None:
    e = Engine()
    order: list[int] = []
    # Scheduled in descending order, so neither callback nor argument can stand
    # in for the scheduling order.
    for i in range(50, 0, -1):
        e.at(10, order.append, i)
    e.at(5, lambda _: [e.at(10, order.append, -j) for j in range(3)])
    e.run()
    assert order == [*range(50, 0, -1), 0, -1, -2]


def test_run_until_is_inclusive_and_leaves_later_events_queued() -> None:
    e = Engine()
    log: list[tuple[int, Any]] = []
    rec = recorder(e, log)
    for t in (10, 20, 30):
        e.at(t, rec, t)
    assert e.run(until_ns=20) == 2
    assert log == [(10, 10), (20, 20)]
    assert e.now == 20
    assert e.run(until_ns=100) == 1
    assert log[-1] == (30, 30)
    assert e.now == 100, "an idle stretch still moves the clock to the end of the run"
    assert e.processed == 3


def test_run_stops_after_max_events() -> None:
    e = Engine()
    log: list[tuple[int, Any]] = []
    rec = recorder(e, log)
    for t in range(1, 11):
        e.at(t * 10, rec, t)
    assert e.run(until_ns=1_000, max_events=4) == 4
    assert [a for _, a in log] == [1, 2, 3, 4]
    assert e.now == 40, "stopped by the event budget: the clock stays at the last event"
    assert len(e.queue) == 6


def test_stop_simulation_ends_the_run_with_its_reason() -> None:
    e = Engine()
    ran: list[int] = []

    def bug(_: Any) -> None:
        raise StopSimulation("kernel BUG at 50")

    e.at(10, ran.append, 10)
    e.at(50, bug)
    e.at(60, ran.append, 60)
    assert e.run(until_ns=1_000) == 2
    assert ran == [10]
    assert e.now == 50
    assert e.stop_reason == "kernel BUG at 50"
    assert len(e.queue) == 1


def test_progress_is_called_every_65536_events() -> None:
    e = Engine()
    calls: list[tuple[int, int]] = []

    def tick(t: Any) -> None:
        if t < 140_000:
            e.at(t + 1, tick, t + 1)

    e.at(1, tick, 1)
    e.run(progress=lambda now, n: calls.append((now, n)))
    assert calls == [(65_536, 65_536), (131_072, 131_072)]


@given(st.lists(st.tuples(st.integers(0, 50), st.lists(st.integers(0, 20), max_size=3)),
                min_size=1, max_size=60))
def test_events_run_in_time_then_scheduling_order(plan: list[tuple[int, list[int]]]) -> None:
    """Against a sort by (time, order scheduled): events scheduled up front and
    from callbacks (delays 0 included), many at the same nanosecond."""
    e = Engine()
    ran: list[int] = []
    expected: list[tuple[int, int, int]] = []  # (time, order scheduled, id)

    def schedule(time_ns: int, children: list[int]) -> None:
        ident = len(expected)
        expected.append((time_ns, ident, ident))

        def fire(_: Any) -> None:
            ran.append(ident)
            for delay in children:
                schedule(e.now + delay, [])

        e.at(time_ns, fire)

    for time_ns, children in plan:
        schedule(time_ns, children)
    e.run()
    assert ran == [ident for _, _, ident in sorted(expected)]
    assert not e.queue


def test_timers_and_callbacks_run_in_one_order() -> None:
    """``at_timer`` events (a device's arrivals: ``Device`` is a Timer) take
    their turn among callbacks by time, then by the order scheduled."""
    e = Engine()
    seen: list[tuple[str, int]] = []

    class Line(LineSink):
        def set_line(self, hwirq: int, level: bool, cpu: int | None = None) -> None:
            if level:
                seen.append(("arrival", e.now))

    dev = Device(e, "d", EdgeSignal(Wire(Line(), 0)), None)
    e.at(10, lambda _: seen.append(("first", e.now)))
    e.at_timer(10, dev)
    e.at(10, lambda _: seen.append(("last", e.now)))
    e.at_timer(5, dev)
    e.run()
    assert seen == [("arrival", 5), ("first", 10), ("arrival", 10), ("last", 10)]
    assert dev.raised == 2
