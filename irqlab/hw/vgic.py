"""GICv3 list registers, ``ICH_LR<n>_EL2`` (Arm IHI 0069, 12.5.x and 6.4):
how a hypervisor hands virtual interrupts to the virtual CPU interface.

Each register holds one virtual INTID and its state (invalid, pending,
active, pending and active).  The hypervisor writes a pending one into a free
register; the guest's acknowledge (``ICC_IAR1_EL1`` served from the LRs) makes
it active and its EOI / deactivation makes the register invalid again, all
without a trap.  ``ICH_VTR_EL2.ListRegs`` + 1 registers exist per CPU
interface: 4 on the GIC CPU interfaces of Cortex-A57/A72 and Neoverse N1.  An
interrupt that finds no free register stays with the hypervisor, which sets
``ICH_HCR_EL2.UIE`` to get the underflow maintenance interrupt once registers
free up.
"""

from __future__ import annotations

from irqlab.hw.gic import LPI_BASE

INVALID, PENDING, ACTIVE, PENDING_ACTIVE = 0, 1, 2, 3
LIST_REGS = 4


class ListRegisters:
    """One virtual CPU interface's list registers."""

    __slots__ = ("state", "vintid")

    def __init__(self, n: int = LIST_REGS) -> None:
        self.vintid = [0] * n
        self.state = [INVALID] * n

    def _find(self, vintid: int) -> int:
        for i, s in enumerate(self.state):
            if s != INVALID and self.vintid[i] == vintid:
                return i
        return -1

    def write(self, vintid: int) -> bool:
        """Make ``vintid`` pending: in its register if it has one (an active one
        becomes pending and active), else in a free one; False if none is free."""
        i = self._find(vintid)
        if i >= 0:
            self.state[i] |= PENDING
            return True
        for i, s in enumerate(self.state):
            if s == INVALID:
                self.vintid[i] = vintid
                self.state[i] = PENDING
                return True
        return False

    def acknowledge(self, vintid: int) -> bool:
        """The guest read ``vintid`` from the interface: pending -> active; an
        LPI has no active state, so its register is free at once (True)."""
        i = self._find(vintid)
        if i < 0:
            return False
        self.state[i] = INVALID if vintid >= LPI_BASE else ACTIVE
        return self.state[i] == INVALID

    def deactivate(self, vintid: int) -> bool:
        """The guest's EOI (EOImode 0) or DIR: active -> invalid (pending stays);
        True when the register became free."""
        i = self._find(vintid)
        if i < 0:
            return False
        self.state[i] &= PENDING
        return self.state[i] == INVALID

    def used(self) -> int:
        return sum(1 for s in self.state if s != INVALID)
