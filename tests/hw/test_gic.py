"""GICv3 personality: one test per architectural behaviour (irqlab.hw.gic)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from irqlab.hw.controller import IrqController
from irqlab.hw.gic import (
    GICD_INT_DEF_PRI,
    IDLE_PRIORITY,
    INTID_SPURIOUS,
    GicV3,
    intid_kind,
)

SPI = 40
OTHER_SPI = 41
LPI = 8192 + 7


def make(cpus: int = 1, **kw: int) -> tuple[GicV3, list[int]]:
    gic = GicV3(cpus, **kw)
    notified: list[int] = []
    gic.attach(notified.append)
    return gic, notified


def raise_edge_spi(gic: GicV3, intid: int, prio: int = GICD_INT_DEF_PRI) -> None:
    gic.set_trigger(intid, level=False)
    gic.set_priority(intid, prio)
    gic.enable(intid)
    gic.set_line(intid, True)
    gic.set_line(intid, False)


def test_controller_identity() -> None:
    ctl: IrqController = GicV3(2, entry_ns=55, exit_ns=33)
    assert (ctl.name, ctl.spurious, ctl.ack_before_entry) == ("GICv3", 1023, False)
    assert (ctl.entry_ns(1, False), ctl.exit_ns(1, True)) == (55, 33)


@pytest.mark.parametrize(
    ("intid", "kind"),
    [
        (0, "SGI"), (15, "SGI"), (16, "PPI"), (31, "PPI"), (32, "SPI"), (1019, "SPI"),
        (1020, "special"), (1023, "special"), (1024, "reserved"), (1056, "EPPI"),
        (4096, "ESPI"), (8191, "reserved"), (8192, "LPI"), ((1 << 24) - 1, "LPI"),
    ],
)
def test_intid_ranges(intid: int, kind: str) -> None:
    assert intid_kind(intid) == kind


@pytest.mark.parametrize("intid", [-1, 1 << 24])
def test_intid_outside_24_bits_rejected(intid: int) -> None:
    with pytest.raises(ValueError, match="INTID"):
        intid_kind(intid)


def test_linux_defaults() -> None:
    gic, _ = make(2)
    # SGIs enabled, SPIs disabled (gic_cpu_config / gic_dist_config).
    gic.send_sgi(3, 0)
    gic.set_line(SPI, True)
    assert gic.highest_pending(0) == 3
    # Default priority 0xa0 shows up as the running priority.
    assert gic.acknowledge(0) == 3
    assert gic.running_priority(0) == 0xA0  # GICD_INT_DEF_PRI
    gic.eoi(0, 3)
    # PMR 0xf0: priority 0xf0 is masked, 0xe8 is not.
    gic.enable(SPI)
    gic.set_priority(SPI, 0xF0)  # DEFAULT_PMR_VALUE
    assert not gic.deliverable(0)
    gic.set_priority(SPI, 0xE8)
    assert gic.deliverable(0)


def test_spurious_read_changes_nothing() -> None:
    gic, _ = make()
    raise_edge_spi(gic, SPI, prio=0xF0)  # masked by PMR 0xf0
    assert gic.acknowledge(0) == INTID_SPURIOUS
    assert gic.state(SPI) == "pending"
    assert gic.running_priority(0) == IDLE_PRIORITY
    assert gic.spurious_reads == 1


def test_eoi_of_spurious_intid_is_ignored() -> None:
    gic, _ = make()
    raise_edge_spi(gic, SPI)
    assert gic.acknowledge(0) == SPI
    gic.eoi(0, INTID_SPURIOUS)
    assert gic.running_priority(0) == 0xA0  # GICD_INT_DEF_PRI
    assert gic.state(SPI) == "active"
    assert gic.ignored_writes == 1


def test_level_dropped_before_iar_reads_spurious() -> None:
    gic, _ = make()
    gic.enable(SPI)
    gic.set_line(SPI, True)
    assert gic.deliverable(0)
    gic.set_line(SPI, False)
    assert gic.acknowledge(0) == INTID_SPURIOUS
    assert gic.state(SPI) == "inactive"


@pytest.mark.parametrize(("pmr", "signalled"), [(0x80, False), (0x88, True)])
def test_pmr_gates_priority_strictly(pmr: int, signalled: bool) -> None:
    gic, notified = make()
    gic.set_pmr(0, 0x00)
    raise_edge_spi(gic, SPI, prio=0x80)
    gic.set_pmr(0, pmr)
    assert gic.deliverable(0) is signalled
    assert (notified == [0]) is signalled
    assert (gic.acknowledge(0) == SPI) is signalled


def test_highest_pending_ignores_pmr() -> None:
    gic, _ = make()
    raise_edge_spi(gic, SPI, prio=0xF8)
    assert not gic.deliverable(0)
    assert gic.highest_pending(0) == SPI


@pytest.mark.parametrize(("bpr", "preempts"), [(0, True), (3, True), (5, False)])
def test_subpriority_never_preempts(bpr: int, preempts: bool) -> None:
    # 0xb0 running, 0xa0 pending: different group priority when the group is
    # bits [7:3] (BPR1 minimum 3 for 5 priority bits; 0 clamps to it), same
    # group 0xa0 when BPR1 = 5 makes it bits [7:5].
    gic, _ = make()
    gic.set_bpr(0, bpr)
    raise_edge_spi(gic, SPI, prio=0xB0)
    assert gic.acknowledge(0) == SPI
    raise_edge_spi(gic, OTHER_SPI, prio=0xA0)
    assert gic.deliverable(0) is preempts
    assert (gic.acknowledge(0) == OTHER_SPI) is preempts


def test_equal_priority_does_not_preempt() -> None:
    gic, notified = make()
    raise_edge_spi(gic, SPI, prio=0xA0)
    assert gic.acknowledge(0) == SPI
    notified.clear()
    raise_edge_spi(gic, OTHER_SPI, prio=0xA0)
    assert not gic.deliverable(0)
    assert notified == []
    gic.eoi(0, SPI)  # the priority drop lets it through
    assert notified == [0]
    assert gic.acknowledge(0) == OTHER_SPI


def test_running_priority_unwinds_nested_eois() -> None:
    gic, _ = make()
    raise_edge_spi(gic, SPI, prio=0xB0)
    assert gic.acknowledge(0) == SPI
    raise_edge_spi(gic, OTHER_SPI, prio=0x80)
    assert gic.acknowledge(0) == OTHER_SPI
    assert gic.running_priority(0) == 0x80
    gic.eoi(0, OTHER_SPI)
    assert gic.running_priority(0) == 0xB0
    gic.eoi(0, SPI)
    assert gic.running_priority(0) == IDLE_PRIORITY


def test_running_priority_is_group_priority() -> None:
    gic, _ = make()
    gic.set_bpr(0, 5)  # group priority = bits [7:5]
    raise_edge_spi(gic, SPI, prio=0xB8)
    gic.acknowledge(0)
    assert gic.running_priority(0) == 0xA0


def test_unimplemented_priority_bits_read_as_zero() -> None:
    # With 5 bits 0xa7 and 0xa1 are both 0xa0, so neither outranks the other
    # and the lower INTID is taken first; 0xa1 would win with 8 bits.
    gic, _ = make(priority_bits=5)
    raise_edge_spi(gic, SPI, prio=0xA7)
    raise_edge_spi(gic, OTHER_SPI, prio=0xA1)
    assert gic.acknowledge(0) == SPI
    assert gic.running_priority(0) == 0xA0


def test_unimplemented_pmr_bits_read_as_zero() -> None:
    gic, _ = make(priority_bits=5)
    raise_edge_spi(gic, SPI, prio=0xA0)
    gic.set_pmr(0, 0xA7)  # reads back as 0xa0: 0xa0 is not below it
    assert not gic.deliverable(0)


def test_eoimode0_eoi_deactivates() -> None:
    gic, _ = make(eoi_mode=0)
    raise_edge_spi(gic, SPI)
    gic.acknowledge(0)
    gic.eoi(0, SPI)
    assert gic.state(SPI) == "inactive"
    assert gic.running_priority(0) == IDLE_PRIORITY


def test_eoimode0_dir_is_ignored() -> None:
    gic, _ = make(eoi_mode=0)
    raise_edge_spi(gic, SPI)
    gic.acknowledge(0)
    gic.deactivate(0, SPI)
    assert gic.state(SPI) == "active"
    assert gic.ignored_writes == 1


def test_eoimode1_same_intid_waits_for_dir_others_do_not() -> None:
    gic, _ = make(eoi_mode=1)
    raise_edge_spi(gic, SPI)
    assert gic.acknowledge(0) == SPI
    gic.eoi(0, SPI)
    assert gic.running_priority(0) == IDLE_PRIORITY
    assert gic.state(SPI) == "active"
    raise_edge_spi(gic, SPI)
    raise_edge_spi(gic, OTHER_SPI)
    assert gic.state(SPI) == "active+pending"
    assert gic.acknowledge(0) == OTHER_SPI
    gic.eoi(0, OTHER_SPI)
    gic.deactivate(0, OTHER_SPI)
    assert gic.acknowledge(0) == INTID_SPURIOUS
    gic.deactivate(0, SPI)
    assert gic.state(SPI) == "pending"
    assert gic.acknowledge(0) == SPI


@pytest.mark.parametrize("eoi_mode", [0, 1])
@pytest.mark.parametrize("still_high", [True, False])
def test_level_line_resampled_at_deactivate(eoi_mode: int, still_high: bool) -> None:
    gic, notified = make(eoi_mode=eoi_mode)
    gic.enable(SPI)  # SPIs are level-triggered by default
    gic.set_line(SPI, True)
    assert gic.acknowledge(0) == SPI
    assert gic.state(SPI) == "active+pending"  # the line is still asserted
    gic.set_line(SPI, still_high)
    notified.clear()
    gic.eoi(0, SPI)
    if eoi_mode:
        gic.deactivate(0, SPI)
    assert gic.state(SPI) == ("pending" if still_high else "inactive")
    assert (0 in notified) is still_high


def test_edge_line_held_high_is_one_edge() -> None:
    gic, _ = make()
    gic.set_trigger(SPI, level=False)
    gic.enable(SPI)
    gic.set_line(SPI, True)
    assert gic.acknowledge(0) == SPI
    gic.set_line(SPI, True)  # no low-to-high transition
    assert gic.state(SPI) == "active"
    gic.eoi(0, SPI)  # an edge INTID is not re-sampled at deactivate
    assert gic.acknowledge(0) == INTID_SPURIOUS
    assert gic.merged == 0


@pytest.mark.parametrize("edges", [1, 5])
def test_edges_during_active_give_exactly_one_more_run(edges: int) -> None:
    gic, _ = make()
    raise_edge_spi(gic, SPI)
    assert gic.acknowledge(0) == SPI
    for _ in range(edges):
        gic.set_line(SPI, True)
        gic.set_line(SPI, False)
    assert gic.state(SPI) == "active+pending"
    assert gic.merged == edges - 1
    gic.eoi(0, SPI)
    runs = 0
    while (intid := gic.acknowledge(0)) != INTID_SPURIOUS:
        assert intid == SPI
        runs += 1
        gic.eoi(0, intid)
    assert runs == 1


@pytest.mark.parametrize("eoi_mode", [0, 1])
def test_lpi_has_no_active_state(eoi_mode: int) -> None:
    gic, _ = make(eoi_mode=eoi_mode)
    gic.enable(LPI)
    gic.set_priority(LPI, 0x90)
    gic.send_lpi(LPI, 0)
    assert gic.state(LPI) == "pending"
    assert gic.acknowledge(0) == LPI
    assert gic.state(LPI) == "inactive"
    assert gic.running_priority(0) == 0x90
    gic.send_lpi(LPI, 0)  # can pend again at once, but cannot preempt itself
    assert not gic.deliverable(0)
    gic.deactivate(0, LPI)  # DIR of an LPI is ignored
    assert gic.running_priority(0) == 0x90
    gic.eoi(0, LPI)  # priority drop only
    assert gic.running_priority(0) == IDLE_PRIORITY
    assert gic.acknowledge(0) == LPI


def test_its_routes_an_lpi_to_its_mapped_redistributor() -> None:
    gic, notified = make(cpus=2)
    gic.enable(LPI)
    gic.its_translate(LPI)
    assert gic.its_unmapped == 1 and notified == [], "an unmapped event is dropped"
    gic.map_lpi(LPI, 1)
    gic.its_translate(LPI)
    assert notified == [1] and gic.state(LPI, 1) == "pending"


def test_movi_moves_a_pending_lpi_with_its_route() -> None:
    """MOVI (QEMU gicv3_redist_mov_lpi): pending state follows the LPI."""
    gic, notified = make(cpus=2)
    gic.enable(LPI)
    gic.map_lpi(LPI, 0)
    gic.set_priority(0, 0x80)  # SGI 0 keeps CPU0 busy at a higher priority
    gic.enable(0, 0)
    gic.send_sgi(0, 0)
    assert gic.acknowledge(0) == 0
    gic.its_translate(LPI)  # pending on CPU0, held back by the running SGI
    assert gic.state(LPI, 0) == "pending" and not gic.deliverable(0)
    notified.clear()
    gic.move_lpi(LPI, 1)
    assert (gic.state(LPI, 0), gic.state(LPI, 1)) == ("inactive", "pending")
    assert notified == [1] and gic.acknowledge(1) == LPI
    gic.its_translate(LPI)
    assert gic.state(LPI, 1) == "pending", "later events follow the new route"


def test_sgi_is_banked_per_cpu() -> None:
    gic, notified = make(cpus=2)
    gic.send_sgi(1, 1)
    assert notified == [1]
    assert (gic.state(1, cpu=0), gic.state(1, cpu=1)) == ("inactive", "pending")
    assert gic.acknowledge(0) == INTID_SPURIOUS
    assert gic.acknowledge(1) == 1


def test_ppi_is_banked_per_cpu() -> None:
    gic, _ = make(cpus=2)
    gic.enable(27)  # every CPU's copy
    gic.disable(27, cpu=1)
    gic.set_line(27, True, cpu=0)
    gic.set_line(27, True, cpu=1)
    assert gic.acknowledge(0) == 27
    assert gic.acknowledge(1) == INTID_SPURIOUS
    assert (gic.state(27, cpu=0), gic.state(27, cpu=1)) == ("active+pending", "pending")


def test_spi_routed_to_its_cpu() -> None:
    gic, notified = make(cpus=3)
    gic.route(SPI, 2)
    raise_edge_spi(gic, SPI)
    assert notified == [2]
    assert gic.acknowledge(0) == INTID_SPURIOUS
    assert gic.acknowledge(2) == SPI


def test_rerouting_moves_a_pending_spi() -> None:
    gic, notified = make(cpus=2)
    raise_edge_spi(gic, SPI)
    notified.clear()
    gic.route(SPI, 1)
    assert notified == [1]
    assert not gic.deliverable(0)
    assert gic.acknowledge(1) == SPI


@pytest.mark.parametrize("intid", [SPI, LPI])
def test_disable_blocks_delivery_pending_stays_latched(intid: int) -> None:
    gic, notified = make()
    if intid == LPI:
        gic.enable(LPI)
        gic.send_lpi(LPI, 0)
    else:
        raise_edge_spi(gic, SPI)
    gic.disable(intid)
    assert gic.state(intid) == "pending"
    assert gic.acknowledge(0) == INTID_SPURIOUS
    notified.clear()
    gic.enable(intid)
    assert notified == [0]
    assert gic.acknowledge(0) == intid


def test_set_pending_latch_is_cleared_by_iar() -> None:
    # ISPENDR on a level SPI whose line is low (Linux gic_retrigger): taken
    # once, and not pending again at deactivate.
    gic, notified = make()
    gic.enable(SPI, cpu=0)  # the distributor is not banked: cpu is ignored
    gic.set_pending(SPI)
    assert notified == [0]
    assert gic.acknowledge(0) == SPI
    assert gic.state(SPI) == "active"
    gic.eoi(0, SPI)
    assert gic.state(SPI) == "inactive"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda g: g.set_trigger(3, level=True), "edge only"),
        (lambda g: g.set_priority(SPI, 0x100), "priority"),
        (lambda g: g.set_pmr(2, 0xF0), "cpu 2"),
        (lambda g: g.set_bpr(0, 8), "BPR"),
        (lambda g: g.route(27, 1), "not an SPI"),
        (lambda g: g.set_line(3, True), "send_sgi"),
        (lambda g: g.set_line(27, True), "give cpu="),
        (lambda g: g.enable(SPI, cpu=2), "cpu 2"),
        (lambda g: g.set_pending(LPI), "cpu="),
        (lambda g: g.enable(1022), "special"),
        (lambda g: g.send_lpi(SPI, 0), "not an LPI"),
        (lambda g: g.eoi(0, 5000), "ESPI"),
    ],
)
def test_bad_input_is_named(call: Callable[[GicV3], object], match: str) -> None:
    gic, _ = make(cpus=2)
    with pytest.raises(ValueError, match=match):
        call(gic)
