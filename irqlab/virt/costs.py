"""Default costs of the hypervisor's transitions, per architecture.

Measured figures come from Dall et al., "ARM Virtualization: Performance and
Architectural Implications", ISCA 2016, Table II (KVM; x86: Xeon E5-2450 at
2.1 GHz, arm64: APM X-Gene at 2.4 GHz), converted to ns at those clocks:

* x86 hypercall round trip 1,300 cycles (619 ns): half of it is the VM exit
  (exit handling up to the dispatch), half the VM entry;
* x86 "virtual IRQ completion" 1,556 cycles (741 ns) is a trapped EOI: the
  round trip plus 122 ns of APIC emulation;
* arm64 hypercall 6,500 cycles (2,708 ns; KVM/ARM's split mode saves and
  restores the EL1 state on every exit); "interrupt controller trap" 7,370
  cycles (3,071 ns): the round trip plus 363 ns of GIC emulation.

The others are model parameters, not measurements: ``inject_cost`` (the host's
side of injecting one virtual interrupt: irqfd, ``kvm_set_msi``, the VM-entry
interruption information or the list register), ``notify_cost`` (the CPU
processing a posted-interrupt notification in guest mode, SDM 29.6: a few
hundred cycles of microcode), ``wakeup_cost`` (waking a halted vCPU's thread
and loading its state again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irqlab.scenario.schema import VmSpec


@dataclass(frozen=True)
class Costs:
    exit_ns: int
    entry_ns: int
    inject_ns: int
    eoi_ns: int
    notify_ns: int
    wakeup_ns: int


DEFAULTS: dict[str, Costs] = {
    "x86": Costs(exit_ns=310, entry_ns=309, inject_ns=200, eoi_ns=122, notify_ns=100, wakeup_ns=1_500),
    "arm64": Costs(exit_ns=1_354, entry_ns=1_354, inject_ns=200, eoi_ns=363, notify_ns=100,
                   wakeup_ns=1_500),
}


def costs_of(vm: VmSpec, arch: str) -> Costs:
    """The VM's costs: what its scenario gives, the arch's defaults otherwise."""
    d = DEFAULTS[arch]

    def pick(given: int | None, default: int) -> int:
        return default if given is None else given

    return Costs(exit_ns=pick(vm.exit_cost, d.exit_ns), entry_ns=pick(vm.entry_cost, d.entry_ns),
                 inject_ns=pick(vm.inject_cost, d.inject_ns), eoi_ns=pick(vm.eoi_cost, d.eoi_ns),
                 notify_ns=pick(vm.notify_cost, d.notify_ns),
                 wakeup_ns=pick(vm.wakeup_cost, d.wakeup_ns))
