"""The lockset rule over declared shared state, and spinlocks in the handler context."""

from __future__ import annotations

import pytest

from irqlab.check.shared import HARDIRQ, PROCESS, SOFTIRQ, Access, Shared
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.spinlock import SpinLock
from tests.kernel.rig import machine


def _shared(*accesses: Access) -> Shared:
    s = Shared("ring")
    for a in accesses:
        s.accesses[a] = 1
    return s


def test_common_irqsave_lock_is_no_race() -> None:
    s = _shared(Access(HARDIRQ, 0, frozenset({"lock"}), False, "a.py:1"),
                Access(SOFTIRQ, 1, frozenset({"lock"}), True, "a.py:9"))
    assert s.problems() == []


def test_bare_bottom_half_access_is_a_race() -> None:
    s = _shared(Access(HARDIRQ, 0, frozenset({"lock"}), False, "a.py:1"),
                Access(PROCESS, 0, frozenset(), False, "a.py:9"))
    [problem] = s.problems()
    assert problem.startswith("race on ring: process access on CPU0 at a.py:9 holds no lock")


def test_plain_spin_lock_in_bottom_half_deadlocks_against_the_top_half() -> None:
    s = _shared(Access(HARDIRQ, 0, frozenset({"lock"}), False, "a.py:1"),
                Access(SOFTIRQ, 0, frozenset({"lock"}), False, "a.py:9"))
    [problem] = s.problems()
    assert problem.startswith("deadlock on ring: softirq code at a.py:9 takes lock without "
                              "spin_lock_irqsave")


def test_one_context_on_one_cpu_needs_no_lock() -> None:
    assert _shared(Access(HARDIRQ, 0, frozenset(), False, "a.py:1")).problems() == []


def test_touch_records_context_locks_and_site() -> None:
    k = machine("[machine]\narch = \"x86\"\ncpus = 1\n").kernel
    k.cpus[0].in_irq = 1  # in a hard-IRQ handler
    ctx = HandlerContext(k, 0)
    lock = SpinLock("ring_lock")
    s = Shared("ring")
    with ctx.spin_lock_irqsave(lock):
        s.touch(ctx)
    assert ctx.locks == []
    [access] = s.accesses
    assert access.context == HARDIRQ and access.locks == {"ring_lock"} and access.irqsave
    assert access.site.endswith(f"test_shared.py:{test_touch_records_context_locks_and_site.__code__.co_firstlineno + 7} in test_touch_records_context_locks_and_site")
    with pytest.raises(TypeError):
        ctx.spin_lock("not a lock")  # type: ignore[arg-type]
