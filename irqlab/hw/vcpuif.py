"""The interrupt controller as a guest's vCPUs see it: the virtual-APIC page
(Intel SDM vol. 3C 29.1: vIRR, vISR and the virtual PPR live in a page the CPU
reads in VMX non-root mode) or the GIC's virtual CPU interface (GICv3
ICH_LR<n>_EL2 and ICC_* accesses at EL1 served from them).

It wraps the guest's controller model (``Apic`` or ``GicV3``, holding the
virtual state) and adds what the hardware does around it:

* a vCPU takes virtual interrupts only while it runs in guest mode
  (``running``): outside it, they wait in the virtual IRR / list registers
  until the next VM entry;
* an EOI write that the VMCS intercepts (the EOI-exit bitmap, or the x2APIC
  EOI MSR in the MSR bitmap; ``ICH_HCR_EL2.TALL1`` traps on arm64) is a VM
  exit: ``on_eoi_exit(vcpu, vector)`` tells the hypervisor, which returns the
  exit's round-trip cost; the vCPU pays it when its interrupt returns, as the
  guest sees an EOI instruction that took that long (x86 device chips write
  the wrapped APIC's EOI directly: its ISR bit, cleared by the return, tells).

* on a GIC with list registers (``irqlab.hw.vgic``) the acknowledge and the
  deactivation update the vCPU's registers, as the virtual CPU interface does,
  and a register coming free is reported (``on_lr_free``).

Everything else is the wrapped controller's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from irqlab.hw.apic import Apic
from irqlab.hw.controller import Notify, NotifySink
from irqlab.hw.vgic import ListRegisters


class GuestCpuInterface:
    """``IrqController`` of a guest (duck-typed: it wraps a compiled model)."""

    def __init__(self, inner: Any, vcpus: int) -> None:
        self.inner = inner
        self.running = [False] * vcpus
        #: every EOI exits (the x2APIC EOI MSR intercepted; ICH_HCR_EL2.TALL1)
        self.trap_all_eoi = False
        #: vectors whose EOI exits all the same (APICv's EOI-exit bitmap, SDM 24.6.8)
        self.eoi_exit_bitmap: set[int] = set()
        self.on_eoi_exit: Callable[[int, int], int] = lambda vcpu, vector: 0
        #: a GICv3's list registers per vCPU (the hypervisor's ``vgic``), if used
        self.lrs: list[ListRegisters] | None = None
        #: a list register of ``vcpu`` became free (the underflow maintenance condition)
        self.on_lr_free: Callable[[int], None] = lambda vcpu: None
        self._taken: list[list[int]] = [[] for _ in range(vcpus)]  # acknowledged, not yet returned
        self._eoied: list[set[int]] = [set() for _ in range(vcpus)]  # EOIs written through here
        self._apic = isinstance(inner, Apic)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def spurious(self) -> int:
        return int(self.inner.spurious)

    @property
    def ack_before_entry(self) -> bool:
        return bool(self.inner.ack_before_entry)

    def attach(self, notify: Notify | NotifySink) -> None:
        self.inner.attach(notify)

    def deliverable(self, cpu: int) -> bool:
        return self.running[cpu] and bool(self.inner.deliverable(cpu))

    def pending(self, cpu: int) -> bool:
        """A virtual interrupt waits for this vCPU (KVM's ``kvm_cpu_has_interrupt``)."""
        return bool(self.inner.deliverable(cpu))

    def acknowledge(self, cpu: int) -> int:
        vector = int(self.inner.acknowledge(cpu))
        if vector != self.inner.spurious:
            self._taken[cpu].append(vector)
            if self.lrs is not None and self.lrs[cpu].acknowledge(vector):
                self.on_lr_free(cpu)
        return vector

    def eoi(self, cpu: int, intid: int = 0) -> None:
        # The x2APIC EOI register clears the highest in-service vector, whatever was written.
        vector = (self.inner.in_service(cpu) or [-1])[0] if self._apic else intid
        self.inner.eoi(cpu, intid)
        self._eoied[cpu].add(vector)
        if not getattr(self.inner, "eoi_mode", 0):
            self._deactivated(cpu, intid)

    def deactivate(self, cpu: int, intid: int) -> None:
        self.inner.deactivate(cpu, intid)
        self._deactivated(cpu, intid)

    def _deactivated(self, cpu: int, intid: int) -> None:
        if self.lrs is not None and self.lrs[cpu].deactivate(intid):
            self.on_lr_free(cpu)

    def entry_ns(self, cpu: int, tail_chain: bool) -> int:
        return int(self.inner.entry_ns(cpu, tail_chain))

    def exit_ns(self, cpu: int, tail_chain: bool) -> int:
        """The return from the interrupt last acknowledged on ``cpu``; if its EOI
        was written meanwhile and is intercepted, the exit's round trip too."""
        cost = int(self.inner.exit_ns(cpu, tail_chain))
        taken = self._taken[cpu]
        if not taken:
            return cost
        vector = taken.pop()
        eoied = self._eoied[cpu]
        # A device's chip may write the EOI to the wrapped APIC itself: its ISR bit tells.
        if vector in eoied or (self._apic and vector not in self.inner.in_service(cpu)):
            eoied.discard(vector)
            if self.trap_all_eoi or vector in self.eoi_exit_bitmap:
                cost += self.on_eoi_exit(cpu, vector)
        return cost
