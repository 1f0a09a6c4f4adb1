"""Cortex-M NVIC personality (irqlab.hw.nvic): priorities, masking, pending-bit
semantics, late arrival and tail-chain costs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irqlab.hw.controller import IrqController
from irqlab.hw.nvic import (
    FIRST_IRQ,
    NMI,
    PENDSV,
    SYSTICK,
    IllegalExceptionReturn,
    Nvic,
    NvicError,
)


def exc(irq: int) -> int:
    return FIRST_IRQ + irq


def make(prios: dict[int, int], **kw: object) -> Nvic:
    """An NVIC with the given IRQn -> priority, all enabled."""
    nvic = Nvic(**kw)  # type: ignore[arg-type]
    for irq, prio in prios.items():
        nvic.enable(irq)
        nvic.set_priority(exc(irq), prio)
    return nvic


def pulse(nvic: Nvic, irq: int) -> None:
    nvic.set_line(irq, True)
    nvic.set_line(irq, False)


def drain(nvic: Nvic) -> list[int]:
    """Take and return from exceptions one at a time until nothing is left."""
    order = []
    while (taken := nvic.acknowledge(0)) != nvic.spurious:
        order.append(taken)
        nvic.eoi(0, taken)
    return order


# -- interface ---------------------------------------------------------------------------
def test_satisfies_irqcontroller_with_exception_numbers() -> None:
    nvic = make({3: 0x40})
    ctrl: IrqController = nvic
    assert (ctrl.name, ctrl.spurious, ctrl.ack_before_entry) == ("NVIC", 0, False)
    assert ctrl.acknowledge(0) == ctrl.spurious  # nothing pending: thread mode
    pulse(nvic, 3)
    assert ctrl.deliverable(0)
    assert ctrl.acknowledge(0) == FIRST_IRQ + 3
    assert nvic.state(FIRST_IRQ + 3) == "active"


def test_notify_on_arrival_enable_and_return() -> None:
    nvic = Nvic()
    calls: list[int] = []
    nvic.attach(calls.append)
    pulse(nvic, 1)  # disabled: pends but cannot be taken
    assert calls == []
    nvic.enable(1)
    assert calls == [0]
    taken = nvic.acknowledge(0)
    nvic.eoi(0, taken)
    assert calls == [0, 0]
    nvic.primask = False  # unmask: the kernel must look again
    assert calls == [0, 0, 0]


# -- priority grouping ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prigroup", "group", "sub"), [(4, 0xA0, 0x10), (5, 0x80, 0x30), (3, 0xB0, 0)]
)
def test_prigroup_splits_group_and_subpriority(prigroup: int, group: int, sub: int) -> None:
    nvic = Nvic(prigroup=prigroup)
    nvic.set_priority(exc(0), 0xB0)  # 4 implemented bits: 1011_0000
    assert nvic.group_priority(exc(0)) == group
    assert nvic.subpriority(exc(0)) == sub
    assert group | sub == 0xB0


def test_priority_keeps_only_implemented_msbs() -> None:
    nvic = Nvic(priority_bits=3)
    nvic.set_priority(exc(0), 0xFF)
    assert nvic.priority(exc(0)) == 0xE0


def test_equal_group_priority_never_preempts_strictly_higher_does() -> None:
    # PRIGROUP 4: group bits [7:5]; 0x50 and 0x40 share group 0x40.
    nvic = make({0: 0x50, 1: 0x40, 2: 0x20}, prigroup=4)
    pulse(nvic, 0)
    assert nvic.acknowledge(0) == exc(0)
    pulse(nvic, 1)  # better subpriority, same group
    assert not nvic.deliverable(0)
    assert nvic.acknowledge(0) == nvic.spurious
    assert nvic.state(exc(1)) == "pending"
    pulse(nvic, 2)
    assert nvic.acknowledge(0) == exc(2)
    assert nvic.execution_priority() == 0x20


def test_precedence_group_then_subpriority_then_number() -> None:
    nvic = make({5: 0x20, 3: 0x50, 7: 0x40, 2: 0x40}, prigroup=4)
    nvic.set_priority(SYSTICK, 0x40)
    nvic.primask = True
    for irq in (3, 7, 2, 5):
        pulse(nvic, irq)
    nvic.set_pending(SYSTICK)
    nvic.primask = False
    # group 0x20 first; in group 0x40 subpriority 0 beats 0x10; ties by number.
    assert drain(nvic) == [exc(5), SYSTICK, exc(2), exc(7), exc(3)]


@settings(max_examples=60, deadline=None)
@given(
    prigroup=st.integers(0, 7),
    prios=st.dictionaries(st.integers(0, 31), st.integers(0, 255), min_size=1, max_size=12),
)
def test_take_order_matches_group_sub_number(prigroup: int, prios: dict[int, int]) -> None:
    nvic = make(prios, prigroup=prigroup)
    nvic.primask = True
    for irq in prios:
        pulse(nvic, irq)
    nvic.primask = False
    stored = {exc(i): p & 0xF0 for i, p in prios.items()}
    gmask = (0xFF << (prigroup + 1)) & 0xFF
    expected = sorted(stored, key=lambda e: (stored[e] & gmask, stored[e] & ~gmask, e))
    assert drain(nvic) == expected


# -- masking registers ------------------------------------------------------------------------
def test_primask_blocks_configurable_priorities_not_nmi() -> None:
    nvic = make({0: 0x00})
    nvic.primask = True
    pulse(nvic, 0)
    assert not nvic.deliverable(0)
    nvic.set_pending(NMI)
    assert nvic.acknowledge(0) == NMI
    nvic.eoi(0, NMI)
    nvic.primask = False
    assert nvic.acknowledge(0) == exc(0)


def test_faultmask_blocks_all_but_nmi_and_return_clears_it() -> None:
    nvic = make({0: 0x00, 1: 0x80})
    pulse(nvic, 1)
    assert nvic.acknowledge(0) == exc(1)
    nvic.faultmask = True
    assert nvic.execution_priority() == -1
    pulse(nvic, 0)
    assert not nvic.deliverable(0)
    nvic.set_pending(NMI)
    assert nvic.acknowledge(0) == NMI
    nvic.eoi(0, NMI)
    assert nvic.faultmask  # a return from NMI keeps FAULTMASK
    nvic.eoi(0, exc(1))
    assert not nvic.faultmask
    assert nvic.acknowledge(0) == exc(0)


def test_basepri_blocks_same_and_lower_priority() -> None:
    nvic = make({0: 0x40, 1: 0x30})
    nvic.basepri = 0x40
    pulse(nvic, 0)
    assert not nvic.deliverable(0)
    pulse(nvic, 1)
    assert nvic.acknowledge(0) == exc(1)
    nvic.eoi(0, exc(1))
    nvic.basepri = 0  # 0 = no masking
    assert nvic.acknowledge(0) == exc(0)


def test_basepri_compares_group_priority() -> None:
    nvic = make({0: 0x40}, prigroup=4)  # group bits [7:5]
    nvic.basepri = 0x50  # group 0x40
    pulse(nvic, 0)
    assert nvic.execution_priority() == 0x40
    assert not nvic.deliverable(0)


def test_basepri_only_implemented_bits_count() -> None:
    nvic = make({0: 0xF0}, priority_bits=4)
    nvic.basepri = 0x0F  # all in unimplemented bits: reads 0, masks nothing
    assert nvic.basepri == 0
    pulse(nvic, 0)
    assert nvic.deliverable(0)
    nvic.basepri = 0xFF
    assert nvic.basepri == 0xF0
    assert not nvic.deliverable(0)


def test_basepri_max_only_raises_masking() -> None:
    nvic = Nvic()
    nvic.set_basepri_max(0x80)  # from 0: any non-zero value raises
    assert nvic.basepri == 0x80
    nvic.set_basepri_max(0xA0)  # lower priority: ignored
    assert nvic.basepri == 0x80
    nvic.set_basepri_max(0)
    assert nvic.basepri == 0x80
    nvic.set_basepri_max(0x20)
    assert nvic.basepri == 0x20


def test_freertos_critical_section_leaves_high_priority_isr_running() -> None:
    # FreeRTOS CM4 port: BASEPRI = configMAX_SYSCALL_INTERRUPT_PRIORITY (0x50 here).
    nvic = make({0: 0x20, 1: 0x60})
    nvic.set_priority(PENDSV, 0xF0)
    nvic.basepri = 0x50
    pulse(nvic, 1)
    pulse(nvic, 0)
    nvic.set_pending(PENDSV)
    assert drain(nvic) == [exc(0)]
    nvic.basepri = 0
    assert drain(nvic) == [exc(1), PENDSV]


# -- pending-bit semantics --------------------------------------------------------------------
def test_single_pending_bit_collapses_pulses() -> None:
    nvic = make({0: 0x40})
    nvic.disable(0)
    for _ in range(5):
        pulse(nvic, 0)
    assert nvic.coalesced == 4
    nvic.enable(0)
    assert drain(nvic) == [exc(0)]


def test_level_source_repends_on_return_while_asserted() -> None:
    nvic = make({0: 0x40})
    nvic.set_line(0, True)
    assert nvic.acknowledge(0) == exc(0)
    assert nvic.state(exc(0)) == "active"  # held high while active: no new pend
    assert nvic.tail_chain_pending(0, exc(0))
    nvic.eoi(0, exc(0))
    assert nvic.state(exc(0)) == "pending"
    assert nvic.acknowledge(0) == exc(0)
    nvic.set_line(0, False)  # the ISR finally cleared the peripheral flag
    assert not nvic.tail_chain_pending(0, exc(0))
    nvic.eoi(0, exc(0))
    assert nvic.state(exc(0)) == "inactive"


def test_pulse_source_counts_only_edges() -> None:
    nvic = make({0: 0x40})
    nvic.set_level_sensitive(0, False)
    nvic.set_line(0, True)  # left high
    assert nvic.acknowledge(0) == exc(0)
    nvic.eoi(0, exc(0))
    assert nvic.state(exc(0)) == "inactive"


def test_pulse_during_active_runs_once_more() -> None:
    nvic = make({0: 0x40})
    nvic.set_level_sensitive(0, False)
    pulse(nvic, 0)
    assert nvic.acknowledge(0) == exc(0)
    pulse(nvic, 0)
    pulse(nvic, 0)
    assert nvic.state(exc(0)) == "active+pending"
    nvic.eoi(0, exc(0))
    assert nvic.state(exc(0)) == "pending"
    assert drain(nvic) == [exc(0)]


def test_clear_pending_semantics() -> None:
    nvic = make({0: 0x40, 1: 0x40})
    nvic.set_line(0, True)  # level still asserted: ICPR has no effect
    nvic.clear_pending(exc(0))
    assert nvic.state(exc(0)) == "pending"
    nvic.set_level_sensitive(1, False)
    pulse(nvic, 1)
    nvic.clear_pending(exc(1))
    assert nvic.state(exc(1)) == "inactive"
    nvic.set_line(0, False)
    assert nvic.acknowledge(0) == exc(0)
    nvic.set_pending(exc(0))
    nvic.clear_pending(exc(0))
    assert nvic.state(exc(0)) == "active"


def test_illegal_exception_return_raises_and_changes_nothing() -> None:
    nvic = make({0: 0x40})
    pulse(nvic, 0)
    with pytest.raises(IllegalExceptionReturn, match="INVPC"):
        nvic.eoi(0, exc(0))
    assert nvic.state(exc(0)) == "pending"


# -- late arrival and tail-chaining ---------------------------------------------------------------
def test_late_arrival_takes_higher_priority_original_stays_pending() -> None:
    nvic = make({0: 0x80, 1: 0x40})
    pulse(nvic, 0)
    assert nvic.deliverable(0)  # the core starts stacking for IRQ0 ...
    pulse(nvic, 1)  # ... and IRQ1 arrives before the vector fetch
    assert nvic.acknowledge(0) == exc(1)
    assert nvic.state(exc(0)) == "pending"
    assert nvic.tail_chain_pending(0, exc(1))
    nvic.eoi(0, exc(1))
    assert nvic.acknowledge(0) == exc(0)


def test_tail_chain_costs_six_cycles_not_exit_plus_entry() -> None:
    clock = 48_000_000
    nvic = make({0: 0x40, 1: 0x80}, clock_hz=clock)
    pulse(nvic, 0)
    pulse(nvic, 1)
    first = nvic.acknowledge(0)
    assert nvic.tail_chain_pending(0, first)
    chained = nvic.exit_ns(0, True) + nvic.entry_ns(0, True)
    assert chained == round(6 * 1e9 / clock)
    full = nvic.exit_ns(0, False) + nvic.entry_ns(0, False)
    assert full == round((10 + 12) * 1e9 / clock)
    assert chained < full


def test_no_tail_chain_when_pending_cannot_preempt_returned_to_context() -> None:
    nvic = make({0: 0x20, 1: 0x40, 2: 0x40})
    pulse(nvic, 1)
    assert nvic.acknowledge(0) == exc(1)
    pulse(nvic, 0)
    assert nvic.acknowledge(0) == exc(0)  # nested
    pulse(nvic, 2)  # same group as the preempted IRQ1
    assert not nvic.tail_chain_pending(0, exc(0))
    nvic.eoi(0, exc(0))  # back to IRQ1's handler, IRQ2 still waits
    assert not nvic.deliverable(0)
    assert nvic.state(exc(2)) == "pending"


def test_back_to_back_interrupts_count_one_tail_chain() -> None:
    """Two interrupts pending together: the first is entered by stacking, the
    second by tail-chaining at the first one's return; nothing arrived late."""
    nvic = make({0: 0x40, 1: 0x40})
    pulse(nvic, 0)
    pulse(nvic, 1)
    nvic.entry_ns(0, False)  # stacking begins for IRQ0 (equal priority: lower number)
    assert nvic.acknowledge(0) == exc(0)
    nvic.eoi(0, exc(0))  # IRQ1 is takeable at the return: tail-chain
    nvic.entry_ns(0, True)
    assert nvic.acknowledge(0) == exc(1)
    nvic.eoi(0, exc(1))  # nothing left: a full return
    assert (nvic.taken[exc(0)], nvic.taken[exc(1)]) == (1, 1)
    assert (nvic.tail_chained[exc(0)], nvic.tail_chained[exc(1)]) == (0, 1)
    assert sum(nvic.late_arrivals) == 0
    pulse(nvic, 0)  # a lone interrupt later: stacked, neither chained nor late
    nvic.entry_ns(0, False)
    assert nvic.acknowledge(0) == exc(0)
    assert (nvic.taken[exc(0)], nvic.tail_chained[exc(0)], nvic.late_arrivals[exc(0)]) == (2, 0, 0)


def test_late_arrival_is_counted_for_the_exception_taken_instead() -> None:
    """A higher-priority interrupt arriving while the core stacks for a lower
    one is a late arrival; the original is tail-chained after it."""
    nvic = make({0: 0x80, 1: 0x40})
    pulse(nvic, 0)
    nvic.entry_ns(0, False)  # stacking begins for IRQ0 ...
    pulse(nvic, 1)  # ... and IRQ1 arrives before the vector fetch
    assert nvic.acknowledge(0) == exc(1)
    assert nvic.late_arrivals[exc(1)] == 1 and nvic.late_arrivals[exc(0)] == 0
    nvic.eoi(0, exc(1))
    nvic.entry_ns(0, True)
    assert nvic.acknowledge(0) == exc(0)
    assert nvic.tail_chained[exc(0)] == 1 and nvic.tail_chained[exc(1)] == 0
    assert nvic.taken[exc(0)] == nvic.taken[exc(1)] == 1


def test_a_return_with_nothing_takeable_does_not_tail_chain() -> None:
    nvic = make({0: 0x20, 1: 0x40})
    pulse(nvic, 1)
    nvic.entry_ns(0, False)
    assert nvic.acknowledge(0) == exc(1)
    pulse(nvic, 0)
    nvic.entry_ns(0, False)  # nested: IRQ0 preempts IRQ1's handler
    assert nvic.acknowledge(0) == exc(0)
    nvic.eoi(0, exc(0))
    nvic.eoi(0, exc(1))
    assert sum(nvic.tail_chained) == 0 and sum(nvic.late_arrivals) == 0
    assert nvic.taken[exc(0)] == nvic.taken[exc(1)] == 1


def test_cycle_overrides() -> None:
    nvic = Nvic(clock_hz=1_000_000_000, entry_cycles=29, tail_chain_cycles=8, exit_cycles=27)
    assert (nvic.entry_ns(0, False), nvic.entry_ns(0, True)) == (29, 8)
    assert (nvic.exit_ns(0, False), nvic.exit_ns(0, True)) == (27, 0)


# -- per-core defaults ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("core", "entry", "tail", "exit_"),
    [
        ("cortex-m0", 16, 6, 16),
        ("cortex-m0+", 15, 6, 15),
        ("cortex-m3", 12, 6, 10),
        ("cortex-m4", 12, 6, 10),
    ],
)
def test_per_core_cycle_defaults(core: str, entry: int, tail: int, exit_: int) -> None:
    nvic = Nvic(core=core, clock_hz=1_000_000_000)
    assert (nvic.entry_cycles, nvic.tail_chain_cycles, nvic.exit_cycles) == (entry, tail, exit_)
    assert nvic.entry_ns(0, False) == entry
    assert nvic.exit_ns(0, False) == exit_


@pytest.mark.parametrize("core", ["cortex-m0", "cortex-m0+"])
def test_armv6m_has_two_priority_bits_and_only_primask(core: str) -> None:
    nvic = Nvic(core=core)
    nvic.set_priority(exc(0), 0xFF)
    assert nvic.priority(exc(0)) == 0xC0
    with pytest.raises(NvicError, match="basepri"):
        nvic.basepri = 0x40
    with pytest.raises(NvicError, match="faultmask"):
        nvic.faultmask = True
    with pytest.raises(NvicError, match="prigroup"):
        nvic.set_prigroup(3)
    with pytest.raises(NvicError, match="num_irqs"):
        Nvic(33, core=core)


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: Nvic(core="cortex-a53"), "unknown core"),
        (lambda: Nvic(241), "num_irqs"),
        (lambda: Nvic(priority_bits=2), "priority_bits"),
        (lambda: Nvic().set_priority(NMI, 0x10), "NMI.*fixed priority"),
        (lambda: Nvic().set_pending(7), "reserved"),
        (lambda: Nvic().set_pending(FIRST_IRQ + 32), "exception number"),
        (lambda: Nvic().enable(32), "IRQn"),
        (lambda: Nvic().set_priority(exc(0), 256), "priority of exception 16"),
        (lambda: Nvic().deliverable(1), "cpu 1"),
        (lambda: Nvic().set_prigroup(8), "prigroup"),
    ],
)
def test_bad_input_names_the_field(call: object, match: str) -> None:
    with pytest.raises(NvicError, match=match):
        call()  # type: ignore[operator]
