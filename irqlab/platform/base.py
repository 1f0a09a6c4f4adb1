"""What a platform is to the machine builder: the controllers and per-CPU
timer of one architecture, how IRQs, vectors and messages are allocated on
them, its ``/proc/interrupts`` rows and what a missed EOI blocks (as Linux
keeps ``arch/x86/kernel/apic/``, ``irq-gic-v3.c`` and the NVIC driver apart
from ``kernel/irq``).  A platform also implements the generic layer's
:class:`irqlab.kernel.arch.Arch` hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from irqlab.events import X86_ROWS, CounterRow
from irqlab.hw.remapping import RemapUnit, source_id
from irqlab.machine.errors import BuildError

if TYPE_CHECKING:
    from collections.abc import Callable

    from irqlab.events import CounterSnapshot
    from irqlab.hw.controller import LineSink
    from irqlab.hw.device import Signal
    from irqlab.kernel.desc import IrqDesc
    from irqlab.kernel.kernel import Kernel
    from irqlab.kernel.printk import KernelWarning
    from irqlab.machine.machine import Machine
    from irqlab.scenario.schema import DeviceSpec


V = TypeVar("V")


class Board:
    """A platform's hardware for one machine: the interrupt controller the
    CPUs take interrupts from, and how the kernel must drive it.  Platforms
    subclass it to keep their other parts (IO-APIC, IOMMU).

    ``irq_nesting`` is None where the OS decides (Linux never nests hard-IRQ
    handlers, Windows nests by IRQL); the NVIC always nests by priority."""

    def __init__(self, ctrl: Any, *, irq_nesting: bool | None = None, split_eoi: bool = False,
                 eoi_on_return: bool = False, tail_chaining: bool = False) -> None:
        self.ctrl = ctrl
        self.irq_nesting = irq_nesting
        self.split_eoi = split_eoi
        self.eoi_on_return = eoi_on_return
        self.tail_chaining = tail_chaining
        #: the IOMMU (``machine.iommu``), built with the board so that interrupt
        #: remapping is there when the devices' vectors are set up
        self.iommu: RemapUnit | None = None

    def vector_matrix(self) -> str | None:
        """The per-CPU vector allocator's debugfs view, where the
        architecture has per-CPU vectors (x86); None elsewhere."""
        return None


class Platform(Protocol):
    #: the scenario's ``machine.arch``
    arch: str

    def board(self, m: Machine) -> Board:
        """Create the controller and the per-CPU timer devices (``m.timers``)."""

    def boot(self, m: Machine) -> None:
        """With ``m.kernel`` built: bind the timer's vector or IRQ."""

    def add_line(self, m: Machine, spec: DeviceSpec, line: int, cpu: int,
                 level: bool) -> tuple[int, LineSink]:
        """Allocate the IRQ of a wired input (descriptor, vector, routing) and
        return it with the sink its wire drives."""

    def add_msi(self, m: Machine, spec: DeviceSpec,
                index: int) -> Callable[[int, int, bool], tuple[int, Signal]]:
        """The allocator of the scenario's MSI-X device ``index``: called with
        (entry, affinity mask, managed) it allocates that message's IRQ
        (descriptor, vector or LPI, the message) and returns it with the
        signal the device raises; a BuildError without MSI."""

    def isr_name(self, device: str) -> str:
        """The name a device's handler is registered and reported under."""

    def finish(self, m: Machine) -> None:
        """After the devices: the platform's own interrupt sources (an IOMMU)."""

    def missed_eoi(self, m: Machine) -> list[KernelWarning]:
        """Interrupts left blocked at the end of a run by an EOI that never came."""

    # -- irqlab.kernel.arch.Arch --------------------------------------------------------
    def spurious_vector(self, k: Kernel, cpu: int, vector: int) -> None: ...

    def no_irq_handler(self, k: Kernel, cpu: int, vector: int) -> None: ...

    def trigger_name(self, d: IrqDesc) -> str: ...

    def arch_show_interrupts(self, k: Kernel, snap: CounterSnapshot) -> None: ...

    def send_ipi(self, k: Kernel, cpu: int, ipi: int) -> None: ...

    def flush_tlb_multi(self, k: Kernel, this_cpu: int, cpus: list[int]) -> int: ...


def machine_spec(m: Machine, variant: type[V]) -> V:
    """The scenario's machine section, which must be the platform's variant."""
    ms = m.spec.machine
    if not isinstance(ms, variant):
        raise BuildError(f"machine.arch: '{ms.arch}' is not a {variant.__name__}")
    return ms


def next_irq(m: Machine, start: int) -> int:
    """The lowest free IRQ number from ``start`` (the caller allocates it)."""
    irq = m.next_free.get(start, start)
    while irq in m.kernel.descs:
        irq += 1
    m.next_free[start] = irq
    return irq


def pci_address(index: int) -> tuple[int, int, int]:
    """(bus, device, function) of the scenario's device ``index``: device 0 on
    bus 1 (01:00.0), the next on bus 2 ... one device per bus; past 255 devices
    the device and function fields count on, so that each of the
    ``MAX_DEVICES`` has its own requester id."""
    n = index + 1
    return n & 0xFF, (n >> 8) & 0x1F, (n >> 13) & 0x7


def pci_sids(m: Machine) -> None:
    """The PCI requester id of every device (``m.sids``), as an IOMMU names them."""
    for i, dev in enumerate(m.spec.device):
        m.sids[dev.name] = source_id(*pci_address(i))


def no_handler(k: Kernel, msg: str) -> None:
    """An interrupt with nothing in the vector table: ``irq_err_count`` and the log."""
    k.irq_stat.err_count += 1
    k.printk(msg)
    k.warn("no-handler", None, msg)


def show_counted_rows(k: Kernel, snap: CounterSnapshot, names: dict[str, str]) -> None:
    """Arm's ``arch_show_interrupts``: every row the kernel counted (known names
    first, in the kernel's order), then ``Err``."""
    counts = k.irq_stat.counts
    rows = [r for r in X86_ROWS if r in counts] + [r for r in counts if r not in X86_ROWS]
    add_rows(k, snap, rows, names)
    snap.rows["Err"] = CounterRow(label="Err", per_cpu=[k.irq_stat.err_count])


def add_rows(k: Kernel, snap: CounterSnapshot, rows: list[str], names: dict[str, str]) -> None:
    """Per-CPU architecture rows (``arch_show_interrupts``), described by the
    kernel's x86 names or the platform's ``names``."""
    zero = [0] * k.ncpus
    for row in rows:
        desc = X86_ROWS.get(row) or names.get(row) or row
        snap.rows[row] = CounterRow(label=row, per_cpu=list(k.irq_stat.counts.get(row, zero)),
                                    name=desc)
