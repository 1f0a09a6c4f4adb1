"""Machines built around the driver under check, one per variant a check
needs, and what a run of one shows.

A variant is a scenario model (``irqlab.scenario.schema``): the chosen
platform and OS, the driver's device (``dut``, named after the driver), and
whatever the check adds (a second device on the line, faults, a flood, a
workload).  The machine is built as ``irqlab run`` builds it; then the
driver's own functions are requested on the device's IRQ as a driver's probe
routine would (``free_irq`` of the placeholder, ``request_threaded_irq`` with
the driver's handler, thread function and flags), so the kernel's own rules
accept or refuse them.  Every run is deterministic from the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from irqlab.analysis.histogram import Histogram
from irqlab.analysis.irqstats import IrqStats
from irqlab.check.driver import CheckError, Driver
from irqlab.check.result import WARN, CheckResult, not_run
from irqlab.events import IRQ_ENTRY, IRQ_EXIT, IRQ_RAISE
from irqlab.kernel.action import Handler, HandlerContext
from irqlab.kernel.flags import (
    IRQ_HANDLED,
    IRQ_NONE,
    IRQ_WAKE_THREAD,
    IRQF_SHARED,
    IRQF_TRIGGER_HIGH,
    IRQF_TRIGGER_RISING,
)
from irqlab.kernel.manage import IrqRequestError, free_irq, request_threaded_irq
from irqlab.machine.build import Machine, build
from irqlab.machine.errors import BuildError
from irqlab.machine.run import KernelWarning, Sink, cpu_time_ns, machine_warnings, simulate
from irqlab.runner import simulation_report
from irqlab.scenario.loader import consistency_errors, format_errors
from irqlab.scenario.schema import DeviceSpec, HandlerSpec, Scenario
from irqlab.sim.engine import StopSimulation
from irqlab.units import format_ns

PLATFORMS = ("x86", "arm64", "armv7m")
OSES = ("linux", "windows", "freertos")
#: the DUT's line on each platform: an IO-APIC pin of the PCI INTx range
#: (16-23), a GIC SPI, an NVIC IRQn
DUT_LINE = {"x86": 16, "arm64": 48, "armv7m": 5}
CPUS = {"x86": 2, "arm64": 2, "armv7m": 1}
#: requests of the nominal run: enough for a p99, few enough to stay quick
NOMINAL_ARRIVALS = 1000
#: handler calls a run needs to judge a check
MIN_CALLS = 20
#: simulator events per run at most
MAX_EVENTS = 150_000
#: an interrupt storm: the handler called this many times per request its
#: device made (and more than STORM_CALLS times): the run stops there
STORM_RATIO = 10
STORM_CALLS = 5_000


def hosts(os: str) -> list[str]:
    """The platforms whose machine the scenario model lets run ``os`` (asked
    of the model, so an OS personality is checkable as soon as it exists)."""
    out = []
    for arch in PLATFORMS:
        try:
            Scenario.model_validate({"machine": {"arch": arch, "cpus": CPUS[arch], "os": os}})
        except ValidationError:
            continue
        out.append(arch)
    return out


def ns(value: float) -> str:
    """A time in ns as a scenario writes it."""
    return f"{round(value)}ns"


def per_s(rate: float) -> str:
    """A rate as a scenario writes it."""
    return f"{rate:.6g}/s"


class Probe:
    """The driver's top half as requested: calls it and records what the
    device looked like before and after, and what the handler answered."""

    def __init__(self, fn: Handler, driver: str, storm_calls: int = 0) -> None:
        self.fn = fn
        #: calls after which a storm stops the run (0: STORM_CALLS)
        self.storm_calls = storm_calls or STORM_CALLS
        self.symbol = getattr(fn, "__name__", "handler")  # what handler_symbol prints
        self.module = driver
        self.calls = 0
        self.idle_calls = 0  # called with nothing pending at its device
        self.idle_claimed: list[int] = []  # ... and answered IRQ_HANDLED: times
        self.missed: list[int] = []  # its device was pending and it answered IRQ_NONE: times
        self.uncleared: list[int] = []  # its device pending, nothing cleared, no thread woken: times
        self.uncleared_none = 0  # ... answering IRQ_NONE (it did not recognise its interrupt)
        self.woke_asserted: list[int] = []  # woke the thread, its level source still asserted: times
        self.exits: list[int] = []  # when each call returned (simulated ns)
        self.cpu_ns: list[int] = []  # CPU time of each call (ctx.spend)

    def __call__(self, ctx: HandlerContext) -> int:
        dev = ctx.device
        self.calls += 1
        if self.calls > self.storm_calls and self.calls > STORM_RATIO * dev.raised:
            raise StopSimulation(f"interrupt storm: {self.calls} calls of the handler for "
                                 f"{dev.raised} requests")
        before = dev.status
        spent = ctx.cost
        ret = self.fn(ctx)
        code = ret if isinstance(ret, int) else IRQ_NONE
        self.cpu_ns.append(ctx.cost - spent)
        now = ctx.now  # when it returned
        if not before:
            self.idle_calls += 1
            if code & IRQ_HANDLED:
                self.idle_claimed.append(now)
        elif code == IRQ_NONE:
            self.missed.append(now)
        after = dev.status
        if before and after >= before:
            (self.woke_asserted if code & IRQ_WAKE_THREAD else self.uncleared).append(now)
            self.uncleared_none += code == IRQ_NONE
        self.exits.append(now)
        return ret


class Responses:
    """Per DUT IRQ: raise -> end of the handler (the response time of an
    interrupt) and raise -> handler entry (its latency), from the events.  An
    invocation serves every raise before its entry (one pending bit)."""

    def __init__(self, irqs: list[int]) -> None:
        self.irqs = set(irqs)
        self.pending: dict[int, int] = {}
        self.serving: dict[int, int] = {}
        self.response_ns: list[int] = []

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        if irq not in self.irqs:
            return
        if kind == IRQ_RAISE:
            self.pending.setdefault(irq, ts_ns)
        elif kind == IRQ_ENTRY and irq in self.pending:
            self.serving[irq] = self.pending.pop(irq)
        elif kind == IRQ_EXIT and irq in self.serving:
            self.response_ns.append(ts_ns - self.serving.pop(irq))


@dataclass
class Run:
    """What one variant showed."""

    machine: Machine
    irqs: list[int]
    stats: IrqStats
    probe: Probe | None
    responses: Responses
    warnings: list[KernelWarning]
    cpu_time: dict[int, dict[str, int]]
    log: list[tuple[int, str]]
    refused: str | None = None  # the kernel's message when request_threaded_irq failed

    @property
    def stopped(self) -> str | None:
        """Why the run ended before its time (an interrupt storm, a BUG), if it did."""
        return self.machine.engine.stop_reason or None

    def report(self) -> dict[str, Any]:
        """The run's report, as ``irqlab run --json`` gives it, cut to the
        DUT's IRQs: its rate, counters and the kernel's warnings about it."""
        full = simulation_report(self.machine, self.stats).to_json()
        mine = {str(i) for i in self.irqs}
        return {"irq_per_s": {k: v for k, v in full["irq_per_s"].items() if k in mine},
                "counters": {k: v for k, v in full["counters"].items() if k in mine},
                "warnings": [w for w in full["warnings"] if w["irq"] in self.irqs]}

    def warned(self, kind: str) -> list[KernelWarning]:
        return [w for w in self.warnings if w.kind == kind]

    def handler_ns(self) -> list[Histogram]:
        """Histograms of the DUT's handler wall time (entry to exit)."""
        return [self.stats.handler_ns[str(i)] for i in self.irqs if str(i) in self.stats.handler_ns]


def unusable(name: str, run: Run, *, whole_run: bool = False) -> CheckResult | None:
    """Why ``run`` cannot judge check ``name``: the kernel refused the
    handler, it ran too few times to say anything, or (for a check that
    needs the ``whole_run``) a storm stopped the run; None when it can."""
    if run.refused:
        return not_run(name, run.refused)
    if whole_run and run.stopped:
        return CheckResult(name, WARN, f"not judged: the run stopped early ({run.stopped})",
                           {"stopped": run.stopped})
    calls = run.probe.calls if run.probe is not None else sum(h.count for h in run.handler_ns())
    if calls < MIN_CALLS:
        return CheckResult(name, WARN, f"not judged: the handler ran {calls} times in "
                           f"{format_ns(run.machine.engine.now)} of its nominal load "
                           f"(DEVICE.arrival); {MIN_CALLS} are needed", {"calls": calls})
    return None


@dataclass
class Rig:
    """Builds and runs variants of one driver on one platform."""

    driver: Driver
    platform: str
    os: str
    seed: int
    base: Scenario | None = None
    cache: dict[str, Run] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.driver.name
        if self.base is None:
            self.base = self.driver.scenario
        #: the scenario's other devices, and the DUT's line beside them
        self.env = [d for d in (self.base.device if self.base else []) if d.name != self.name]
        used = {d.line for d in self.env}
        line = self.driver.device.line if self.driver.scenario else DUT_LINE[self.platform]
        while self.driver.scenario is None and line in used:
            line = (line or 0) + 1
        self.line = line

    def spare_lines(self, n: int) -> list[int]:
        """``n`` lines after the DUT's that no device of the machine uses."""
        used = {d.line for d in self.env} | {self.line}
        out: list[int] = []
        line = DUT_LINE[self.platform]
        while len(out) < n:
            line += 1
            if line not in used:
                out.append(line)
        return out

    @property
    def nominal_rate(self) -> float:
        """Requests per second of the driver's nominal load."""
        a = self.dut.arrival
        if a.kind == "periodic":
            return 1e9 / max(a.period or 1, 1)
        if a.kind == "replay":
            times = a.times or [0]
            return len(times) * 1e9 / max(max(times), 1)
        return a.rate or 0.0

    @property
    def dut(self) -> DeviceSpec:
        return self.driver.device

    def duration(self, arrivals: int) -> int:
        """Simulated time for about ``arrivals`` requests at the nominal rate
        (between 2 ms and 1 s)."""
        ns = int(arrivals * 1e9 / max(self.nominal_rate, 1.0))
        return min(max(ns, 2_000_000), 1_000_000_000)

    def scenario(self, *, devices: Sequence[dict[str, Any]] = (),
                 faults: Sequence[dict[str, Any]] = (), dut: dict[str, Any] | None = None,
                 machine: dict[str, Any] | None = None, timer: bool = True,
                 alone: bool = False) -> Scenario:
        """The variant: the DUT (``dut`` replaces fields of its model with
        values of their types), ``devices`` beside it and ``faults`` (scenario
        tables, times and rates with units), ``machine`` fields over the
        platform's (or the ``--scenario`` machine's, whose other devices are
        there too unless ``alone``)."""
        arch = self.platform
        # the placeholder handler the driver's own replaces (harness._request)
        fields = {"name": self.name, "line": self.line, "handler": HandlerSpec(), **(dut or {})}
        ms = (self.base or Scenario.model_validate(
            {"machine": {"arch": arch, "cpus": CPUS[arch], "os": self.os}})).machine
        data = {
            "scenario": {"name": f"check-{self.name}", "seed": self.seed},
            "machine": ms.model_copy(update=machine or {}),
            "timer": {"enabled": timer},
            "device": [self.dut.model_copy(update=fields), *([] if alone else self.env), *devices],
            "fault": [{**f, "device": self.name} if f.get("device") == "dut" else f for f in faults],
        }
        try:
            spec = Scenario.model_validate(data)
        except ValidationError as exc:
            raise CheckError(format_errors(f"{self.driver.path}: DEVICE", exc).splitlines()[0]) from None
        problems = consistency_errors(spec)
        if problems:
            raise CheckError(f"{self.driver.path}: DEVICE: {problems[0]}")
        return spec

    def run(self, spec: Scenario, duration_ns: int, *, tag: str = "",
            setup: Callable[[Machine, list[int]], None] | None = None,
            sinks: Sequence[Sink] = (), storm_calls: int = 0, max_events: int = MAX_EVENTS) -> Run:
        """Run ``spec`` for ``duration_ns``; the same variant (scenario,
        duration, ``tag`` naming any ``setup`` or ``sinks``, limits) runs once.
        ``storm_calls`` and ``max_events`` let a run go past the usual limits."""
        key = f"{spec.model_dump_json()}|{duration_ns}|{tag}|{storm_calls}|{max_events}"
        if key in self.cache:
            return self.cache[key]
        try:
            m = build(spec, self.seed)
        except BuildError as exc:
            raise CheckError(f"{self.driver.path}: cannot build the machine: {exc}") from None
        dut = next(d for d in spec.device if d.name == self.name)
        probe, refused = self._request(m, dut, storm_calls)
        irqs = m.irqs[self.name]
        stats = IrqStats(spec.machine.cpus)
        responses = Responses(irqs)
        if refused is None:
            if setup is not None:
                setup(m, irqs)
            simulate(m, duration_ns, [stats, responses, *sinks], max_events=max_events)
        run = Run(m, irqs, stats, probe, responses, machine_warnings(m), cpu_time_ns(m),
                  list(m.kernel.log), refused)
        self.cache[key] = run
        return run

    def nominal(self) -> Run:
        """The driver alone at its nominal load, with the tick."""
        return self.run(self.scenario(), self.duration(NOMINAL_ARRIVALS))

    def _request(self, m: Machine, spec: DeviceSpec,
                 storm_calls: int) -> tuple[Probe | None, str | None]:
        """Replace the placeholder handler by the driver's own: its probe."""
        k = m.kernel
        level = spec.kind == "line" and spec.trigger == "level"
        d = self.driver
        probe = Probe(d.handler, d.name, storm_calls) if d.handler is not None else None
        flags = d.flags | (IRQF_TRIGGER_HIGH if level else IRQF_TRIGGER_RISING)
        flags |= IRQF_SHARED if spec.shared else 0
        for dev, irq in zip(m.devices[self.name], m.irqs[self.name], strict=True):
            # The driver probes first: the other handlers of a shared line are
            # requested again after it (sharing rules depend on the order).
            others = [a for a in k.descs[irq].action if a.dev_id is not dev]
            for dev_id in (dev, *(a.dev_id for a in others)):
                free_irq(k, irq, dev_id)
            try:
                request_threaded_irq(k, irq, probe, d.thread_fn, flags, dev.name, dev)
                for a in others:
                    request_threaded_irq(k, irq, a.handler, a.thread_fn, a.flags, a.name, a.dev_id)
            except IrqRequestError as exc:
                return probe, f"request_threaded_irq({irq}) = -{exc.errno}: {exc}"
        return probe, None
