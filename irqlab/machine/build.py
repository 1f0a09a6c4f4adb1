"""Building a machine from a validated scenario: the platform's board (the
interrupt controller and per-CPU timer of ``machine.arch``), the OS
personality's kernel (``machine.os``), the devices and their drivers, the
user workload, faults.  Everything architecture- or OS-specific is asked of
the platform (``irqlab.platform``) or the personality (``irqlab.os``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irqlab.hw.arrivals import Arrivals, Bursty, Periodic, Poisson, Replay
from irqlab.hw.device import Device, EdgeSignal, LevelSignal, Signal, Wire
from irqlab.hw.remapping import source_id
from irqlab.kernel.affinity import irq_create_affinity_masks
from irqlab.kernel.cpu import USER
from irqlab.kernel.flags import (
    IRQD_ACTIVATED,
    IRQF_ONESHOT,
    IRQF_SHARED,
    IRQF_TRIGGER_HIGH,
    IRQF_TRIGGER_RISING,
)
from irqlab.kernel.manage import IrqRequestError, request_irq, request_threaded_irq
from irqlab.kernel.mm import Mm
from irqlab.kernel.sched import cpu_bound
from irqlab.machine import actions, faults
from irqlab.machine.driver import HandlerLoadError, builtin_driver
from irqlab.machine.errors import BuildError
from irqlab.machine.irqbalance import Balancer
from irqlab.machine.isr import BuiltinDriver
from irqlab.machine.machine import Line, Machine
from irqlab.os.registry import PERSONALITIES
from irqlab.platform import PLATFORMS, Platform
from irqlab.platform.base import pci_address
from irqlab.scenario import plain
from irqlab.sim.engine import Engine

if TYPE_CHECKING:
    from irqlab.scenario.schema import Arrival, DeviceSpec, Scenario, Workload
    from irqlab.virt.kvm import Kvm, Route, Vm

__all__ = ["BuildError", "Machine", "arrivals_for", "build"]


def arrivals_for(spec: Arrival, rng: Any, device: str) -> Arrivals | None:
    try:
        return _arrivals(spec, rng)
    except ValueError as exc:
        raise BuildError(f"device '{device}': arrival: {exc}") from None


def _arrivals(spec: Arrival, rng: Any) -> Arrivals | None:
    if spec.kind == "none":
        return None
    if spec.kind == "periodic":
        return Periodic(spec.period or 0, spec.phase)
    if spec.kind == "poisson":
        return Poisson(spec.rate or 0.0, rng)
    if spec.kind == "bursty":
        return Bursty(spec.rate or 0.0, spec.on or 0, spec.off or 0, rng)
    return Replay(spec.times or [])


def build(spec: Scenario, seed: int | None = None, *, engine: Engine | None = None,
          platform: Platform | None = None) -> Machine:
    """The machine of ``spec`` (a validated scenario, as the loader's plain
    tree or as pydantic models); a guest's (``_add_guests``) is built on its
    host's ``engine`` and its own ``platform``."""
    spec = plain.of(spec)  # the machine reads one kind of tree
    m = Machine(spec, spec.scenario.seed if seed is None else seed, engine)
    ms = spec.machine
    if spec.vm:  # guests, an IOMMU, a NIC: their modules are imported when a scenario has them
        from irqlab.virt.kvm import Kvm

        m.hypervisor = Kvm(m)
    m.platform = platform = platform if platform is not None else PLATFORMS[ms.arch]
    m.board = board = platform.board(m)
    m.ctrl = board.ctrl
    m.ctrl.state_sink = m.trace  # the pending/active bits, when a waveform asks
    m.os = PERSONALITIES[ms.os](m, board)
    m.kernel = m.os.kernel
    platform.boot(m)
    for index, dev in enumerate(spec.device):
        if dev.assign is None:
            _add_device(m, dev, index)
    if ms.workload is not None:
        _add_workload(m, ms.workload)
    platform.finish(m)
    if board.iommu is not None:
        from irqlab.machine.dma import DmaMachine

        m.dma = DmaMachine(m, board.iommu)
        for dev in spec.device:
            # a NIC's receive path is netdev's; an assigned device DMAs for its guest
            if dev.kind == "msix" and dev.nic is None and dev.assign is None:
                m.dma.probe(dev.name)
    m.os.finish(m)
    faults.install(m)
    actions.install(m)
    if m.hypervisor is not None:
        _add_guests(m, m.hypervisor)
    m.balancer = Balancer(m)
    return m


def _add_guests(m: Machine, kvm: Kvm) -> None:
    """Each ``[[vm]]`` built as a machine of its own on the host's engine; the
    host's side of each assigned MSI-X vector is a VFIO interrupt on the CPU
    of the vCPU it aims at (``vfio-msix[N](0000:bb:dd.f)``)."""
    from irqlab.virt.guest import GuestPlatform, guest_spec

    for vm in kvm.vms:
        gspec = guest_spec(m.spec, vm)
        guest = build(gspec, m.seed, engine=m.engine, platform=GuestPlatform(kvm, vm))
        first = 0  # the guest added its devices' routes in scenario order
        for index, dev in enumerate(m.spec.device):
            if dev.assign == vm.name:
                _add_vfio(m, kvm, vm, dev, index, vm.routes[first:first + dev.vectors])
                first += dev.vectors
        vm.machine = guest
    kvm.finish()


def _add_vfio(m: Machine, kvm: Kvm, vm: Vm, spec: DeviceSpec, index: int, routes: list[Route]) -> None:
    from irqlab.virt.kvm import VfioHandler

    alloc = m.platform.add_msi(m, spec, index)
    bus, slot, fn = pci_address(index)
    for i, r in enumerate(routes):
        irq, signal = alloc(i, 1 << r.vcpu.pcpu, False)
        name = f"vfio-msix[{i}](0000:{bus:02x}:{slot:02x}.{fn})"
        request_irq(m.kernel, irq, VfioHandler(kvm, r), 0, name, r)
        kvm.connect_host(r, signal, m.kernel.descs[irq].vector, source_id(bus, slot, fn))
        m.irqs.setdefault(spec.name, []).append(irq)


def _add_workload(m: Machine, workload: Workload) -> None:
    """``threads`` cpu-bound user threads on every CPU (but those of vCPUs); with
    ``tlb_shootdowns`` they are one process that unmaps memory."""
    sched = m.kernel.sched
    threads = workload.threads
    vcpus = set(m.hypervisor.vm_of) if m.hypervisor is not None else set()
    cpus = [cpu for cpu in range(m.spec.machine.cpus) if cpu not in vcpus]
    if workload.tlb_shootdowns is not None:
        m.mm = Mm(m.kernel, cpus, workload.tlb_shootdowns, m.rng_for("mm"))
    for cpu in cpus:
        for i in range(threads):
            name = f"cpu-bound/{cpu}" if threads == 1 else f"cpu-bound/{cpu}.{i}"
            body = cpu_bound() if m.mm is None else m.mm.thread(cpu)
            sched.wake_up_process(sched.kthread_create(name, cpu, body, kind=USER))


# -- devices --------------------------------------------------------------------------
def _cpu_of(spec: DeviceSpec, i: int) -> int:
    if isinstance(spec.cpu, list):
        return spec.cpu[i % len(spec.cpu)]
    return spec.cpu


def _add_device(m: Machine, spec: DeviceSpec, index: int) -> None:
    if spec.nic is not None:
        _add_nic(m, spec, index)
        return
    try:
        driver = builtin_driver(spec.name, spec.handler, m.rng_for(f"handler:{spec.name}"), os=m.os)
    except HandlerLoadError as exc:
        raise BuildError(f"{exc} (device '{spec.name}')") from None
    m.drivers[spec.name] = driver
    if spec.kind == "line":
        _add_line_device(m, spec, driver)
    else:
        _add_msix_device(m, spec, driver, index)


def _flags(spec: DeviceSpec) -> int:
    flags = IRQF_TRIGGER_HIGH if spec.trigger == "level" else IRQF_TRIGGER_RISING
    return flags | (IRQF_SHARED if spec.shared else 0) | (IRQF_ONESHOT if spec.handler.oneshot else 0)


def _request(m: Machine, irq: int, driver: Any, spec: DeviceSpec, name: str,
             dev: object) -> None:
    threaded = spec.handler.thread is not None
    name = m.platform.isr_name(name)
    try:
        if threaded:
            request_threaded_irq(m.kernel, irq, driver, driver.thread_fn, _flags(spec), name, dev)
        else:
            request_irq(m.kernel, irq, driver, _flags(spec), name, dev)
    except IrqRequestError as exc:
        call = "request_threaded_irq" if threaded else "request_irq"
        hint = _sharing_conflict(m, spec) if exc.errno == "EBUSY" else ""
        raise BuildError(f"device '{spec.name}': {call}({irq}) failed: -{exc.errno}: {exc}"
                         + (f" ({hint})" if hint else "")) from None


def _sharing_conflict(m: Machine, spec: DeviceSpec) -> str:
    """Why ``spec`` cannot share its line with the device that has it: the
    checks of ``__setup_irq`` (kernel/irq/manage.c) in scenario terms."""
    first = next((d for d in m.spec.device if d.kind == "line" and d.line == spec.line), None)
    if first is None or first is spec:
        return ""
    if not (first.shared and spec.shared):
        return f"line {spec.line} is also '{first.name}': both need shared = true"
    if first.trigger != spec.trigger:
        return (f"'{first.name}' is {first.trigger}-triggered and '{spec.name}' "
                f"{spec.trigger}-triggered: a shared line has one trigger type")
    if first.handler.oneshot != spec.handler.oneshot:
        return f"'{first.name}' and '{spec.name}' differ in handler.oneshot (IRQF_ONESHOT)"
    return ""


def _new_device(m: Machine, spec: DeviceSpec, name: str, signal: Signal, irq: int, cpu: int,
                index: int, arrivals: bool = True) -> Device:
    source = arrivals_for(spec.arrival, m.rng_for(f"arrivals:{name}"), spec.name) if arrivals else None
    dev = Device(m.engine, name, signal, source, sink=m.trace)
    dev.irq = irq
    dev.cpu = cpu
    m.devices.setdefault(spec.name, []).append(dev)
    m.irqs.setdefault(spec.name, [])
    if irq not in m.irqs[spec.name]:
        m.irqs[spec.name].append(irq)
    return dev


def _add_line_device(m: Machine, spec: DeviceSpec, driver: BuiltinDriver) -> None:
    line = spec.line or 0
    cpu = _cpu_of(spec, 0)
    level = spec.trigger == "level"
    shared = m.lines.get(line)
    if shared is None:
        irq, sink = m.platform.add_line(m, spec, line, cpu, level)
        shared = m.lines[line] = Line(Wire(sink, line), irq)
    signal: Signal = LevelSignal(shared.wire) if level else EdgeSignal(shared.wire)
    dev = _new_device(m, spec, spec.name, signal, shared.irq, cpu, 0)
    _request(m, shared.irq, driver, spec, spec.name, dev)


def _add_msix_device(m: Machine, spec: DeviceSpec, driver: BuiltinDriver, index: int) -> None:
    """One IRQ per MSI-X vector: static affinity from ``cpu``, or managed and
    spread by the kernel (``pci_alloc_irq_vectors_affinity`` with
    PCI_IRQ_AFFINITY).  When the vectors run out (-ENOSPC), the driver keeps
    the queues it got, as i40e or ixgbe fall back to fewer queue pairs; none
    at all is an error."""
    alloc = m.platform.add_msi(m, spec, index)
    masks = _queue_masks(m, spec)
    for i in range(spec.vectors):
        irq, signal = alloc(i, masks[i], spec.managed)
        name = _queue_name(spec, i)
        dev = _new_device(m, spec, name, signal, irq, m.kernel.descs[irq].affinity, i)
        try:
            _request(m, irq, driver, spec, name, dev)
        except BuildError:
            if not i or not _out_of_vectors(m, irq):
                raise
            m.devices[spec.name].remove(dev)
            m.irqs[spec.name].remove(irq)
            msg = (f"{spec.name}: -ENOSPC for MSI-X vector {i}: the driver runs {i} of its "
                   f"{spec.vectors} queues")
            m.kernel.printk(msg)
            m.kernel.warn("vectors", None, msg)
            return


def _out_of_vectors(m: Machine, irq: int) -> bool:
    """Whether the request of ``irq`` failed for want of a vector (its line never started)."""
    return not m.kernel.descs[irq].state & IRQD_ACTIVATED


def _queue_masks(m: Machine, spec: DeviceSpec) -> list[int]:
    """Each vector's affinity: the scenario's CPU, or the kernel's spread of a
    managed device (``irq_create_affinity_masks``)."""
    if spec.managed:
        return irq_create_affinity_masks(spec.vectors, m.spec.machine.cpus)
    return [1 << _cpu_of(spec, i) for i in range(spec.vectors)]


def _add_nic(m: Machine, spec: DeviceSpec, index: int) -> None:
    """A NIC: its queues' vectors as for any MSI-X device (no fallback to
    fewer queues: the receive path is built for all of them), the arrivals on
    the wire (spread over the queues), and the receive path's driver on each."""
    alloc = m.platform.add_msi(m, spec, index)
    masks = _queue_masks(m, spec)
    devs = []
    for i in range(spec.vectors):
        irq, signal = alloc(i, masks[i], spec.managed)
        devs.append(_new_device(m, spec, _queue_name(spec, i), signal, irq,
                                m.kernel.descs[irq].affinity, i, arrivals=False))

    def arrivals(q: int, n: int) -> Arrivals | None:
        return arrivals_for(queue_share(spec.arrival, q, n),
                            m.rng_for(f"arrivals:{_queue_name(spec, q)}"), spec.name)

    from irqlab.machine.netdev import RxPath

    assert spec.nic is not None
    path = m.nics[spec.name] = RxPath(m.kernel, spec.name, spec.nic, devs, m.trace, arrivals,
                                      m.rng_for)
    for i, dev in enumerate(devs):
        _request(m, dev.irq, path.driver.interrupt, spec, dev.name, path.queue(i))


def _queue_name(spec: DeviceSpec, i: int) -> str:
    return spec.name if spec.vectors == 1 else f"{spec.name}-{i}"


def queue_share(spec: Arrival, q: int, n: int) -> Arrival:
    """Queue ``q``'s part of a device's arrivals spread over ``n`` queues: a
    rate divided by ``n``, a period multiplied by ``n`` (queues in turn), a
    replay's every ``n``-th time."""
    if n == 1 or spec.kind == "none":
        return spec
    if spec.kind == "periodic":
        period = spec.period or 0
        return spec.model_copy(update={"period": period * n, "phase": spec.phase + q * period})
    if spec.kind == "replay":
        return spec.model_copy(update={"times": (spec.times or [])[q::n]})
    return spec.model_copy(update={"rate": (spec.rate or 0.0) / n})
