"""``response-time-bound`` (armv7m): fixed-priority response-time analysis of
the driver's interrupt on the NVIC, beside the simulated maximum.

The bound is the classic iteration (Joseph & Pandya, "Finding Response Times
in a Real-Time System", Computer Journal 1986; Audsley et al., "Applying new
scheduling theory to static priority pre-emptive scheduling", SEJ 1993)::

    R = C + B + sum over sources j that can pre-empt or precede i of ceil(R / T_j) * C_j

iterated from R = C + B until it is stable (or exceeds the period: no bound).

Exception costs are the core's, in cycles at ``machine.clock_mhz``
(``irqlab.hw.nvic.CORES``): entry 12 (stacking and vector fetch) and exit 10,
Cortex-M4 TRM (Arm DDI 0439) as Arm KA 103489845 quotes it; tail-chaining 6
(ibid.; ARMv7-M ARM, DDI 0403, B1.5 "ARMv7-M exception model").  C_j = entry + handler + the softirq and
tasklet work the source leaves in its exception + exit, so tail-chaining (6
cycles instead of exit + entry) and late arrival (a higher-priority request
during stacking is taken at the end of it, DDI 0403 B1.5) only make
responses shorter.  The DUT's C is its entry plus the most CPU time its handler
took in the run; B is a lower-priority exception's unstacking, which this
model (like a core without pop pre-emption) does not interrupt, plus the
softirq work a previous exception of the DUT's priority may still run at its
end (the longest such tail seen in the runs, in CPU time).  Sources of
equal group priority cannot pre-empt but may be taken first: they are
counted as interference too (safe).  Every source needs a minimum
inter-arrival time (periodic arrivals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from irqlab.check.budget import Budget
from irqlab.check.harness import Rig, ns, unusable
from irqlab.check.result import FAIL, PASS, WARN, CheckResult
from irqlab.check.timing import NEIGHBOUR_COST, NESTING
from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    VECTOR_ENTRY,
    VECTOR_EXIT,
)
from irqlab.hw.nvic import CORES, DEFAULT_PRIORITY_BITS
from irqlab.scenario.schema import ArmV7mMachine, Arrival, Cost, DeviceSpec, Scenario
from irqlab.sim.rng import stream
from irqlab.units import format_ns


@dataclass(frozen=True)
class Source:
    """An interrupt source for the analysis: group priority, minimum
    inter-arrival time and worst-case cost of its exception (ns)."""

    name: str
    priority: int
    period_ns: int
    cost_ns: int


def cycles_ns(cycles: int, clock_mhz: float) -> int:
    """Cycles at ``clock_mhz`` in whole ns, rounded up (a bound)."""
    return math.ceil(cycles * 1000 / clock_mhz)


def group_priority(prio: int, core: str, prigroup: int) -> int:
    """The group priority NVIC_IPR holds: the implemented top bits, then
    AIRCR.PRIGROUP's group field (bits [7:prigroup+1])."""
    bits = CORES[core].priority_bits or DEFAULT_PRIORITY_BITS
    implemented = prio & (0xFF << (8 - bits)) & 0xFF
    return implemented & ((0xFF << (prigroup + 1)) & 0xFF)


def response_time(c_ns: int, blocking_ns: int, others: list[Source], limit_ns: int) -> int | None:
    """The fixed point of R = C + B + sum ceil(R/T_j) C_j, or None when it
    passes ``limit_ns`` (the source's own period: not schedulable)."""
    r = c_ns + blocking_ns
    while True:
        nxt = c_ns + blocking_ns + sum(-(-r // s.period_ns) * s.cost_ns for s in others)
        if nxt == r:
            return r
        if nxt > limit_ns:
            return None
        r = nxt


def _worst(cost: Cost) -> int | None:
    """The largest value a cost model can draw (None: unbounded)."""
    if cost.dist == "fixed":
        return cost.value or 0
    if cost.dist == "uniform":
        return cost.max or 0
    if cost.dist == "replay":
        return max(cost.values or [0])
    return None


def sources(spec: Scenario, dut: str, entry_ns: int, exit_ns: int) -> tuple[list[Source], str | None]:
    """The other sources of ``spec`` (devices, SysTick) with their exception
    costs; or the reason there is no bound."""
    ms = spec.machine
    assert isinstance(ms, ArmV7mMachine)  # the analysis is the Cortex-M's
    out: list[Source] = []
    if spec.timer.enabled:  # SysTick: priority 0 at reset (SHPR3), never set by the build
        out.append(Source("SysTick", 0, 1_000_000_000 // ms.hz,
                          entry_ns + spec.timer.cost + spec.timer.softirq_cost + exit_ns))
    for d in spec.device:
        if d.name == dut:
            continue
        if d.arrival.kind == "none":
            continue
        if d.arrival.kind != "periodic" or not d.arrival.period:
            return out, f"{d.name}: {d.arrival.kind} arrivals have no minimum inter-arrival time"
        h = d.handler
        worst = _worst(h.cost)
        if worst is None or h.python is not None:
            return out, f"{d.name}: its handler cost has no upper bound"
        deferred = h.softirq_cost + (h.tasklet_cost or 0)
        out.append(Source(d.name, group_priority(d.priority or 0, ms.core, ms.prigroup),
                          d.arrival.period, entry_ns + worst + deferred + exit_ns))
    return out, None


def _rta_scenario(rig: Rig, seed: int) -> Scenario:
    """The DUT periodic at its nominal rate between a higher- and a
    lower-priority periodic source, phases drawn from ``seed``."""
    rng = stream(seed, "rta-phases")
    period = max(round(1e9 / max(rig.nominal_rate, 1.0)), 1000)
    prio = NESTING["armv7m"]
    hi_line, lo_line = rig.spare_lines(2)
    neighbours = [
        {"name": f"{who}-prio", "kind": "line", "trigger": "edge", "line": line,
         "arrival": {"kind": "periodic", "period": ns(p), "phase": ns(rng.randrange(p))},
         "handler": {"cost": NEIGHBOUR_COST}, **prio[who]}
        for who, line, p in (("hi", hi_line, period * 3 // 2 + 13), ("lo", lo_line, period // 2 + 7))
    ]
    dut: dict[str, Any] = {"arrival": Arrival.model_validate(
        {"kind": "periodic", "period": ns(period), "phase": ns(rng.randrange(period))})}
    if "priority" not in rig.dut.model_fields_set:
        dut.update(prio["dut"])
    return rig.scenario(dut=dut, devices=neighbours)


def bound(rig: Rig, spec: Scenario, handler_max_ns: int,
          tail_ns: int = 0) -> tuple[int | None, dict[str, Any]]:
    """The analytic worst-case response of the DUT in ``spec`` and its terms;
    ``tail_ns`` is the deferred work a previous exception of the DUT may still
    be running (it cannot be pre-empted by an equal priority)."""
    ms = spec.machine
    assert isinstance(ms, ArmV7mMachine)
    profile = CORES[ms.core]
    entry = cycles_ns(profile.entry_cycles, ms.clock_mhz)
    exit_ = cycles_ns(profile.exit_cycles, ms.clock_mhz)
    dut: DeviceSpec = next(d for d in spec.device if d.name == rig.name)
    mine = group_priority(dut.priority or 0, ms.core, ms.prigroup)
    others, why = sources(spec, rig.name, entry, exit_)
    terms: dict[str, Any] = {"entry_ns": entry, "exit_ns": exit_,
                             "tail_chain_ns": cycles_ns(profile.tail_chain_cycles, ms.clock_mhz),
                             "C_ns": entry + handler_max_ns, "B_ns": exit_ + tail_ns,
                             "priority": mine,
                             "interference": [s.__dict__ for s in others if s.priority <= mine]}
    if why is not None:
        terms["no_bound"] = why
        return None, terms
    period = dut.arrival.period or 0
    r = response_time(entry + handler_max_ns, exit_ + tail_ns, [s for s in others if s.priority <= mine],
                      period)
    return r, terms


class SoftirqTails:
    """CPU time of the softirq work run at the end of one exception (the
    softirq segments between two exception entries, minus the interrupts
    nested in them): what a previous exception may still run when the DUT
    arrives, at its own priority."""

    def __init__(self) -> None:
        self.depth = 0  # hard-IRQ entries open (nested ones included)
        self.soft_open: int | None = None  # start of the open softirq segment
        self.nested_ns = 0  # hard-IRQ time inside the open segment
        self.nested_since = 0
        self.batch_ns = 0
        self.max_ns = 0

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        if kind in (IRQ_ENTRY, VECTOR_ENTRY):
            if self.soft_open is None and not self.depth:
                self.batch_ns = 0  # a new exception: the previous one's tail is over
            elif self.soft_open is not None and not self.depth:
                self.nested_since = ts_ns
            self.depth += 1
        elif kind in (IRQ_EXIT, VECTOR_EXIT) and self.depth:
            self.depth -= 1
            if self.soft_open is not None and not self.depth:
                self.nested_ns += ts_ns - self.nested_since
        elif kind == SOFTIRQ_ENTRY:
            self.soft_open, self.nested_ns = ts_ns, 0
        elif kind == SOFTIRQ_EXIT and self.soft_open is not None:
            self.batch_ns += ts_ns - self.soft_open - self.nested_ns
            self.max_ns = max(self.max_ns, self.batch_ns)
            self.soft_open = None


def response_time_bound(rig: Rig, budget: Budget, seeds: int = 3) -> CheckResult:
    name = "response-time-bound"
    if rig.platform != "armv7m":
        return CheckResult(name, PASS, "n/a: the analysis is for the Cortex-M NVIC (--platform armv7m)", {})
    runs = []
    tails = []
    for i in range(seeds):
        spec = _rta_scenario(rig, rig.seed + i)
        tails.append(SoftirqTails())
        run = rig.run(spec, rig.duration(1000), tag="softirq-tails", sinks=[tails[-1]])
        if (skip := unusable(name, run, whole_run=True)) is not None:
            return skip
        runs.append((spec, run))
    worst_handler = max((max(run.probe.cpu_ns, default=0) for _, run in runs
                         if run.probe is not None), default=0)
    simulated = max((max(run.responses.response_ns, default=0) for _, run in runs), default=0)
    r, terms = bound(rig, runs[0][0], worst_handler, max(t.max_ns for t in tails))
    ev: dict[str, Any] = {"seeds": seeds, **terms, "simulated_max_ns": simulated, "bound_ns": r}
    if r is None:
        why = terms.get("no_bound") or "the response does not fit in the period (not schedulable)"
        return CheckResult(name, WARN, f"no analytic bound: {why}; simulated max "
                           f"{format_ns(simulated)}", ev)
    if simulated > r:
        return CheckResult(name, FAIL, f"simulated max {format_ns(simulated)} exceeds the analytic "
                           f"bound {format_ns(r)}", ev)
    return CheckResult(name, PASS, f"worst-case response {format_ns(r)} (analysis), simulated max "
                       f"{format_ns(simulated)} over {seeds} seeds", ev)
