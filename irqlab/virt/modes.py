"""Injection modes: what exits and what the hardware delivers by itself.

Exit reasons are named as ``perf kvm stat`` names them: x86 from
``arch/x86/include/uapi/asm/vmx.h`` ``VMX_EXIT_REASONS``, arm64 from the
exception classes and types of ``arch/arm64/include/asm/kvm_arm.h`` /
``kvm_asm.h`` (``IRQ`` for a physical interrupt, ``WFx`` for WFI, ``SYS64`` for
a trapped system-register access such as ``ICC_EOIR1_EL1``).

==============  ==========================  ==========  ===========  ====================
mode            assigned interrupt          its EOI     exits        source
==============  ==========================  ==========  ===========  ====================
emulated        host IRQ exit, injected     exits       2            KVM without APICv
apicv           host IRQ exit, injected     virtual     1            SDM 29.1-29.2
posted          posted (PIR), no exit       virtual     0            SDM 29.6, VT-d 9.11
eli-partial     shadow IDT, no exit         exits       1            ELI, ASPLOS 2012
eli-full        shadow IDT, no exit         physical    0            ELI, ASPLOS 2012
vgic (arm64)    host IRQ exit, list reg.    virtual     1            GICv3 ICH_LR<n>_EL2
emulated arm64  host IRQ exit, injected     exits       2            trapped ICC_* access
==============  ==========================  ==========  ===========  ====================

Every other interrupt exits in every mode: the host's timer, IPIs and devices
(EXTERNAL_INTERRUPT; under ELI the shadow IDT's not-present entry raises #NP,
EXCEPTION_NMI), the guest's own timer (PREEMPTION_TIMER: KVM runs the guest's
TSC-deadline timer on the VMX-preemption timer; arm64: the timer's IRQ), and a
halted vCPU (HLT / WFx).  The EOI of an injected (virtual) interrupt exits
unless the APIC or GIC is virtualised (ELI keeps it intercepted: the physical
APIC must not see it).
"""

from __future__ import annotations

from dataclasses import dataclass

#: how an assigned device's message reaches the guest
HOST, POSTED, ELI = "host", "posted", "eli"


@dataclass(frozen=True)
class Mode:
    name: str
    #: HOST: the host takes it and injects it; POSTED: VT-d posts it; ELI: the
    #: physical interrupt goes to the guest's handler while the guest runs
    path: str
    #: the guest's EOI of an assigned vector / of an injected one exits
    eoi_exits_assigned: bool
    eoi_exits_virtual: bool
    #: exit reasons: a host interrupt in guest mode, a trapped EOI, the guest's
    #: timer, a halt
    irq_exit: str
    eoi_exit: str
    timer_exit: str
    halt_exit: str
    #: virtual interrupts go through the GIC's list registers (``irqlab.hw.vgic``)
    list_registers: bool = False


def _x86(name: str, path: str, eoi_assigned: bool, eoi_virtual: bool, irq_exit: str) -> Mode:
    # A Linux guest on KVM uses x2APIC: an intercepted EOI is a WRMSR (MSR_WRITE).
    return Mode(name, path, eoi_assigned, eoi_virtual, irq_exit, "MSR_WRITE", "PREEMPTION_TIMER", "HLT")


def _arm64(name: str, eoi_exits: bool) -> Mode:
    return Mode(name, HOST, eoi_exits, eoi_exits, "IRQ", "SYS64", "IRQ", "WFx",
                list_registers=not eoi_exits)


MODES: dict[str, dict[str, Mode]] = {
    "x86": {
        "emulated": _x86("emulated", HOST, True, True, "EXTERNAL_INTERRUPT"),
        "apicv": _x86("apicv", HOST, False, False, "EXTERNAL_INTERRUPT"),
        "posted": _x86("posted", POSTED, False, False, "EXTERNAL_INTERRUPT"),
        "eli-partial": _x86("eli-partial", ELI, True, True, "EXCEPTION_NMI"),
        "eli-full": _x86("eli-full", ELI, False, True, "EXCEPTION_NMI"),
    },
    "arm64": {
        "emulated": _arm64("emulated", True),
        "vgic": _arm64("vgic", False),
    },
}
