"""A guest as a machine in the machine: its scenario (the VM's vCPUs, OS and
workload, and the devices assigned to it) and the platform its kernel is
built on, the host architecture's with the virtual CPU interface
(``irqlab.hw.vcpuif``) and with the hypervisor between its interrupt sources
and that interface.  ``irqlab.machine.build`` builds it like any machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from irqlab.hw.apic import LOCAL_TIMER_VECTOR
from irqlab.hw.device import Signal
from irqlab.hw.vcpuif import GuestCpuInterface
from irqlab.kernel.manage import irq_activate
from irqlab.platform import PLATFORMS
from irqlab.platform.arm64 import ARCH_TIMER_PPI

if TYPE_CHECKING:
    from irqlab.events import CounterSnapshot
    from irqlab.hw.controller import LineSink
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel
    from irqlab.kernel.printk import KernelWarning
    from irqlab.machine.machine import Machine
    from irqlab.platform.base import Board
    from irqlab.scenario.schema import DeviceSpec, Scenario
    from irqlab.virt.kvm import Kvm, Route, Vm


#: the vector or INTID of each arch's per-CPU timer
TIMER_INTID = {"x86": LOCAL_TIMER_VECTOR, "arm64": ARCH_TIMER_PPI}


def guest_spec(host: Scenario, vm: Vm) -> Scenario:
    """The guest's scenario: ``vcpus`` CPUs of the host's arch running its
    ``os`` and workload, the host's timer settings, the devices assigned to it
    (their ``cpu`` naming vCPUs), the host's seed (so a device draws the same
    arrivals as it would on the host)."""
    ms = host.machine
    update: dict[str, object] = {"cpus": vm.spec.vcpus, "os": vm.spec.os, "workload": vm.spec.workload}
    if hasattr(ms, "iommu"):
        update["iommu"] = None  # the guest sees no IOMMU
    machine = ms.model_copy(update=update)
    return host.model_copy(update={
        "scenario": host.scenario.model_copy(update={"name": vm.name}), "machine": machine,
        "device": [d.model_copy(update={"assign": None}) for d in host.device if d.assign == vm.name],
        "fault": [], "vm": []})


class VirtualSignal(Signal):
    """An interrupt source the hypervisor emulates (the guest's per-CPU timer):
    each raise goes through ``Kvm.virtual_irq``."""

    __slots__ = ("inner", "intid", "kvm", "reason", "vcpu", "vm")

    def __init__(self, kvm: Kvm, vm: Vm, vcpu: int, inner: Signal, intid: int, reason: str) -> None:
        self.kvm = kvm
        self.vm = vm
        self.vcpu = vcpu
        self.inner = inner
        self.intid = intid
        self.reason = reason

    @property
    def level(self) -> bool:
        return self.inner.level

    def raise_(self) -> None:
        self.kvm.virtual_irq(self.vm, self.vcpu, self.inner, self.intid, self.reason)

    def quiesce(self) -> None:
        self.inner.quiesce()


class AssignedSignal(Signal):
    """An assigned device's message: through ``Kvm.assigned_irq``."""

    __slots__ = ("kvm", "route", "vm")

    def __init__(self, kvm: Kvm, vm: Vm, route: Route) -> None:
        self.kvm = kvm
        self.vm = vm
        self.route = route

    def raise_(self) -> None:
        self.kvm.assigned_irq(self.vm, self.route)


class GuestPlatform:
    """The host arch's platform as a guest kernel sees it (``Platform``)."""

    def __init__(self, kvm: Kvm, vm: Vm) -> None:
        self.kvm = kvm
        self.vm = vm
        self.arch = vm.arch
        self.base = PLATFORMS[vm.arch]

    def board(self, m: Machine) -> Board:
        """The arch's board with its controller behind the virtual CPU
        interface, and each vCPU's timer emulated by the hypervisor."""
        board = self.base.board(m)
        self.vm.intc = board.ctrl = GuestCpuInterface(board.ctrl, m.spec.machine.cpus)
        for cpu, timer in enumerate(m.timers):
            timer.signal = VirtualSignal(self.kvm, self.vm, cpu, timer.signal, TIMER_INTID[self.arch],
                                         self.vm.mode.timer_exit)
        return board

    def boot(self, m: Machine) -> None:
        self.kvm.add_vcpus(self.vm, m)
        self.base.boot(m)

    def add_line(self, m: Machine, spec: DeviceSpec, line: int, cpu: int,
                 level: bool) -> tuple[int, LineSink]:
        return self.base.add_line(m, spec, line, cpu, level)

    def add_msi(self, m: Machine, spec: DeviceSpec,
                index: int) -> Callable[[int, int, bool], tuple[int, Signal]]:
        """The arch's MSI-X allocation in the guest; the device's messages go
        through the hypervisor (``Kvm.assigned_irq``).  The line is activated
        at once (as MSI_FLAG_ACTIVATE_EARLY does): the route needs its vector."""
        alloc = self.base.add_msi(m, spec, index)

        def assigned(i: int, mask: int, managed: bool) -> tuple[int, Signal]:
            irq, signal = alloc(i, mask, managed)
            desc = m.kernel.descs[irq]
            irq_activate(desc)
            route = self.kvm.add_route(self.vm, desc.affinity, signal, desc.vector)
            return irq, AssignedSignal(self.kvm, self.vm, route)

        return assigned

    def isr_name(self, device: str) -> str:
        return self.base.isr_name(device)

    def finish(self, m: Machine) -> None:
        self.base.finish(m)

    def missed_eoi(self, m: Machine) -> list[KernelWarning]:
        return self.base.missed_eoi(m)

    def spurious_vector(self, k: Kernel, cpu: int, vector: int) -> None:
        self.base.spurious_vector(k, cpu, vector)

    def no_irq_handler(self, k: Kernel, cpu: int, vector: int) -> None:
        self.base.no_irq_handler(k, cpu, vector)

    def trigger_name(self, d: IrqDesc) -> str:
        return self.base.trigger_name(d)

    def arch_show_interrupts(self, k: Kernel, snap: CounterSnapshot) -> None:
        self.base.arch_show_interrupts(k, snap)

    def send_ipi(self, k: Kernel, cpu: int, ipi: int) -> None:
        """The arch's IPI on the guest's virtual controller (the ICR or SGI
        write's exit, or its IPI virtualization, is not modelled)."""
        self.base.send_ipi(k, cpu, ipi)

    def flush_tlb_multi(self, k: Kernel, this_cpu: int, cpus: list[int]) -> int:
        return self.base.flush_tlb_multi(k, this_cpu, cpus)
