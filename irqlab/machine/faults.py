"""Fault injection from the scenario: lost EOI (once or always), a stuck level
line, spurious interrupts at a rate, handlers that raise, lie (IRQ_NONE) or
run slow, an injected VT-d fault record, and drivers' DMA mistakes
(``machine.dma``).  Each fault switches on at its ``at`` time and is logged so the
report can point at it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from irqlab.hw.arrivals import Poisson
from irqlab.hw.iommu import VtdUnit
from irqlab.machine.errors import BuildError
from irqlab.machine.machine import Machine
from irqlab.scenario.names import DMA_MISTAKES

if TYPE_CHECKING:
    from irqlab.scenario.schema import FaultSpec


def install(m: Machine) -> None:
    for i, fault in enumerate(m.spec.fault):
        if fault.kind == "spurious":
            _spurious(m, i, fault)
        elif fault.kind == "dma-fault":
            _dma_faults(m, i, fault)
        elif fault.kind in DMA_MISTAKES:
            assert m.dma is not None  # the scenario checked machine.iommu
            m.dma.make_mistake(i, fault)
        else:
            m.engine.at(fault.at, _activate, (m, fault))


def _activate(arg: tuple[Machine, FaultSpec]) -> None:
    m, fault = arg
    k = m.kernel
    name = fault.device or ""
    irqs = m.irqs[name]
    if fault.kind == "drop-eoi":
        for irq in irqs:
            k.descs[irq].drop_eoi = 1 if fault.mode == "once" else 2
        k.printk(f"fault: {name}: EOI will be dropped ({fault.mode})")
    elif fault.kind == "stuck-line":
        for dev in m.devices[name]:
            wire = getattr(dev.signal, "wire", None)
            if wire is not None:
                wire.stick()
        k.printk(f"fault: {name}: interrupt line stuck asserted")
    elif fault.kind == "handler-raises":
        m.drivers[name].raises = True
    elif fault.kind == "handler-none":
        m.drivers[name].force_none = True
    elif fault.kind == "slow-handler":
        m.drivers[name].extra_ns = fault.extra or 0


def _repeat(m: Machine, i: int, fault: FaultSpec, act: Callable[[], object],
            first_at_start: bool) -> None:
    """Run ``act`` at Poisson ``rate`` (its own random stream) from ``at`` —
    the first time at ``at`` itself when ``first_at_start`` — or once at ``at``
    when the fault has no rate."""
    arrivals = None
    if fault.rate is not None:
        try:
            arrivals = Poisson(fault.rate, m.rng_for(f"fault:{i}"))
        except ValueError as exc:
            raise BuildError(f"fault[{i}].rate: {exc}") from None

    def fire(_: object) -> None:
        act()
        if arrivals is not None:
            m.engine.after(arrivals.next_gap(), fire)  # a Poisson source never ends

    delay = 0 if first_at_start or arrivals is None else arrivals.next_gap()
    m.engine.at(fault.at + delay, fire)


def _spurious(m: Machine, i: int, fault: FaultSpec) -> None:
    """Spurious interrupts: on a device's line (a glitch the driver does not
    recognise: its handler returns IRQ_NONE), or at the controller (x86 spurious
    vector 0xFF, GIC INTID 1023: the CPU was signalled but nothing was there)."""

    def glitch() -> None:
        if fault.device is not None:
            for dev in m.devices[fault.device]:
                dev.signal.raise_()
                dev.signal.quiesce()
        else:
            m.kernel.take_spurious(fault.cpu)

    _repeat(m, i, fault, glitch, first_at_start=False)


def _dma_faults(m: Machine, i: int, fault: FaultSpec) -> None:
    """The device's DMA misses its IOMMU mapping: a translation fault at the
    VT-d unit, once at ``at`` or at ``rate`` from ``at``."""
    unit = m.board.iommu
    assert isinstance(unit, VtdUnit)  # the scenario checked machine.iommu = "intel"
    sid = m.sids[fault.device or ""]
    write = fault.access == "write"
    _repeat(m, i, fault, lambda: unit.dma_fault(sid, fault.address, fault.reason, write),
            first_at_start=True)
