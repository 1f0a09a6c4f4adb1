"""VT-x posted interrupts and VT-d posted-format IRTEs: the hardware only.

* The posted-interrupt descriptor (Intel SDM vol. 3C 29.6 "Posted-Interrupt
  Processing"; Linux ``arch/x86/include/asm/posted_intr.h``): PIR bits 0-255
  (one per vector), ON (outstanding notification, bit 256), SN (suppress
  notification, bit 257), NV (notification vector, bits 279:272), NDST
  (notification destination APIC id, bits 319:288).
* A sender (a VT-d posted IRTE, or a CPU posting an IPI) sets the vector's PIR
  bit; if ON was clear and SN is clear it sets ON and sends NV to NDST.  A bit
  already set stays one bit: interrupts on one vector posted before the PIR is
  read become one.
* The CPU that takes NV in VMX non-root mode, NV being the VMCS's notification
  vector, clears ON and moves PIR into the virtual-APIC page's IRR without a VM
  exit; otherwise NV is an ordinary interrupt to the host.
* A posted-format IRTE (VT-d specification 9.11, IM = bit 15 = 1) names the
  guest's virtual vector and the descriptor's address; URG (bit 14) ignores SN.
"""

from __future__ import annotations

PIR_BITS = 256


class PiDesc:
    """One vCPU's posted-interrupt descriptor."""

    __slots__ = ("coalesced", "ndst", "nv", "on", "pir", "sn")

    def __init__(self, nv: int, ndst: int) -> None:
        self.pir = 0  # bit v: vector v posted and not yet moved to the vIRR
        self.on = False
        self.sn = False
        self.nv = nv
        self.ndst = ndst
        #: posts that found their vector's PIR bit already set
        self.coalesced = 0

    def post(self, vector: int, urgent: bool = False) -> bool:
        """Set PIR[vector]; True when a notification (NV to NDST) must be sent."""
        if not 0 <= vector < PIR_BITS:
            raise ValueError(f"vector {vector} is not a PIR bit (0-255)")
        bit = 1 << vector
        if self.pir & bit:
            self.coalesced += 1
        self.pir |= bit
        if self.on or (self.sn and not urgent):
            return False
        self.on = True
        return True

    def take(self) -> list[int]:
        """Clear ON and PIR, returning the posted vectors (lowest first), as the
        CPU does when it processes the notification or KVM syncs PIR to IRR."""
        pir, self.pir, self.on = self.pir, 0, False
        out = []
        while pir:
            low = pir & -pir
            out.append(low.bit_length() - 1)
            pir ^= low
        return out


class PostedIrte:
    """A VT-d interrupt-remapping entry in posted format: the device's message
    is posted to ``pid`` as guest vector ``vector`` instead of sent to a CPU."""

    __slots__ = ("pid", "sid", "urgent", "vector")

    def __init__(self, sid: int, vector: int, pid: PiDesc, urgent: bool = False) -> None:
        self.sid = sid
        self.vector = vector
        self.pid = pid
        self.urgent = urgent

    def remap(self) -> bool:
        """A message through this entry: posted; True if a notification is due."""
        return self.pid.post(self.vector, self.urgent)
