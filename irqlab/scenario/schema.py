"""Scenario files: TOML, validated strictly.  Unknown keys are errors; every
error names the file, the field and what was expected.

Durations and rates are written with units (``"1.5us"``, ``"250k/s"``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    model_validator,
)

from irqlab.events import SOFTIRQ_NAMES
from irqlab.scenario.names import DMA_MISTAKES, IOMMU_IRQ
from irqlab.scenario.plain import HandlerCode, NicQueues
from irqlab.units import MAX_DURATION_NS, parse_duration, parse_rate
from irqlab.usercode import parse_ref

#: Slowest rate: one event in the 64-bit nanosecond clock's range (about 292
#: years, ``irqlab.units.MAX_DURATION_NS``); a slower source's gaps do not fit it.
MIN_RATE_PER_S = 1e9 / MAX_DURATION_NS

#: A bursty source crosses this many ON periods per arrival at most, on average
#: (rate x on >= 1e-6): sparser, it is a Poisson source, and drawing each gap
#: would walk through millions of bursts.
MAX_BURSTS_PER_ARRIVAL = 1_000_000


def _slowest_rate(rate: float) -> float:
    if rate < MIN_RATE_PER_S:
        raise ValueError(f"{rate:g}/s is slower than one event in 292 years (the 64-bit "
                         "nanosecond clock)")
    return rate


Duration = Annotated[int, BeforeValidator(parse_duration)]
Rate = Annotated[float, BeforeValidator(parse_rate), AfterValidator(_slowest_rate)]


class Strict(BaseModel):
    # validators are built on first use: a scenario loaded from the cache of
    # validated scenarios (irqlab.scenario.cache) needs none
    model_config = ConfigDict(extra="forbid", frozen=False, defer_build=True)


class Meta(Strict):
    name: str = "scenario"
    description: str = ""
    duration: Duration = 100_000_000
    seed: int = 1


class Workload(Strict):
    """User threads on every CPU: the application work the machine has left."""

    #: cpu-bound: always runnable, takes every cycle the kernel leaves
    kind: Literal["cpu-bound"] = "cpu-bound"
    #: threads per CPU
    threads: int = Field(1, ge=1, le=64)
    #: the threads are one process whose every thread unmaps memory at this
    #: rate: each unmap is a TLB shootdown of the other CPUs (``irqlab.kernel.mm``)
    tlb_shootdowns: Rate | None = None


#: Fastest core clock the NVIC model takes (``irqlab.hw.nvic``: 10**12 Hz).
MAX_CLOCK_MHZ = 1_000_000


def _clock_mhz(mhz: float) -> float:
    if not math.isfinite(mhz):
        raise ValueError(f"expected a finite number, got {mhz}")
    if mhz > MAX_CLOCK_MHZ:
        raise ValueError(f"expected at most {MAX_CLOCK_MHZ} MHz, got {mhz:g}")
    return mhz


class MachineBase(Strict):
    """Fields every architecture's machine has."""

    cpus: int = Field(2, ge=1, le=256)
    hz: int = Field(250, ge=10, le=10_000)
    #: hard-IRQ handlers may be preempted by higher-priority interrupts
    #: (default: never on Linux x86/arm64, always on the Cortex-M NVIC)
    irq_nesting: bool | None = None
    #: hardware entry / exit cost (default: the personality's)
    entry_cost: Duration | None = None
    exit_cost: Duration | None = None
    #: kernel context save / restore around the dispatcher
    save_cost: Duration = 0
    restore_cost: Duration = 0
    #: what a sleeping call in atomic context does: record it, or stop like a BUG
    atomic_sleep: Literal["record", "bug"] = "record"
    #: user threads (SCHED_NORMAL) competing with ksoftirqd and kworkers
    workload: Workload | None = None
    #: NUMA nodes, of equal size; CPUs are numbered node by node
    numa_nodes: int = Field(1, ge=1, le=64)
    #: CPUs sharing one last-level cache (default: a whole node)
    llc_cpus: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _topology(self) -> MachineBase:
        if self.cpus % self.numa_nodes:
            raise ValueError(f"numa_nodes: {self.cpus} CPUs do not split into "
                             f"{self.numa_nodes} nodes of equal size")
        per_node = self.cpus // self.numa_nodes
        if self.llc_cpus is not None and (self.llc_cpus > per_node or per_node % self.llc_cpus):
            raise ValueError(f"llc_cpus: a node of {per_node} CPUs does not split into "
                             f"last-level caches of {self.llc_cpus} CPUs")
        return self


#: IOMMU vendors by architecture (``machine.iommu``); ``true`` is Intel VT-d,
#: the one IOMMU x86 scenarios had before AMD-Vi and SMMUv3 were modelled
IOMMUS: dict[str, tuple[str, ...]] = {"x86": ("intel", "amd"), "arm64": ("arm-smmuv3",)}


def _iommu_for(arch: str) -> Callable[[Any], str | None]:
    allowed = IOMMUS[arch]

    def check(value: Any) -> str | None:
        if value is False or value is None:
            return None
        if value is True and arch == "x86":
            return "intel"
        if value in allowed:
            return str(value)
        other = next((a for a, names in IOMMUS.items() if value in names), None)
        where = f": '{value}' is an {other} IOMMU" if other else ""
        raise ValueError(f"expected {' or '.join(repr(n) for n in allowed)}"
                         f"{' or true (intel)' if arch == 'x86' else ''}, got {value!r}{where}")

    return check


class X86Machine(MachineBase):
    """Local APIC + IO-APIC + MSI-X (``irqlab.platform.x86``)."""

    arch: Literal["x86"] = "x86"
    #: the operating system's interrupt policy: Linux (kernel/irq, softirqs) or
    #: Windows (ISR at DIRQL, DPC at DISPATCH_LEVEL; ISRs nest by IRQL)
    os: Literal["linux", "windows"] = "linux"
    #: the IOMMU: "intel" (VT-d, dmar0) or "amd" (AMD-Vi, its event log);
    #: its fault interrupt is an MSI to CPU 0
    iommu: Annotated[str | None, BeforeValidator(_iommu_for("x86"))] = None


class Arm64Machine(MachineBase):
    """GICv3 with the ITS (``irqlab.platform.arm64``)."""

    arch: Literal["arm64"]
    os: Literal["linux"] = "linux"
    #: ICC_CTLR_EL1.EOImode: 1 splits priority drop and deactivation
    eoi_mode: Literal[0, 1] = 0
    #: the IOMMU: "arm-smmuv3" (its event queue interrupt is a wired SPI)
    iommu: Annotated[str | None, BeforeValidator(_iommu_for("arm64"))] = None


class TaskSpec(Strict):
    """A FreeRTOS task that waits on its counting semaphore and spends
    ``cost`` on each item an ISR gives it."""

    name: str = Field(pattern=r"^\w+$", max_length=15)  # configMAX_TASK_NAME_LEN 16
    #: FreeRTOS priority: higher runs first (1 .. configMAX_PRIORITIES - 1)
    priority: int = Field(ge=1, le=31)
    cost: Duration
    #: the semaphore's uxMaxCount: gives beyond it fail (errQUEUE_FULL)
    depth: int = Field(16, ge=1, le=1024)


class ArmV7mMachine(MachineBase):
    """Cortex-M NVIC (``irqlab.platform.armv7m``); one core."""

    arch: Literal["armv7m"]
    cpus: int = Field(1, ge=1, le=256)  # a Cortex-M has one core (checked when built)
    os: Literal["linux", "freertos"] = "linux"
    core: Literal["cortex-m0", "cortex-m0+", "cortex-m3", "cortex-m4"] = "cortex-m4"
    clock_mhz: Annotated[float, AfterValidator(_clock_mhz)] = Field(100.0, gt=0)
    prigroup: int = Field(0, ge=0, le=7)
    #: FreeRTOS tasks (machine.os = "freertos")
    task: list[TaskSpec] = []

    @model_validator(mode="after")
    def _check(self) -> ArmV7mMachine:
        if self.task and self.os != "freertos":
            raise ValueError("tasks are FreeRTOS's: machine.task needs machine.os = 'freertos'")
        names = [t.name for t in self.task]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"task names must be unique: {', '.join(sorted(dup))}")
        return self


def _arch_of(v: Any) -> str:
    """The variant's tag: ``arch`` (x86 when absent, as before variants)."""
    arch = v.get("arch", "x86") if isinstance(v, dict) else getattr(v, "arch", "x86")
    return arch if isinstance(arch, str) else repr(arch)


#: the machine section: one validated variant per architecture
MachineSpec = Annotated[
    Annotated[X86Machine, Tag("x86")] | Annotated[Arm64Machine, Tag("arm64")]
    | Annotated[ArmV7mMachine, Tag("armv7m")],
    Discriminator(_arch_of, custom_error_type="invalid_arch",
                  custom_error_message="expected 'x86', 'arm64' or 'armv7m'"),
]


class TimerSpec(Strict):
    """The periodic tick: x86 LAPIC timer (LOC), arm64 arch_timer PPI 30, NVIC SysTick."""

    enabled: bool = True
    cost: Duration = 1_000
    softirq_cost: Duration = 500


class Arrival(Strict):
    kind: Literal["periodic", "poisson", "bursty", "replay", "none"] = "poisson"
    rate: Rate | None = None
    period: Duration | None = None
    phase: Duration = 0
    on: Duration | None = None
    off: Duration | None = None
    times: list[Duration] | None = None

    @model_validator(mode="after")
    def _needs(self) -> Arrival:
        need = {"periodic": ["period"], "poisson": ["rate"], "bursty": ["rate", "on", "off"],
                "replay": ["times"], "none": []}[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"arrival kind '{self.kind}' needs {', '.join(missing)}")
        if self.kind == "bursty" and self.on and (self.rate or 0) * self.on / 1e9 < 1 / MAX_BURSTS_PER_ARRIVAL:
            raise ValueError(f"bursty: rate x on is below one arrival per {MAX_BURSTS_PER_ARRIVAL:,} "
                             "bursts (use kind 'poisson' for so sparse a source)")
        return self


class Cost(Strict):
    """A handler cost model: fixed, uniform, exponential, normal (truncated at
    0), or ``replay`` of measured values in order (cycled)."""

    dist: Literal["fixed", "uniform", "exponential", "normal", "replay"] = "fixed"
    value: Duration | None = None
    min: Duration | None = None
    max: Duration | None = None
    mean: Duration | None = None
    sd: Duration | None = None
    values: list[Duration] | None = None

    @model_validator(mode="after")
    def _needs(self) -> Cost:
        need = {"fixed": ["value"], "uniform": ["min", "max"], "exponential": ["mean"],
                "normal": ["mean", "sd"], "replay": ["values"]}[self.dist]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"cost dist '{self.dist}' needs {', '.join(missing)}")
        return self


def _softirq(name: str) -> str:
    if name not in SOFTIRQ_NAMES:
        raise ValueError(f"expected one of {', '.join(SOFTIRQ_NAMES)}, got {name!r}")
    return name


#: a softirq vector by its kernel name (include/linux/interrupt.h)
SoftirqName = Annotated[str, AfterValidator(_softirq)]


def _cost(v: object) -> object:
    return {"dist": "fixed", "value": v} if isinstance(v, str) else v


CostField = Annotated[Cost, BeforeValidator(_cost)]


def _code_ref(ref: str) -> str:
    parse_ref(ref)
    return ref


class HandlerSpec(Strict, HandlerCode):
    """The driver's top half.  Built in: spend ``cost``, clear ``batch`` requests
    of its device (all when 0), raise ``softirq`` with ``softirq_cost`` per
    request; or ``python = "file:function"`` (a file in the scenario's folder,
    see :mod:`irqlab.usercode`) called with the handler context, once the
    user has consented and the code is bound (:meth:`bind_code`).

    Deferred work: ``thread`` makes it a threaded IRQ (the top half checks its
    device and returns IRQ_WAKE_THREAD; the ``irq/N-name`` thread spends
    ``thread`` and clears the device); ``tasklet_cost`` / ``work_cost`` per
    request go to the driver's tasklet / work item (a work item may then sleep
    ``work_sleeps``)."""

    # factories, not model defaults: pydantic deep-copies a default model for
    # every device (2 s per 10,000 devices)
    cost: CostField = Field(default_factory=lambda: Cost(dist="fixed", value="1us"))
    batch: int = Field(1, ge=0)
    clears: bool = True
    softirq: SoftirqName | None = None
    softirq_cost: Duration = 0
    python: Annotated[str, AfterValidator(_code_ref)] | None = None
    thread: CostField | None = None
    #: IRQF_ONESHOT: the line stays masked until the thread has run
    oneshot: bool = False
    tasklet_cost: Duration | None = None
    work_cost: Duration | None = None
    work_sleeps: Duration = 0
    #: Windows: the ISR queues a DPC (KeInsertQueueDpc) doing this much per request
    dpc_cost: Duration | None = None
    #: FreeRTOS: the ISR gives this task's semaphore per request cleared
    #: (xSemaphoreGiveFromISR, then portYIELD_FROM_ISR)
    give: str | None = None
    _code: Callable[[Any], int] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _check(self) -> HandlerSpec:
        if self.oneshot and self.thread is None:
            raise ValueError("handler.oneshot needs handler.thread (IRQF_ONESHOT masks the line "
                             "until the thread has run)")
        if self.work_sleeps and self.work_cost is None:
            raise ValueError("handler.work_sleeps needs handler.work_cost")
        return self


class FlowShare(Strict):
    """How the offered rate splits over the flows (``irqlab.hw.flows``)."""

    dist: Literal["equal", "zipf", "uniform"] = "equal"
    #: zipf exponent: share of rank r proportional to 1 / r^s
    s: float = Field(1.0, gt=0, le=10)
    min: float = Field(1.0, gt=0)
    max: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> FlowShare:
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g}) is below min ({self.min:g})")
        return self


class FrameSize(Strict):
    """Frame sizes of the flows: each flow's size uniform in [min, max] bytes."""

    min: int = Field(64, ge=64, le=9216)  # ETH_ZLEN + FCS .. a 9000-byte jumbo frame
    max: int = Field(64, ge=64, le=9216)

    @model_validator(mode="after")
    def _check(self) -> FrameSize:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


def _frame_size(v: object) -> object:
    return {"min": v, "max": v} if isinstance(v, int) and not isinstance(v, bool) else v


class Indir(Strict):
    """``ethtool -X DEV equal N`` or ``ethtool -X DEV weight W0 W1 ...``."""

    equal: int | None = Field(None, ge=1)
    weight: list[int] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Indir:
        if (self.equal is None) == (self.weight is None):
            raise ValueError("give one of 'equal' or 'weight'")
        if self.weight is not None and (any(w < 0 for w in self.weight) or not sum(self.weight)):
            raise ValueError("weight: weights must be >= 0 and not all 0")
        return self


class Rfs(Strict):
    """Receive flow steering: ``net.core.rps_sock_flow_entries`` and each
    queue's ``rps_flow_cnt`` (powers of two)."""

    entries: int = Field(32768, ge=1, le=1 << 20)
    flow_cnt: int = Field(4096, ge=1, le=1 << 20)


def _pow2(field: str) -> Callable[[int], int]:
    def check(n: int) -> int:
        if n & (n - 1):
            raise ValueError(f"{field}: {n} is not a power of two")
        return n
    return check


class FlowsSpec(Strict):
    """Traffic as flows (``irqlab.hw.flows``): ``count`` TCP/UDP 4-tuples sharing
    ``rate`` by ``share``, each with a frame ``size``; RSS hashes each packet's
    4-tuple to a queue.  Flows replace the device's ``arrival``."""

    count: int = Field(1, ge=1, le=1 << 20)
    #: offered packets per second over all flows
    rate: Rate
    share: FlowShare = Field(default_factory=FlowShare)
    size: Annotated[FrameSize, BeforeValidator(_frame_size)] = Field(default_factory=FrameSize)
    #: destination port of every flow
    port: int = Field(5201, ge=1, le=65535)


class RssSpec(Strict):
    """Receive-side scaling in the NIC: the Toeplitz key and the indirection
    table (``ethtool -X``)."""

    #: 40 bytes as ethtool prints it ("6d:5a:..."); default Microsoft's example key
    key: str | None = Field(None, pattern=r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){39}$")
    indir_size: Annotated[int, AfterValidator(_pow2("indir_size"))] = Field(128, ge=1, le=4096)
    #: a whole table, or equal / weight; default entry i -> queue i mod n
    indir: list[int] | Indir | None = None
    #: every this long, rewrite the table from its per-entry packet counts
    #: (RSS++: heaviest entries first, each to the least loaded queue); 0: never
    rebalance: Duration = 0


def ethtool_alias(name: str, ethtool: str) -> AliasChoices:
    """A coalescing field also spelled as ``ethtool -C`` spells it
    (``rx-usecs``); errors name the spelling the file used."""
    return AliasChoices(name, ethtool)


class NicCosts(Strict):
    """CPU cost of each stage of the receive path: per interrupt (``irq``: cause
    read, ack) and per frame (``driver``: descriptor, buffer refill, skb;
    ``protocol``: IP + UDP receive in NET_RX; ``app``: the reader's read and
    work, user time).  Model parameters (the built-in scenarios' values), not
    measurements of a particular NIC."""

    irq: Duration = 500
    driver: Duration = 300
    protocol: Duration = 1000
    app: Duration = 700
    #: per frame: a reply's send (the reader's system time) and its completion clean-up
    tx: Duration = 200


class NicSpec(Strict, NicQueues):
    """The device is a NIC: an RX ring per vector filled by its arrivals (the
    rate spread evenly over the queues), a driver in ``receive`` mode, and a
    socket read by an application (``irqlab.machine.netdev``)."""

    #: per-packet: pre-NAPI driver (netif_rx per interrupt); napi: masked poll
    receive: Literal["per-packet", "napi"] = "napi"
    #: ethtool -C rx-usecs: interrupt at most this many us after the first frame
    rx_usecs: int = Field(0, ge=0, le=100_000,
                          validation_alias=ethtool_alias("rx_usecs", "rx-usecs"))
    #: ethtool -C rx-frames; unset: 0 with rx_usecs > 0 (the timer alone), else 1
    rx_frames: int | None = Field(None, ge=0, le=65536,
                                  validation_alias=ethtool_alias("rx_frames", "rx-frames"))
    #: ethtool -C adaptive-rx on: net DIM picks the profile (needs receive = napi)
    adaptive: bool = Field(False, validation_alias=ethtool_alias("adaptive", "adaptive-rx"))
    ring_size: int = Field(512, ge=1, le=65536)
    #: socket receive queue, in packets
    rcvbuf: int = Field(1024, ge=1)
    #: the receive-path figures of the report are measured from this time on
    warmup: Duration = 0
    costs: NicCosts = Field(default_factory=NicCosts)
    #: traffic as flows hashed by RSS (instead of the device's arrival)
    flows: FlowsSpec | None = None
    rss: RssSpec = Field(default_factory=RssSpec)
    #: RPS CPU map of every queue, or one per queue (``rps_cpus``)
    rps_cpus: list[int] | list[list[int]] = []
    #: receive flow steering
    rfs: Rfs | None = None
    #: XPS: the transmit queue of each CPU (by CPU index); default: the flow hash picks
    xps: list[int] | None = None
    #: CPUs of the reading application's threads: flow i is read on app_cpus[i % n]
    #: (default: the first queue's CPU)
    app_cpus: list[int] | None = Field(None, min_length=1)
    #: the application answers each packet (a frame on the queue XPS picks)
    reply: bool = False

    @model_validator(mode="after")
    def _check(self) -> NicSpec:
        if self.rx_usecs == 0 and self.frames() == 0:
            raise ValueError("rx_usecs 0 and rx_frames 0 would never interrupt (ethtool -C "
                             "refuses it); rx_frames 1 turns moderation off")
        if self.adaptive and self.receive != "napi":
            raise ValueError("adaptive needs receive = 'napi' (net DIM samples in the NAPI poll)")
        return self


class DeviceSpec(Strict):
    name: str = Field(pattern=r"^[\w.\-/:\[\]]+$")
    #: line: a wire into the IO-APIC / GIC SPI / NVIC; msix: message-signalled
    kind: Literal["line", "msix"] = "line"
    trigger: Literal["edge", "level"] = "level"
    #: x86 IO-APIC pin, GIC INTID (SPI >= 32, PPI 16-31), NVIC IRQn
    line: int | None = Field(None, ge=0)
    vectors: int = Field(1, ge=1, le=2048)
    #: CPU of each vector/line (static affinity); one value or one per vector
    cpu: int | list[int] = 0
    #: msix: managed interrupts, spread by the kernel over the CPUs (not user-settable;
    #: shut down while all their CPUs are offline)
    managed: bool = False
    #: x86: explicit vector(s); default: allocated
    vector: int | list[int] | None = None
    #: GIC / NVIC priority (lower is more urgent)
    priority: int | None = Field(None, ge=0, le=255)
    shared: bool = False
    arrival: Arrival = Field(default_factory=lambda: Arrival(kind="none"))
    handler: HandlerSpec = Field(default_factory=HandlerSpec)
    #: the device is a NIC with this receive path (MSI-X, Linux)
    nic: NicSpec | None = None
    #: the device's NUMA node (``/sys/bus/pci/devices/.../numa_node``; unset: -1, any node)
    node: int | None = Field(None, ge=0)
    #: irqbalance's class (default: ethernet for a NIC, else other)
    irq_class: Literal["other", "legacy", "storage", "video", "ethernet", "gbit-ethernet",
                       "10gbit-ethernet", "virt-event"] | None = None
    #: ``/proc/irq/N/affinity_hint`` the driver sets
    affinity_hint: list[int] | None = None
    #: the ``[[vm]]`` this device is passed through to (SR-IOV VF / VFIO); its
    #: ``cpu`` then names the guest's vCPUs.  Unassigned devices are the host's.
    assign: str | None = None

    @model_validator(mode="after")
    def _check(self) -> DeviceSpec:
        if self.kind == "line" and self.line is None:
            raise ValueError("a line device needs 'line' (IO-APIC pin, GIC INTID or NVIC IRQn)")
        if self.nic is not None:
            if self.kind != "msix":
                raise ValueError("nic: a NIC's queues are MSI-X vectors (kind = 'msix')")
            if self.handler.model_dump() != HandlerSpec().model_dump():
                raise ValueError("nic: the NIC driver is the handler; drop the handler table")
        if self.kind == "msix" and self.shared:
            raise ValueError("MSI-X vectors cannot be shared")
        if self.managed and (self.kind != "msix" or isinstance(self.cpu, list) or self.cpu):
            raise ValueError("managed: only MSI-X vectors are managed, and the kernel spreads "
                             "them (leave out 'cpu')")
        if self.nic is not None:
            self._check_queues(self.nic)
        return self

    def _check_queues(self, nic: NicSpec) -> None:
        """The NIC's tables name queues that exist."""
        if nic.flows is not None and self.arrival.kind != "none":
            raise ValueError("nic.flows: the flows are the NIC's arrivals: leave 'arrival' out")
        n = self.vectors
        rss = nic.rss
        if isinstance(rss.indir, list):
            if len(rss.indir) != rss.indir_size:
                raise ValueError(f"nic.rss.indir: {len(rss.indir)} entries for indir_size "
                                 f"{rss.indir_size}")
            bad = [q for q in rss.indir if not 0 <= q < n]
            if bad:
                raise ValueError(f"nic.rss.indir: queue {bad[0]} is not one of the {n} queues")
        elif isinstance(rss.indir, Indir):
            if rss.indir.equal is not None and rss.indir.equal > n:
                raise ValueError(f"nic.rss.indir.equal: {rss.indir.equal} queues; the device has {n}")
            if rss.indir.weight is not None and len(rss.indir.weight) > n:
                raise ValueError(f"nic.rss.indir.weight: {len(rss.indir.weight)} weights for {n} queues")
        rps = nic.rps_cpus
        if rps and isinstance(rps[0], list) and len(rps) != n:
            raise ValueError(f"nic.rps_cpus: {len(rps)} maps for {n} queues")
        if nic.xps is not None and any(not 0 <= q < n for q in nic.xps):
            raise ValueError(f"nic.xps: every entry must be a queue 0-{n - 1}")


class FaultSpec(Strict):
    kind: Literal["drop-eoi", "stuck-line", "spurious", "handler-raises", "handler-none", "dma-fault",
                  "slow-handler", "dma-after-unmap", "dma-wrong-direction", "dma-unmapped-iova",
                  "no-context-entry", "bad-irte"]
    device: str | None = None
    at: Duration = 0
    mode: Literal["once", "always"] = "always"
    rate: Rate | None = None
    extra: Duration | None = None
    cpu: int = 0
    #: dma-fault: VT-d fault reason (e.g. 0x06 PTE Read access is not set), the
    #: DMA address and the access; at ``rate``, or once at ``at`` without a rate
    reason: int = Field(0x06, ge=0, le=0xFF)
    address: int = Field(0x7CD80000, ge=0, lt=1 << 64)
    access: Literal["read", "write"] = "read"

    @model_validator(mode="after")
    def _check(self) -> FaultSpec:
        if self.kind == "spurious":
            if self.rate is None:
                raise ValueError("fault 'spurious' needs a rate")
        elif self.device is None:
            raise ValueError(f"fault '{self.kind}' needs the device it applies to")
        if self.kind == "slow-handler" and self.extra is None:
            raise ValueError("fault 'slow-handler' needs 'extra' (added handler time)")
        return self


class VmSpec(Strict):
    """A guest (``irqlab.virt``): its vCPUs run on host CPUs as KVM runs them,
    its own kernel (``os``) takes the interrupts the hypervisor gives it, by
    ``injection`` (the modes of :data:`INJECTION_MODES`, checked against the
    machine's arch).  Costs left out take the defaults of
    ``irqlab.virt.costs`` (published measurements, per arch)."""

    name: str = Field(pattern=r"^[\w.\-]+$", max_length=64)
    vcpus: int = Field(1, ge=1, le=64)
    #: the host CPU of each vCPU; omitted: the host places them
    pin: list[int] | None = None
    os: Literal["linux"] = "linux"
    injection: str = "emulated"
    #: the guest's own user threads on every vCPU (its work share is reported)
    workload: Workload | None = None
    #: VM exit (guest -> host), VM entry (host -> guest), injecting one
    #: virtual interrupt at entry, emulating a trapped EOI, a posted-interrupt
    #: notification processed in guest mode, waking a blocked vCPU
    exit_cost: Duration | None = None
    entry_cost: Duration | None = None
    inject_cost: Duration | None = None
    eoi_cost: Duration | None = None
    notify_cost: Duration | None = None
    wakeup_cost: Duration | None = None


def parse_cpulist(v: object) -> object:
    """A CPU list as ``/proc/irq/N/smp_affinity_list`` takes it
    (``bitmap_parselist``): ``"0-3,8"``, or a list of CPUs, or one CPU."""
    if isinstance(v, int) and not isinstance(v, bool):
        return [v]
    if not isinstance(v, str):
        return v
    cpus: list[int] = []
    for part in v.replace(" ", "").split(","):
        lo, sep, hi = part.partition("-")
        if not (lo.isdigit() and (not sep or hi.isdigit())) or (sep and int(hi) < int(lo)):
            raise ValueError(f"expected a CPU list such as '0-3,8', got {v!r}")
        if int(hi or lo) - int(lo) > 4096:
            raise ValueError(f"CPU range {part!r} is wider than any machine")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


#: the fields each action kind takes (besides ``at`` and ``kind``), required ones first
ACTION_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "set-affinity": (("cpus",), ("irq", "device", "queue")),
    "cpu-offline": (("cpu",), ()),
    "cpu-online": (("cpu",), ()),
    "disable-irq": ((), ("irq", "device", "queue")),
    "enable-irq": ((), ("irq", "device", "queue")),
    "rate": (("device", "rate"), ("queue",)),
    "coalesce": (("device",), ("rx_usecs", "rx_frames", "adaptive")),
}


class ActionSpec(Strict):
    """Something done to the running machine at ``at``, as an administrator
    would: write ``/proc/irq/N/smp_affinity_list`` (``set-affinity``), echo
    0/1 to ``/sys/devices/system/cpu/cpuN/online``, disable or enable an IRQ,
    ``ethtool -C`` a NIC (``coalesce``), change a device's arrival rate.  An
    IRQ is named by number (``irq``) or by ``device`` (every vector, or the
    one of ``queue``)."""

    at: Duration
    kind: Literal["set-affinity", "cpu-offline", "cpu-online", "disable-irq", "enable-irq",
                  "coalesce", "rate"]
    irq: int | None = Field(None, ge=0)
    device: str | None = None
    queue: int | None = Field(None, ge=0)
    cpus: Annotated[list[Annotated[int, Field(ge=0)]], BeforeValidator(parse_cpulist)] | None = None
    cpu: int | None = Field(None, ge=0)
    rate: Rate | None = None
    #: coalesce: as NicSpec's, what is left out stays
    rx_usecs: int | None = Field(None, ge=0, le=100_000,
                                 validation_alias=ethtool_alias("rx_usecs", "rx-usecs"))
    rx_frames: int | None = Field(None, ge=0, le=65536,
                                  validation_alias=ethtool_alias("rx_frames", "rx-frames"))
    adaptive: bool | None = Field(None, validation_alias=ethtool_alias("adaptive", "adaptive-rx"))

    @model_validator(mode="after")
    def _check(self) -> ActionSpec:
        required, optional = ACTION_FIELDS[self.kind]
        for name in ("irq", "device", "queue", "cpus", "cpu", "rate", "rx_usecs", "rx_frames",
                     "adaptive"):
            given = getattr(self, name) is not None
            if given and name not in required + optional:
                raise ValueError(f"'{name}' is not a field of a '{self.kind}' action")
            if not given and name in required:
                raise ValueError(f"a '{self.kind}' action needs '{name}'")
        if "irq" in optional and (self.irq is None) == (self.device is None):
            raise ValueError(f"a '{self.kind}' action names either 'irq' or 'device'")
        if self.queue is not None and self.device is None:
            raise ValueError("'queue' is a queue of a 'device'")
        if self.cpus == []:
            raise ValueError("'cpus' is empty (writing an empty list is -EINVAL)")
        if self.kind == "coalesce" and self.rx_usecs is None and self.rx_frames is None \
                and self.adaptive is None:
            raise ValueError("a 'coalesce' action sets rx_usecs, rx_frames or adaptive")
        if self.rx_usecs == 0 and self.rx_frames == 0:
            raise ValueError("rx_usecs 0 and rx_frames 0 would never interrupt (ethtool -C "
                             "refuses it); rx_frames 1 turns moderation off")
        return self


HANDLER_FAULTS = frozenset({"handler-raises", "handler-none", "slow-handler"})
"""Faults that switch a built-in handler's behaviour."""


def _cpu_lists(nic: NicSpec) -> dict[str, list[int]]:
    rps = [c for m in nic.rps_cpus for c in (m if isinstance(m, list) else [m])]
    return {"rps_cpus": rps, "app_cpus": nic.app_cpus or []}


class IrqBalanceSpec(Strict):
    """The interrupt placement policy (``irqlab.machine.irqbalance``)."""

    policy: Literal["static", "irqbalance", "local-node"] = "static"
    #: irqbalance's --interval (SLEEP_INTERVAL, 10 s)
    interval: Duration = Field(10_000_000_000, gt=0)
    #: IRQBALANCE_BANNED_CPULIST
    banned_cpus: list[int] = []


class Scenario(Strict):
    scenario: Meta = Field(default_factory=Meta)
    machine: MachineSpec = Field(default_factory=X86Machine)
    timer: TimerSpec = Field(default_factory=TimerSpec)
    device: list[DeviceSpec] = []
    fault: list[FaultSpec] = []
    action: list[ActionSpec] = []
    vm: list[VmSpec] = []
    irqbalance: IrqBalanceSpec = Field(default_factory=IrqBalanceSpec)

    def _check_nic_cpus(self, name: str, nic: NicSpec) -> None:
        for field, cpus in _cpu_lists(nic).items():
            bad = [c for c in cpus if not 0 <= c < self.machine.cpus]
            if bad:
                raise ValueError(f"device '{name}': nic.{field}: CPU {bad[0]} is not one of the "
                                 f"{self.machine.cpus} CPUs")
        if nic.xps is not None and len(nic.xps) != self.machine.cpus:
            raise ValueError(f"device '{name}': nic.xps: {len(nic.xps)} entries for "
                             f"{self.machine.cpus} CPUs (one transmit queue per CPU)")
        for field in ("entries", "flow_cnt"):
            n = getattr(nic.rfs, field, 1)
            if n & (n - 1):
                raise ValueError(f"device '{name}': nic.rfs.{field}: {n} is not a power of two")

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        counts = Counter(d.name for d in self.device)
        dup = sorted(n for n, c in counts.items() if c > 1)
        if dup:
            more = f" and {len(dup) - 5} more" if len(dup) > 5 else ""
            raise ValueError(f"device names must be unique: {', '.join(dup[:5])}{more}")
        for i, f in enumerate(self.fault):
            if f.device is not None and f.device not in counts:
                raise ValueError(f"fault[{i}].device: no device named '{f.device}'")
            if (f.device is not None and f.kind in HANDLER_FAULTS
                    and next(d for d in self.device if d.name == f.device).nic is not None):
                raise ValueError(f"fault[{i}]: '{f.kind}' acts on a built-in handler; "
                                 f"'{f.device}' is a NIC (its driver is the NIC driver)")
            self._check_iommu_fault(i, f)
        iommu = getattr(self.machine, "iommu", None)
        if iommu is not None and IOMMU_IRQ[iommu] in counts:
            raise ValueError(f"device name '{IOMMU_IRQ[iommu]}' is the IOMMU's own interrupt "
                             f"(machine.iommu = '{iommu}')")
        if iommu not in (None, "intel") and self.machine.os == "windows":
            raise ValueError(f"machine.iommu = '{iommu}': the Windows fault ISR modelled is "
                             "nt!IvtHandleInterrupt, Intel VT-d's: use 'intel'")
        os = self.machine.os
        nics = [d.name for d in self.device if d.nic is not None]
        for d in self.device:
            if d.nic is not None and d.nic.warmup >= self.scenario.duration:
                raise ValueError(f"device '{d.name}': nic.warmup: {d.nic.warmup} ns is not "
                                 f"shorter than the run ({self.scenario.duration} ns)")
        if nics and os != "linux":
            raise ValueError(f"device '{nics[0]}': nic: the receive path (NAPI, NET_RX) is Linux; "
                             "needs machine.os = 'linux'")
        if len(nics) > 1:
            raise ValueError(f"device '{nics[1]}': nic: one NIC per scenario (the receive path "
                             f"has one socket; '{nics[0]}' is the NIC)")
        tasks = {t.name for t in getattr(self.machine, "task", [])}
        for d in self.device:
            if d.handler.dpc_cost is not None and os != "windows":
                raise ValueError(f"device '{d.name}': handler.dpc_cost needs machine.os = 'windows'")
            if d.handler.give is not None and d.handler.give not in tasks:
                raise ValueError(f"device '{d.name}': handler.give: no task named "
                                 f"'{d.handler.give}' in machine.task")
            if os != "linux" and (d.handler.softirq or d.handler.tasklet_cost is not None
                                  or d.handler.thread is not None):
                raise ValueError(f"device '{d.name}': softirqs, tasklets and threaded handlers are "
                                 f"Linux; under machine.os = '{os}' use "
                                 + ("handler.dpc_cost" if os == "windows" else "handler.give"))
            cpus = d.cpu if isinstance(d.cpu, list) else [d.cpu]
            bad = [c for c in cpus if not 0 <= c < self.machine.cpus]
            if bad and d.assign is None:  # an assigned device's cpu is a vCPU (loader.vm_errors)
                raise ValueError(f"device '{d.name}': cpu {bad[0]} is not one of the "
                                 f"{self.machine.cpus} CPUs")
            if d.nic is not None:
                self._check_nic_cpus(d.name, d.nic)
            nodes = getattr(self.machine, "numa_nodes", 1)
            if d.node is not None and d.node >= nodes:
                raise ValueError(f"device '{d.name}': node {d.node} is not one of the {nodes} "
                                 "NUMA nodes")
            bad = [c for c in d.affinity_hint or [] if not 0 <= c < self.machine.cpus]
            if bad:
                raise ValueError(f"device '{d.name}': affinity_hint: CPU {bad[0]} is not one of "
                                 f"the {self.machine.cpus} CPUs")
        bad = [c for c in self.irqbalance.banned_cpus if not 0 <= c < self.machine.cpus]
        if bad:
            raise ValueError(f"irqbalance.banned_cpus: CPU {bad[0]} is not one of the "
                             f"{self.machine.cpus} CPUs")
        if self.irqbalance.banned_cpus and len(set(self.irqbalance.banned_cpus)) >= self.machine.cpus:
            raise ValueError("irqbalance.banned_cpus: every CPU is banned")
        return self

    def _check_iommu_fault(self, i: int, f: FaultSpec) -> None:
        iommu = getattr(self.machine, "iommu", None)
        if f.kind == "dma-fault" and iommu is None:
            raise ValueError(f"fault[{i}]: 'dma-fault' needs machine.iommu")
        if f.kind == "dma-fault" and iommu != "intel":
            raise ValueError(f"fault[{i}]: 'dma-fault' injects a VT-d fault record: it needs "
                             f"machine.iommu = 'intel' (for '{iommu}' use the modelled mistakes: "
                             f"{', '.join(DMA_MISTAKES)})")
        if f.kind not in DMA_MISTAKES:
            return
        if iommu is None:
            raise ValueError(f"fault[{i}]: '{f.kind}' needs machine.iommu")
        dev = next(d for d in self.device if d.name == f.device)
        if dev.kind != "msix":
            raise ValueError(f"fault[{i}]: '{f.kind}': device '{dev.name}' is a line device; DMA "
                             "and interrupt remapping are modelled for MSI-X (PCIe) devices")
        if dev.nic is not None:
            raise ValueError(f"fault[{i}]: '{f.kind}' acts on a built-in driver's DMA; "
                             f"'{dev.name}' is a NIC (its driver is the NIC driver)")
        if dev.assign is not None:
            raise ValueError(f"fault[{i}]: '{f.kind}' acts on a host driver's DMA; '{dev.name}' is "
                             f"assigned to guest '{dev.assign}'")
        if f.kind == "bad-irte" and iommu == "arm-smmuv3":
            raise ValueError(f"fault[{i}]: 'bad-irte' needs interrupt remapping (machine.iommu = "
                             "'intel' or 'amd'); on arm64 the GIC ITS, not the SMMU, translates MSIs")
