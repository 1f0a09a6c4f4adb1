"""The posted-interrupt descriptor and posted IRTEs (SDM 29.6, VT-d 9.11),
and the guest's virtual CPU interface (SDM 29.1)."""

from __future__ import annotations

import pytest

from irqlab.hw.apic import Apic
from irqlab.hw.posted import PiDesc, PostedIrte
from irqlab.hw.vcpuif import GuestCpuInterface


def test_only_the_first_post_notifies_until_the_pir_is_taken() -> None:
    pid = PiDesc(nv=0xF2, ndst=1)
    assert pid.post(0x41) is True and pid.on
    assert pid.post(0x42) is False  # ON already set: no second notification
    assert pid.post(0x41) is False and pid.coalesced == 1  # one bit for two posts
    assert pid.take() == [0x41, 0x42]
    assert not pid.on and pid.pir == 0
    assert pid.post(0x41) is True


def test_suppress_notification_holds_the_bits_unless_urgent() -> None:
    pid = PiDesc(nv=0xF2, ndst=1)
    pid.sn = True
    assert pid.post(0x30) is False and not pid.on and pid.pir == 1 << 0x30
    assert pid.post(0x31, urgent=True) is True and pid.on
    with pytest.raises(ValueError, match="not a PIR bit"):
        pid.post(256)


def test_a_posted_irte_posts_its_guest_vector() -> None:
    pid = PiDesc(nv=0xF2, ndst=0)
    irte = PostedIrte(sid=0x0100, vector=0x24, pid=pid)
    assert irte.remap() is True
    assert pid.take() == [0x24]


def test_virtual_interrupts_wait_outside_guest_mode_and_intercepted_eois_cost() -> None:
    apic = Apic(1, entry_ns=200, exit_ns=150)
    vif = GuestCpuInterface(apic, 1)
    exits: list[int] = []
    vif.on_eoi_exit = lambda vcpu, vector: exits.append(vector) or 700
    apic.accept(0, 0x41, False)
    assert not vif.deliverable(0) and vif.pending(0)
    vif.running[0] = True
    assert vif.deliverable(0)
    assert vif.acknowledge(0) == 0x41
    apic.eoi(0)  # a device chip writes the wrapped APIC's EOI
    assert vif.exit_ns(0, False) == 150  # not intercepted (APICv's EOI virtualisation)
    vif.trap_all_eoi = True
    apic.accept(0, 0x41, False)
    vif.acknowledge(0)
    vif.eoi(0)
    assert vif.exit_ns(0, False) == 150 + 700 and exits == [0x41]
    vif.trap_all_eoi = False
    vif.eoi_exit_bitmap = {0xEC}
    apic.accept(0, 0xEC, False)
    vif.acknowledge(0)
    vif.eoi(0)
    assert vif.exit_ns(0, False) == 850 and exits == [0x41, 0xEC]


def test_list_registers_hold_four_and_free_on_deactivation() -> None:
    from irqlab.hw.vgic import ACTIVE, INVALID, PENDING, PENDING_ACTIVE, ListRegisters

    lrs = ListRegisters()
    assert all(lrs.write(v) for v in (27, 40, 41, 42))
    assert lrs.write(43) is False and lrs.used() == 4  # no free register
    assert lrs.write(27) is True and lrs.used() == 4  # already there: stays one register
    assert lrs.acknowledge(27) is False and lrs.state[0] == ACTIVE
    assert lrs.write(27) and lrs.state[0] == PENDING_ACTIVE
    assert lrs.deactivate(27) is False and lrs.state[0] == PENDING  # pending again, still held
    lrs.acknowledge(27)
    assert lrs.deactivate(27) is True and lrs.state[0] == INVALID
    assert lrs.write(8192) and lrs.acknowledge(8192) is True  # an LPI has no active state
    assert lrs.state[0] == INVALID and lrs.state[1] == PENDING
