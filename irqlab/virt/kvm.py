"""The hypervisor's policy: VM exits, injection at VM entry, EOI exits, halts
and wake-ups, posted-interrupt notifications (KVM: ``arch/x86/kvm/vmx/vmx.c``,
``vmx/posted_intr.c``, ``lapic.c``; ``virt/kvm/arm/vgic``).

Each vCPU has a host CPU of its own (``Kvm.place``); the host kernel there is
the vCPU thread's: whenever that CPU has nothing else to run (its idle hook)
the vCPU enters guest mode, and anything the host starts there first makes it
exit: an interrupt (``irq_entry``, the host's interrupt entry with VMX) or a
host thread (the vCPU is then preempted, ``kvm_sched_out``).  What happens to
an assigned device's message, to an EOI and to the guest's timer is the VM's
injection mode (``irqlab.virt.modes``); what each step costs is ``costs``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from functools import partial
from typing import TYPE_CHECKING, Any

from irqlab.hw.posted import PiDesc, PostedIrte
from irqlab.hw.vcpuif import GuestCpuInterface
from irqlab.hw.vgic import ListRegisters
from irqlab.kernel.cpu import IRQ, USER
from irqlab.kernel.dispatch import ivt_handle_interrupt
from irqlab.kernel.flags import IRQ_HANDLED
from irqlab.virt.costs import costs_of
from irqlab.virt.modes import ELI, MODES, POSTED
from irqlab.virt.vcpu import BLOCKED, GUEST, PREEMPTED, ROOT, Vcpu

if TYPE_CHECKING:
    from irqlab.hw.device import Signal
    from irqlab.kernel.action import HandlerContext
    from irqlab.kernel.cpu import Cpu
    from irqlab.kernel.kernel import Kernel
    from irqlab.machine.machine import Machine
    from irqlab.scenario.schema import VmSpec

# arch/x86/include/asm/irq_vectors.h
POSTED_INTR_VECTOR = 0xF2
POSTED_INTR_WAKEUP_VECTOR = 0xF1
POSTED_INTR_NESTED_VECTOR = 0xF0


class Route:
    """One assigned MSI-X vector: the message into the guest's virtual
    controller (``guest``, vector ``vector`` on ``vcpu``), the host's VFIO
    interrupt (``host``), and in posted mode its posted IRTE."""

    __slots__ = ("guest", "host", "irte", "vcpu", "vector")

    def __init__(self, vcpu: Vcpu, guest: Signal, vector: int) -> None:
        self.vcpu = vcpu
        self.guest = guest
        self.vector = vector
        self.host: Signal | None = None
        self.irte: PostedIrte | None = None


class Vm:
    """One guest: its spec, mode, costs, vCPUs and what it counted."""

    def __init__(self, spec: VmSpec, arch: str, pcpus: list[int]) -> None:
        self.spec = spec
        self.name = spec.name
        self.arch = arch
        self.mode = MODES[arch][spec.injection]
        self.costs = costs_of(spec, arch)
        self.pcpus = pcpus
        self.machine: Machine
        self.intc: GuestCpuInterface
        self.vcpus: list[Vcpu] = []
        self.routes: list[Route] = []
        #: per vCPU: guest vector -> route (the PIR's bits are guest vectors)
        self.by_vector: list[dict[int, Route]] = [{} for _ in pcpus]
        self.exits: Counter[str] = Counter()
        #: exits caused by assigned devices' interrupts, and those interrupts
        self.assigned_exits = 0
        self.assigned_raised = 0

    def results(self) -> dict[str, Any]:
        """Plain data for the report (``irqlab.runner``)."""
        k = self.machine.kernel
        span = self.machine.engine.now * len(self.vcpus)
        user = sum(c.account()[USER] for c in k.cpus)
        return {
            "injection": self.spec.injection, "vcpus": len(self.vcpus), "pin": list(self.pcpus),
            "exits": dict(sorted(self.exits.items())), "assigned_interrupts": self.assigned_raised,
            "assigned_exits": self.assigned_exits,
            "guest_work_share": user / span if span else None,
            "pir_coalesced": sum(v.pid.coalesced for v in self.vcpus if v.pid is not None)
            if self.mode.path == POSTED else None,
        }


def _after(cost: int, work: Generator[int, None, None]) -> Generator[int, None, None]:
    yield cost
    yield from work


class Kvm:
    """The hypervisor of one host machine."""

    def __init__(self, host: Machine) -> None:
        self.host = host
        self.vms: list[Vm] = []
        self.vcpu_on: dict[int, Vcpu] = {}  # host CPU -> its vCPU
        self.vm_of: dict[int, Vm] = {}  # host CPU -> the VM of its vCPU
        #: (host CPU, host vector or INTID) of the VFIO interrupts
        self.vfio: set[tuple[int, int]] = set()
        free = [c for c in range(host.spec.machine.cpus - 1, 0, -1)
                if not any(c in (vm.pin or []) for vm in host.spec.vm)]
        for spec in host.spec.vm:
            pcpus = list(spec.pin) if spec.pin is not None else [free.pop(0) for _ in range(spec.vcpus)]
            vm = Vm(spec, host.spec.machine.arch, pcpus)
            self.vms.append(vm)
            for pcpu in pcpus:
                self.vm_of[pcpu] = vm

    # -- building -----------------------------------------------------------------------
    def add_vcpus(self, vm: Vm, guest: Machine) -> None:
        """The guest's kernel is built: its CPUs become vCPUs on their host CPUs."""
        vm.machine = guest
        intc = vm.intc
        mode = vm.mode
        intc.trap_all_eoi = mode.eoi_exits_virtual and mode.eoi_exits_assigned
        intc.on_eoi_exit = lambda vcpu, vector: self._eoi_exit(vm, vector)
        if mode.list_registers:
            intc.lrs = [ListRegisters() for _ in vm.pcpus]
            intc.on_lr_free = partial(self._lr_free, vm)
        host_ctrl = self.host.ctrl
        for i, pcpu in enumerate(vm.pcpus):
            pid = None
            if mode.path == POSTED:
                pid = PiDesc(POSTED_INTR_VECTOR, host_ctrl.lapics[pcpu].apic_id)
            v = Vcpu(i, pcpu, guest.kernel.cpus[i], intc, pid)
            vm.vcpus.append(v)
            self.vcpu_on[pcpu] = v
            guest.kernel.sched.set_idle(i, partial(self._guest_idle, vm))

    def add_route(self, vm: Vm, vcpu: int, guest: Signal, vector: int) -> Route:
        """An assigned MSI-X vector of the guest, aimed at ``vcpu``."""
        r = Route(vm.vcpus[vcpu], guest, vector)
        vm.routes.append(r)
        vm.by_vector[vcpu][vector] = r
        return r

    def connect_host(self, r: Route, host: Signal, host_vector: int, sid: int) -> None:
        """The host's side of a route: its VFIO interrupt (and posted IRTE)."""
        r.host = host
        self.vfio.add((r.vcpu.pcpu, host_vector))
        if r.vcpu.pid is not None:
            r.irte = PostedIrte(sid, r.vector, r.vcpu.pid)

    def finish(self) -> None:
        """After every guest: the host's posted-interrupt vectors and rows, the
        EOI exits of each VM, the idle hook of each vCPU's host CPU."""
        k = self.host.kernel
        if self.host.spec.machine.arch == "x86":
            for cpu in range(k.ncpus):
                k.bind_vector(cpu, POSTED_INTR_VECTOR, self._posted_intr_ipi)
                k.bind_vector(cpu, POSTED_INTR_WAKEUP_VECTOR, self._posted_intr_wakeup)
                k.bind_vector(cpu, POSTED_INTR_NESTED_VECTOR, self._posted_intr_nested_ipi)
            for row in ("PIN", "NPI", "PIW"):  # shown whether counted or not, as Linux does
                k.irq_stat.counts.setdefault(row, [0] * k.ncpus)
        for vm in self.vms:
            if vm.mode.eoi_exits_virtual and not vm.mode.eoi_exits_assigned:
                assigned = {r.vector for r in vm.routes}
                vm.intc.eoi_exit_bitmap = {v for v in range(256) if v not in assigned}
        for pcpu in self.vcpu_on:
            k.sched.set_idle(pcpu, self._host_idle)

    def boot(self, vm: Vm) -> None:
        """Before the guest kernel starts: its vCPUs wait for their first entry."""
        for v in vm.vcpus:
            v.stall()

    # -- exits and entries -----------------------------------------------------------------
    def _count(self, vm: Vm, reason: str, assigned: bool) -> None:
        vm.exits[reason] += 1
        if assigned:
            vm.assigned_exits += 1

    def _exit(self, v: Vcpu, reason: str, assigned: bool, state: int = ROOT) -> bool:
        """A VM exit of ``v`` if it is in guest mode (True); an entry under way
        is called off instead (no exit: the guest never ran)."""
        vm = self.vm_of[v.pcpu]
        if v.state != GUEST:
            if v.entering:
                v.entering = False
                v.gen += 1
                v.state = state
            elif state == PREEMPTED and v.state == ROOT:
                v.state = PREEMPTED
            if v.state == PREEMPTED and v.pid is not None:
                v.pid.sn = True  # vmx_vcpu_pi_put: a preempted vCPU suppresses notifications
            return False
        self._count(vm, reason, assigned)
        v.leave(state)
        v.stall()
        if state == PREEMPTED and v.pid is not None:
            v.pid.sn = True
        return True

    def _enter(self, v: Vcpu, delay: int = 0) -> None:
        """Start the VM entry of ``v`` (``vcpu_enter_guest``) after ``delay``."""
        costs = self.vm_of[v.pcpu].costs
        if v.pid is not None:
            v.pid.sn = False  # vmx_vcpu_pi_load
            v.pid.nv = POSTED_INTR_VECTOR
        delay += costs.entry_ns
        if v.inject_pending:
            delay += costs.inject_ns
        if v.woken:
            delay += costs.wakeup_ns
        v.entering = True
        v.gen += 1
        self.host.engine.after(delay, self._entered, (v, v.gen))

    def _entered(self, arg: tuple[Vcpu, int]) -> None:
        v, gen = arg
        if gen != v.gen or not v.entering:
            return
        v.entering = False
        v.inject_pending = False
        v.woken = False
        self._sync_pir(v)
        self._flush_lrs(v)
        v.run()

    def _give(self, v: Vcpu, signal: Signal, intid: int) -> None:
        """A virtual interrupt for ``v``: into its virtual controller now, or
        onto its list of interrupts for the list registers at the next entry
        (``kvm_vgic_flush_hwstate``)."""
        if v.intc.lrs is None:
            signal.raise_()
        else:
            v.ap_list.append((intid, signal))

    def _flush_lrs(self, v: Vcpu) -> None:
        if not v.ap_list or v.intc.lrs is None:
            return
        lrs = v.intc.lrs[v.index]
        waiting = []
        for intid, signal in v.ap_list:
            if lrs.write(intid):
                signal.raise_()
            else:
                waiting.append((intid, signal))  # UIE: the maintenance interrupt brings it
        v.ap_list = waiting

    def _lr_free(self, vm: Vm, vcpu: int) -> None:
        """A list register came free with interrupts waiting: once at most one
        register is still valid (ICH_HCR_EL2.UIE, underflow) the maintenance
        interrupt (a PPI to the host) exits, and the entry refills them."""
        v = vm.vcpus[vcpu]
        lrs = vm.intc.lrs
        if v.ap_list and v.state == GUEST and lrs is not None and lrs[vcpu].used() <= 1:
            self.host.engine.after(0, self._maintenance, v)

    def _maintenance(self, v: Vcpu) -> None:
        vm = self.vm_of[v.pcpu]
        if v.ap_list and self._exit(v, vm.mode.irq_exit, False):
            self._enter(v, vm.costs.exit_ns)

    def _sync_pir(self, v: Vcpu) -> None:
        """PIR -> virtual IRR (at entry, or a notification taken in guest mode)."""
        if v.pid is None or not v.pid.pir:
            return
        routes = self.vm_of[v.pcpu].by_vector[v.index]
        for vector in v.pid.take():
            routes[vector].guest.raise_()

    def _host_idle_now(self, v: Vcpu) -> bool:
        c = self.host.kernel.cpus[v.pcpu]
        rq = self.host.kernel.sched.rqs[v.pcpu]
        return c.cur is None and not c.saved and not rq.rt and not rq.fair

    def _wake(self, v: Vcpu) -> None:
        """``kvm_vcpu_kick`` of a blocked vCPU: it runs again once its host CPU is free."""
        if v.state != BLOCKED:
            return
        v.state = ROOT
        v.woken = True
        if self._host_idle_now(v):
            self._enter(v)

    # -- host hooks ----------------------------------------------------------------------
    def irq_entry(self, cpu: Cpu) -> Generator[int, None, None]:
        """The host's interrupt entry: an interrupt on a host CPU whose vCPU is
        in guest mode is a VM exit first (external-interrupt exiting; with
        "acknowledge interrupt on exit" the host then dispatches the vector)."""
        k = cpu.k
        ctrl = k.ctrl
        c = cpu.index
        vector = ctrl.acknowledge(c) if ctrl.ack_before_entry else None
        work = ivt_handle_interrupt(k, cpu, vector)
        v = self.vcpu_on.get(c)
        if v is None:
            return work
        # the GIC's INTID is read after entry: the one about to be acknowledged
        intid = vector if vector is not None else self.host.ctrl.highest_pending(c)
        vm = self.vm_of[c]
        if not self._exit(v, vm.mode.irq_exit, (c, intid) in self.vfio):
            return work
        cpu.ctx = IRQ
        return _after(vm.costs.exit_ns, work)

    def _host_idle(self, cpu: Cpu, idle: bool) -> None:
        """The host CPU of a vCPU has nothing else to run (enter guest mode), or
        switches to a host thread (the vCPU is preempted)."""
        v = self.vcpu_on[cpu.index]
        if idle:
            if v.state in (ROOT, PREEMPTED) and not v.entering:
                self._enter(v)
        elif v.state != BLOCKED:
            vm = self.vm_of[cpu.index]
            self._exit(v, vm.mode.irq_exit, False, PREEMPTED)

    def _guest_idle(self, vm: Vm, cpu: Cpu, idle: bool) -> None:
        """The guest's CPU has nothing to run: it halts (HLT / WFI exit), unless
        an interrupt is already pending for it; or a guest thread woke on its
        own timer while the vCPU was blocked (the host's hrtimer wakes it)."""
        v = vm.vcpus[cpu.index]
        if idle:
            if v.state != GUEST:
                return
            self._count(vm, vm.mode.halt_exit, False)
            if vm.intc.pending(v.index) or v.ap_list or (v.pid is not None and v.pid.on):
                v.leave(ROOT)  # kvm_vcpu_has_events: no block, straight back
                v.stall()
                self._enter(v, vm.costs.exit_ns)
                return
            v.leave(BLOCKED)
            if v.pid is not None:
                v.pid.nv = POSTED_INTR_WAKEUP_VECTOR  # pi_enable_wakeup_handler
        elif v.state == BLOCKED:
            v.stall()
            self._wake(v)

    # -- interrupts for guests ---------------------------------------------------------------
    def virtual_irq(self, vm: Vm, vcpu: int, signal: Signal, intid: int, reason: str) -> None:
        """An interrupt the hypervisor emulates (the guest's timer): an exit if
        the vCPU runs, the interrupt injected at the next entry."""
        v = vm.vcpus[vcpu]
        if v.state == GUEST:
            self._exit(v, reason, False)
            v.inject_pending = True
            self._give(v, signal, intid)
            self._enter(v, vm.costs.exit_ns)
            return
        v.inject_pending = True
        self._give(v, signal, intid)
        self._wake(v)

    def assigned_irq(self, vm: Vm, r: Route) -> None:
        """An assigned device sends its message: posted through its IRTE, straight
        to the running guest under ELI, else the host's VFIO interrupt."""
        vm.assigned_raised += 1
        v = r.vcpu
        path = vm.mode.path
        if path == POSTED:
            assert r.irte is not None
            if r.irte.remap():
                self._notify(vm, v)
        elif path == ELI and v.state == GUEST:
            r.guest.raise_()
        else:
            assert r.host is not None
            r.host.raise_()

    def _notify(self, vm: Vm, v: Vcpu) -> None:
        """The notification vector NV to NDST: taken in guest mode without an
        exit, else an interrupt to the host."""
        pid = v.pid
        assert pid is not None
        if v.state == GUEST and pid.nv == POSTED_INTR_VECTOR:
            self.host.engine.after(vm.costs.notify_ns, self._notified, v)
        else:
            self.host.ctrl.accept(v.pcpu, pid.nv, False)

    def _notified(self, v: Vcpu) -> None:
        if v.state == GUEST:
            self._sync_pir(v)
        elif v.pid is not None and v.pid.on:  # it exited meanwhile: the host takes NV
            self.host.ctrl.accept(v.pcpu, v.pid.nv, False)

    def inject(self, r: Route) -> None:
        """``kvm_set_msi`` from the VFIO handler: into the virtual IRR, the vCPU kicked."""
        v = r.vcpu
        vm = self.vm_of[v.pcpu]
        if v.state == GUEST:  # another CPU's interrupt for a running vCPU: kicked out first
            self._exit(v, vm.mode.irq_exit, True)
            self._enter(v, vm.costs.exit_ns)
        v.inject_pending = True
        self._give(v, r.guest, r.vector)
        self._wake(v)

    def _eoi_exit(self, vm: Vm, vector: int) -> int:
        """A trapped EOI: counted, and its round trip returned for the vCPU to pay."""
        self._count(vm, vm.mode.eoi_exit, any(r.vector == vector for r in vm.routes))
        c = vm.costs
        return c.exit_ns + c.eoi_ns + c.entry_ns

    # -- host system vectors (arch/x86/kernel/irq.c) --------------------------------------------
    def _posted_intr_ipi(self, k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
        """``sysvec_kvm_posted_intr_ipi``: a notification that found its CPU in
        the host; the PIR is synced at the next entry."""
        k.ctrl.eoi(cpu.index, vector)
        k.irq_stat.inc("PIN", cpu.index)
        yield from ()

    def _posted_intr_wakeup(self, k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
        """``sysvec_kvm_posted_intr_wakeup_ipi`` -> ``pi_wakeup_handler``: wake the
        blocked vCPUs of this CPU whose descriptor has ON set."""
        k.ctrl.eoi(cpu.index, vector)
        k.irq_stat.inc("PIW", cpu.index)
        v = self.vcpu_on.get(cpu.index)
        if v is not None and v.pid is not None and v.pid.on:
            self._wake(v)
        yield from ()

    def _posted_intr_nested_ipi(self, k: Kernel, cpu: Cpu, vector: int) -> Generator[int, None, None]:
        """``sysvec_kvm_posted_intr_nested_ipi`` (nested guests: not modelled, never sent)."""
        k.ctrl.eoi(cpu.index, vector)
        k.irq_stat.inc("NPI", cpu.index)
        yield from ()


class VfioHandler:
    """``vfio_msihandler``: the host's handler of an assigned device's vector,
    signalling the VM's irqfd (``kvm_set_msi``): ``inject_cost`` of host time."""

    symbol = "vfio_msihandler"
    module = "vfio_pci_core"

    def __init__(self, kvm: Kvm, r: Route) -> None:
        self.kvm = kvm
        self.route = r

    def __call__(self, ctx: HandlerContext) -> int:
        ctx.spend(self.kvm.vm_of[self.route.vcpu.pcpu].costs.inject_ns)
        self.kvm.inject(self.route)
        return IRQ_HANDLED
