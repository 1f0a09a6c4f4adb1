"""A vCPU: a guest kernel's CPU that runs only while its host CPU is in guest
mode (VMX non-root, EL1 under EL2).

States (KVM's, ``arch/x86/kvm/x86.c`` ``vcpu_run``):

* ``GUEST``: in guest mode; the guest's time runs and its virtual interrupts
  are delivered;
* ``ROOT``: exited, the host handles the exit or an interrupt on its CPU; the
  guest's time stands still (a *stall*: a segment on the guest CPU that the
  VM entry ends) and virtual interrupts wait for the entry;
* ``PREEMPTED``: a host thread has the host CPU (``kvm_sched_out``);
* ``BLOCKED``: halted (HLT / WFI exit, ``kvm_vcpu_block``) until an interrupt
  for it arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.kernel.cpu import IDLE

if TYPE_CHECKING:
    from irqlab.hw.device import Signal
    from irqlab.hw.posted import PiDesc
    from irqlab.hw.vcpuif import GuestCpuInterface
    from irqlab.kernel.cpu import Cpu

GUEST, ROOT, PREEMPTED, BLOCKED = 0, 1, 2, 3
#: a stall has no length of its own: the VM entry ends it
STALL_NS = 1 << 62


class Vcpu:
    __slots__ = ("ap_list", "cpu", "entering", "gen", "index", "inject_pending", "intc", "pcpu",
                 "pid", "stalled", "state", "woken")

    def __init__(self, index: int, pcpu: int, cpu: Cpu, intc: GuestCpuInterface,
                 pid: PiDesc | None) -> None:
        self.index = index
        self.pcpu = pcpu  # the host CPU it runs on
        self.cpu = cpu  # the guest kernel's CPU
        self.intc = intc
        self.pid = pid  # its posted-interrupt descriptor (posted mode)
        self.state = ROOT  # not entered yet
        self.entering = False  # a VM entry is under way
        self.gen = 0  # generation of the entry under way (a later exit cancels it)
        self.inject_pending = False  # the entry injects a virtual interrupt
        self.woken = False  # the entry follows a wake-up from BLOCKED
        self.stalled = False
        #: virtual interrupts waiting for a free list register (KVM's ap_list)
        self.ap_list: list[tuple[int, Signal]] = []

    def leave(self, state: int) -> None:
        """Leave guest mode for ``state``: virtual interrupts wait from now on."""
        self.state = state
        self.intc.running[self.index] = False

    def stall(self) -> None:
        """Stop the guest's time until the VM entry (``run``).  Asked from the
        guest's own code running inline (an EOI, a timer armed in a handler),
        the stall starts when that code has reached its next segment."""
        if self.stalled:
            return
        self.stalled = True
        if self.cpu.in_kernel:
            self.cpu.engine.after(0, self._stall)
        else:
            self._stall()

    def _stall(self, _: object = None) -> None:
        self.cpu.exec(IDLE, STALL_NS, self._unstalled)

    def _unstalled(self, _: object) -> None:
        self.stalled = False

    def run(self) -> None:
        """The VM entry is done: guest mode; pending virtual interrupts are taken."""
        self.state = GUEST
        self.intc.running[self.index] = True
        cur = self.cpu.cur
        if self.stalled and cur is not None and cur.cont == self._unstalled:
            self.cpu.end_segment()
        else:
            self.cpu.kick()
