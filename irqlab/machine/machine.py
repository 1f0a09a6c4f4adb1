"""A built machine: engine, controller, kernel, OS personality, devices and
their drivers, as ``machine.build`` assembles them from a scenario."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irqlab.events import Tracepoints
from irqlab.hw.device import Device, Wire
from irqlab.sim.engine import Engine
from irqlab.sim.rng import stream

if TYPE_CHECKING:
    from irqlab.kernel.kernel import Kernel
    from irqlab.kernel.mm import Mm
    from irqlab.machine.dma import DmaMachine
    from irqlab.machine.irqbalance import Balancer
    from irqlab.machine.isr import BuiltinDriver
    from irqlab.machine.netdev import RxPath
    from irqlab.os.base import Personality
    from irqlab.platform import Board, Platform
    from irqlab.scenario.schema import Scenario
    from irqlab.virt.kvm import Kvm


class Line:
    """One interrupt input shared by the devices wired to it."""

    def __init__(self, wire: Wire, irq: int) -> None:
        self.wire = wire
        self.irq = irq


class Machine:
    """A built machine.  ``board`` is the platform's own state (its
    controllers, IOMMU); ``os`` the OS personality; ``trace`` the tracepoints
    every event of the run goes through."""

    def __init__(self, spec: Scenario, seed: int, engine: Engine | None = None) -> None:
        self.spec = spec
        self.seed = seed
        #: a guest's machine shares its host's engine
        self.engine = engine if engine is not None else Engine()
        self.trace = Tracepoints(self._now)
        self.devices: dict[str, list[Device]] = {}
        self.drivers: dict[str, BuiltinDriver] = {}
        self.irqs: dict[str, list[int]] = {}
        #: the receive path of each NIC device (a device with a ``nic`` table)
        self.nics: dict[str, RxPath] = {}
        #: the workload's process when it unmaps memory (``workload.tlb_shootdowns``)
        self.mm: Mm | None = None
        #: the interrupt placement policy (``[irqbalance]``)
        self.balancer: Balancer
        self.lines: dict[int, Line] = {}
        #: per-CPU timer hardware (LAPIC timer, arch timer, SysTick)
        self.timers: list[Device] = []
        self.ctrl: Any = None
        self.kernel: Kernel
        self.platform: Platform
        self.board: Board
        self.os: Personality
        #: PCI source id (bus:dev.fn) of each device, for IOMMU faults
        self.sids: dict[str, int] = {}
        #: drivers' DMA through the IOMMU and its fault links (with an IOMMU)
        self.dma: DmaMachine | None = None
        #: where the search for a free IRQ number (by its start) goes on:
        #: numbers are never freed while building, so each search is linear once
        self.next_free: dict[int, int] = {}
        #: the hypervisor of a host with ``[[vm]]`` guests (``irqlab.virt``)
        self.hypervisor: Kvm | None = None

    def _now(self) -> int:
        return self.engine.now

    def rng_for(self, name: str) -> Any:
        return stream(self.seed, name)
