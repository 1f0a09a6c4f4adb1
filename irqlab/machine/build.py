"""Building a machine from a validated scenario: the controller personality,
its chips and IRQ domains, the devices and their drivers, the tick, faults.

IRQ numbering follows each platform: x86 GSIs are IO-APIC pins (IRQ = pin)
and MSI-X vectors get IRQs from 24 up; arm64 virqs are allocated in order
(the arch timer first); on the Cortex-M the IRQ is the NVIC IRQn.
"""

from __future__ import annotations

from typing import Any

from irqlab.hw import msi
from irqlab.hw.apic import LOCAL_TIMER_VECTOR, Apic
from irqlab.hw.arrivals import Arrivals, Bursty, Periodic, Poisson, Replay
from irqlab.hw.device import (
    Device,
    EdgeSignal,
    LevelSignal,
    LpiSignal,
    MsiSignal,
    PendSignal,
    Signal,
    VectorSignal,
    Wire,
)
from irqlab.hw.gic import LPI_BASE, GicV3
from irqlab.hw.ioapic import IoApic
from irqlab.hw.iommu import VtdUnit, source_id
from irqlab.hw.nvic import CORES, SYSTICK, Nvic, NvicError
from irqlab.kernel.chip import DmarMsiChip, GicChip, IoApicChip, IrqChip, MsiChip, NvicChip
from irqlab.kernel.cpu import USER
from irqlab.kernel.dmar import DmarFault
from irqlab.kernel.flags import (
    IRQF_NO_THREAD,
    IRQF_ONESHOT,
    IRQF_SHARED,
    IRQF_TIMER,
    IRQF_TRIGGER_HIGH,
    IRQF_TRIGGER_RISING,
)
from irqlab.kernel.flow import FLOWS
from irqlab.kernel.kernel import Kernel
from irqlab.kernel.manage import IrqRequestError, request_irq, request_threaded_irq
from irqlab.kernel.sched import cpu_bound
from irqlab.kernel.windows import IvtHandleInterrupt, NtKernel
from irqlab.machine import faults
from irqlab.machine.driver import BuiltinDriver, HandlerLoadError
from irqlab.machine.errors import BuildError
from irqlab.scenario.schema import Arrival, DeviceSpec, Scenario
from irqlab.sim.engine import Engine
from irqlab.sim.rng import stream

# Model parameters (ns), not manual figures: the cost of taking and leaving an
# exception in hardware on a current core.
X86_ENTRY_NS, X86_EXIT_NS = 200, 150
FIRST_DEVICE_VECTOR = 0x21  # after FIRST_EXTERNAL_VECTOR 0x20 (irq_vectors.h)
WINDOWS_FIRST_DEVICE_VECTOR = 0x30  # DIRQL 3: the first IRQL above DISPATCH_LEVEL
FIRST_SYSTEM_VECTOR = 0xEB  # POSTED_MSI_NOTIFICATION_VECTOR (irq_vectors.h)
IA32_SYSCALL_VECTOR = 0x80
FIRST_MSI_IRQ = 24  # after the 24 IO-APIC GSIs
ARCH_TIMER_PPI = 30  # non-secure EL1 physical timer (arm,armv8-timer binding)
ITS_MAX_LPI_NRBITS = 16  # Linux drivers/irqchip/irq-gic-v3-its.c: 64K LPI INTIDs at most


class Line:
    """One interrupt input shared by the devices wired to it."""

    def __init__(self, wire: Wire, irq: int) -> None:
        self.wire = wire
        self.irq = irq


class Machine:
    """A built machine: engine, controller, kernel, devices, drivers."""

    def __init__(self, spec: Scenario, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self.engine = Engine()
        self.devices: dict[str, list[Device]] = {}
        self.drivers: dict[str, BuiltinDriver] = {}
        self.irqs: dict[str, list[int]] = {}
        self.lines: dict[int, Line] = {}
        self.timers: list[Device] = []
        self.ctrl: Any = None
        self.kernel: Kernel
        self.apic: Apic | None = None
        self.ioapic: IoApic | None = None
        self.gic: GicV3 | None = None
        self.nvic: Nvic | None = None
        self.nt: NtKernel | None = None
        self.iommu: VtdUnit | None = None
        #: PCI source id (bus:dev.fn) of each device, for IOMMU faults
        self.sids: dict[str, int] = {}
        #: where the search for a free IRQ number (by its start) and LPI goes on:
        #: numbers are never freed while building, so each search is linear once
        self.next_free: dict[int, int] = {}
        self.next_lpi = LPI_BASE

    def rng_for(self, name: str) -> Any:
        return stream(self.seed, name)


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


def build(spec: Scenario, seed: int | None = None) -> Machine:
    m = Machine(spec, spec.scenario.seed if seed is None else seed)
    arch = spec.machine.arch
    if arch == "x86":
        _build_x86(m)
    elif arch == "arm64":
        _build_arm64(m)
    else:
        _build_armv7m(m)
    for index, dev in enumerate(spec.device):
        _add_device(m, dev, index)
    if spec.machine.workload is not None:
        _add_workload(m, spec.machine.workload.threads)
    if spec.machine.iommu:
        _add_iommu(m)
    if spec.machine.os == "windows":
        _install_windows(m)
    faults.install(m)
    return m


def _add_iommu(m: Machine) -> None:
    """A VT-d unit, dmar0, whose fault event MSI goes to CPU 0.  Linux requests
    it as ``request_irq(irq, dmar_fault, IRQF_NO_THREAD, "dmar0")``; under
    Windows its ISR is ``nt!IvtHandleInterrupt``."""
    assert m.apic is not None
    k = m.kernel
    unit = VtdUnit(m.apic, "dmar0")
    m.iommu = unit
    irq = _next_irq(m, FIRST_MSI_IRQ)
    spec = DeviceSpec.model_validate({"name": "dmar0", "kind": "msix"})
    vector = _vector_of(m, spec, 0, 0)
    chip = DmarMsiChip(m.apic, unit)
    unit.program_fault_event(*chip.msi_msg(0, vector))
    desc = k.alloc_irq(irq, chip, 0, FLOWS["edge"], "edge", False)
    desc.affinity = 0
    k.bind_vector(0, vector, desc)
    isr: Any = IvtHandleInterrupt() if m.spec.machine.os == "windows" else DmarFault()
    request_irq(k, irq, isr, IRQF_NO_THREAD, "dmar0", unit)
    m.irqs["dmar0"] = [irq]
    for i, dev in enumerate(m.spec.device):
        m.sids[dev.name] = source_id(*_pci_address(i))


def _install_windows(m: Machine) -> None:
    """The Windows interrupt policy on the x86 machine: ISRs at DIRQL nest by
    IRQL, DPCs drain at DISPATCH_LEVEL after the outermost ISR."""
    try:
        nt = NtKernel(m.kernel)
    except ValueError as exc:
        raise BuildError(f"machine.os = 'windows': {exc}") from None
    for driver in m.drivers.values():
        driver.nt = nt
    m.nt = nt


def _add_workload(m: Machine, threads: int) -> None:
    """``threads`` cpu-bound user threads on every CPU."""
    sched = m.kernel.sched
    for cpu in range(m.spec.machine.cpus):
        for i in range(threads):
            name = f"cpu-bound/{cpu}" if threads == 1 else f"cpu-bound/{cpu}.{i}"
            sched.wake_up_process(sched.kthread_create(name, cpu, cpu_bound(), kind=USER))


# -- personalities -------------------------------------------------------------------
def _kernel(m: Machine, ctrl: Any, **kw: Any) -> Kernel:
    ms = m.spec.machine
    t = m.spec.timer
    k = Kernel(m.engine, ctrl, ms.cpus, hz=ms.hz, save_ns=ms.save_cost, restore_ns=ms.restore_cost,
               atomic_sleep=ms.atomic_sleep, tick_ns=t.cost, timer_softirq_ns=t.softirq_cost,
               seed=m.seed, **kw)
    m.kernel = k
    m.ctrl = ctrl
    # The per-CPU timer hardware (LAPIC timer, arch timer, SysTick) fires when the
    # kernel's earliest hrtimer expires; the tick is one of those hrtimers.
    k.raise_local_timer = lambda cpu: m.timers[cpu].request()
    return k



def _build_x86(m: Machine) -> None:
    ms = m.spec.machine
    apic = Apic(ms.cpus, entry_ns=X86_ENTRY_NS if ms.entry_cost is None else ms.entry_cost,
                exit_ns=X86_EXIT_NS if ms.exit_cost is None else ms.exit_cost)
    m.apic = apic
    m.ioapic = IoApic(apic)
    # Windows ISRs nest by IRQL; Linux never nests hard-IRQ handlers.
    nesting = ms.os == "windows" if ms.irq_nesting is None else ms.irq_nesting
    k = _kernel(m, apic, arch="x86", irq_nesting=nesting)
    for cpu in range(ms.cpus):
        k.bind_vector(cpu, LOCAL_TIMER_VECTOR, k.local_timer)
        m.timers.append(Device(m.engine, f"lapic-timer{cpu}",
                               VectorSignal(apic, cpu, LOCAL_TIMER_VECTOR), None))


def _build_arm64(m: Machine) -> None:
    ms = m.spec.machine
    kw: dict[str, int] = {}
    if ms.entry_cost is not None:
        kw["entry_ns"] = ms.entry_cost
    if ms.exit_cost is not None:
        kw["exit_ns"] = ms.exit_cost
    gic = GicV3(ms.cpus, eoi_mode=ms.eoi_mode, **kw)
    m.gic = gic
    k = _kernel(m, gic, arch="arm64", irq_nesting=bool(ms.irq_nesting), split_eoi=ms.eoi_mode == 1)
    chip = GicChip(gic)
    irq = _next_irq(m, 1)
    desc = k.alloc_irq(irq, chip, ARCH_TIMER_PPI, FLOWS["percpu"], "percpu", True)
    gic.set_trigger(ARCH_TIMER_PPI, True)
    for cpu in range(ms.cpus):
        k.bind_vector(cpu, ARCH_TIMER_PPI, desc)
        m.timers.append(Device(m.engine, f"arch_timer{cpu}",
                               LevelSignal(Wire(gic, ARCH_TIMER_PPI, cpu)), None))
    request_irq(k, irq, k.timer_interrupt, IRQF_TIMER, "arch_timer", m.timers)
    m.irqs["arch_timer"] = [irq]


def _build_armv7m(m: Machine) -> None:
    ms = m.spec.machine
    if ms.cpus != 1:
        raise BuildError(f"machine.cpus: a Cortex-M has one core, got {ms.cpus}")
    lines = [d.line for d in m.spec.device if d.line is not None]
    irqs = CORES[ms.core].max_irqs
    for d in m.spec.device:
        if d.line is not None and d.line >= irqs:
            raise BuildError(f"device '{d.name}': line {d.line} is not an IRQn of a {ms.core} "
                             f"(0-{irqs - 1})")
    try:
        nvic = Nvic(max([31, *lines]) + 1, core=ms.core, prigroup=ms.prigroup,
                    clock_hz=round(ms.clock_mhz * 1e6))
    except NvicError as exc:  # prigroup on ARMv6-M, clock_mhz out of range
        raise BuildError(f"machine: {exc}") from None
    m.nvic = nvic
    irq_nesting = True if ms.irq_nesting is None else ms.irq_nesting
    k = _kernel(m, nvic, arch="armv7m", irq_nesting=irq_nesting, eoi_on_return=True,
                tail_chaining=True)
    k.bind_vector(0, SYSTICK, k.local_timer)
    m.timers.append(Device(m.engine, "systick", PendSignal(nvic, SYSTICK), None))


# -- devices --------------------------------------------------------------------------
def _next_irq(m: Machine, start: int) -> int:
    """The lowest free IRQ number from ``start`` (the caller allocates it)."""
    irq = m.next_free.get(start, start)
    while irq in m.kernel.descs:
        irq += 1
    m.next_free[start] = irq
    return irq


def _pci_address(index: int) -> tuple[int, int, int]:
    """(bus, device, function) of the scenario's device ``index``: device 0 on
    bus 1 (01:00.0), the next on bus 2 ... one device per bus; past 255 devices
    the device and function fields count on, so that each of the
    ``MAX_DEVICES`` has its own requester id."""
    n = index + 1
    return n & 0xFF, (n >> 8) & 0x1F, (n >> 13) & 0x7


def _cpu_of(spec: DeviceSpec, i: int) -> int:
    if isinstance(spec.cpu, list):
        return spec.cpu[i % len(spec.cpu)]
    return spec.cpu


def _vector_of(m: Machine, spec: DeviceSpec, i: int, cpu: int) -> int:
    k = m.kernel
    if spec.vector is not None:
        vectors = spec.vector if isinstance(spec.vector, list) else [spec.vector]
        if i >= len(vectors):
            raise BuildError(f"device '{spec.name}': vector list has {len(vectors)} entries for "
                             f"{spec.vectors} vectors")
        v = vectors[i]
        linux = m.spec.machine.os == "linux"
        if not FIRST_DEVICE_VECTOR - 1 <= v < FIRST_SYSTEM_VECTOR or (linux and v == IA32_SYSCALL_VECTOR):
            raise BuildError(f"device '{spec.name}': vector {v:#x} is not a device vector "
                             f"(0x20-{FIRST_SYSTEM_VECTOR - 1:#x}" + (", not 0x80)" if linux else ")"))
        if v in k.vector_irq[cpu]:
            raise BuildError(f"device '{spec.name}': vector {v:#x} on CPU {cpu} is already in use")
        return v
    first = WINDOWS_FIRST_DEVICE_VECTOR if m.spec.machine.os == "windows" else FIRST_DEVICE_VECTOR
    for v in range(first, FIRST_SYSTEM_VECTOR):
        if (v != IA32_SYSCALL_VECTOR or m.spec.machine.os != "linux") and v not in k.vector_irq[cpu]:
            return v
    raise BuildError(f"device '{spec.name}': no free vector left on CPU {cpu}")


def _add_device(m: Machine, spec: DeviceSpec, index: int) -> None:
    try:
        driver = BuiltinDriver(spec.name, spec.handler, m.rng_for(f"handler:{spec.name}"))
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


def _request(m: Machine, irq: int, driver: BuiltinDriver, spec: DeviceSpec, name: str,
             dev: Device) -> None:
    threaded = spec.handler.thread is not None
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
                index: int) -> Device:
    dev = Device(m.engine, name, signal, arrivals_for(spec.arrival, m.rng_for(f"arrivals:{name}"), spec.name))
    dev.irq = irq
    dev.cpu = cpu
    m.devices.setdefault(spec.name, []).append(dev)
    m.irqs.setdefault(spec.name, [])
    if irq not in m.irqs[spec.name]:
        m.irqs[spec.name].append(irq)
    return dev


def _add_line_device(m: Machine, spec: DeviceSpec, driver: BuiltinDriver) -> None:
    k = m.kernel
    line = spec.line or 0
    cpu = _cpu_of(spec, 0)
    level = spec.trigger == "level"
    shared = m.lines.get(line)
    if shared is None:
        chip: IrqChip
        if m.ioapic is not None:
            assert m.apic is not None
            if line >= m.ioapic.pins:
                raise BuildError(f"device '{spec.name}': IO-APIC pin {line} out of range 0-{m.ioapic.pins - 1}")
            chip = IoApicChip(m.apic, m.ioapic)
            irq, hwirq, flow = line, line, "fasteoi" if level else "edge"
            vector = _vector_of(m, spec, 0, cpu)
            m.ioapic.program(line, vector, cpu, level, masked=True)
            sink: Any = m.ioapic
        elif m.gic is not None:
            if not 32 <= line < 1020:
                raise BuildError(f"device '{spec.name}': line {line} is not a GIC SPI (32-1019)")
            chip = GicChip(m.gic)
            irq, hwirq, flow, vector = _next_irq(m, 1), line, "fasteoi", line
            m.gic.set_trigger(line, level)
            m.gic.route(line, cpu)
            if spec.priority is not None:
                m.gic.set_priority(line, spec.priority)
            sink = m.gic
        else:
            assert m.nvic is not None
            chip = NvicChip(m.nvic)
            irq, hwirq, flow, vector = line, line, "simple", line + 16
            m.nvic.set_level_sensitive(line, level)
            if spec.priority is not None:
                m.nvic.set_priority(line + 16, spec.priority)
            sink = m.nvic
        desc = k.alloc_irq(irq, chip, hwirq, FLOWS[flow], flow, level)
        desc.affinity = cpu
        k.bind_vector(cpu, vector, desc)
        shared = m.lines[line] = Line(Wire(sink, line), irq)
    signal: Signal = LevelSignal(shared.wire) if level else EdgeSignal(shared.wire)
    dev = _new_device(m, spec, spec.name, signal, shared.irq, cpu, 0)
    _request(m, shared.irq, driver, spec, spec.name, dev)


def _add_msix_device(m: Machine, spec: DeviceSpec, driver: BuiltinDriver, index: int) -> None:
    k = m.kernel
    if m.nvic is not None:
        raise BuildError(f"device '{spec.name}': a Cortex-M has no MSI")
    bus, slot, fn = _pci_address(index)  # as its IOMMU source id
    if m.apic is not None:
        table = msi.MsixTable(m.apic, spec.vectors)
        # Linux 6.x per-device MSI domains: chip "PCI-MSIX-<domain:bus:dev.fn>",
        # hwirq = the MSI-X table entry (as /proc/interrupts shows them).
        msi_chip = MsiChip(m.apic, table, name=f"PCI-MSIX-0000:{bus:02x}:{slot:02x}.{fn}")
        chip: IrqChip = msi_chip
    else:
        assert m.gic is not None
        chip = GicChip(m.gic)
        chip.name = "ITS-MSI"
    for i in range(spec.vectors):
        cpu = _cpu_of(spec, i)
        irq = _next_irq(m, FIRST_MSI_IRQ if m.apic is not None else 1)
        name = spec.name if spec.vectors == 1 else f"{spec.name}-{i}"
        signal: Signal
        if m.apic is not None:
            vector = _vector_of(m, spec, i, cpu)
            table.program(i, *msi_chip.msi_msg(cpu, vector))
            hwirq = i
            signal = MsiSignal(table, i)
        else:
            assert m.gic is not None
            vector = hwirq = _next_lpi(m)
            if spec.priority is not None:
                m.gic.set_priority(hwirq, spec.priority)
            m.gic.map_lpi(hwirq, cpu)
            signal = LpiSignal(m.gic, hwirq)
        flow = "edge" if m.apic is not None else "fasteoi"
        desc = k.alloc_irq(irq, chip, hwirq, FLOWS[flow], flow, False)
        desc.affinity = cpu
        k.bind_vector(cpu, vector, desc)
        dev = _new_device(m, spec, name, signal, irq, cpu, i)
        _request(m, irq, driver, spec, name, dev)


def _next_lpi(m: Machine) -> int:
    intid = m.next_lpi
    if intid >= 1 << ITS_MAX_LPI_NRBITS:
        raise BuildError(f"no LPI left: Linux's ITS driver allocates INTIDs {LPI_BASE}-"
                         f"{(1 << ITS_MAX_LPI_NRBITS) - 1} (ITS_MAX_LPI_NRBITS = {ITS_MAX_LPI_NRBITS})")
    m.next_lpi += 1
    return intid
