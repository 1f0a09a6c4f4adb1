"""Checks on time: the top half's budget, how much work it defers, whether a
flood livelocks the CPU, and latency with higher-priority interrupts.

Sources: Linux Documentation/core-api/genericirq.rst and LDD3 ch. 10 ("Top
and Bottom Halves": the top half acknowledges and schedules, the rest is
deferred); Mogul & Ramakrishnan, "Eliminating Receive Livelock in an
Interrupt-Driven Kernel" (ACM TOCS 1997); Intel SDM vol. 3A "Interrupt, Task,
and Processor Priority" (vector priority classes), Arm IHI 0069 "Interrupt
prioritization" (running priority), the Cortex-M4 generic user guide DUI0553A
§4.2.7 (NVIC_IPR).
"""

from __future__ import annotations

from typing import Any

from irqlab.analysis.histogram import Histogram
from irqlab.check.budget import Budget
from irqlab.check.harness import Rig, Run, per_s, unusable
from irqlab.check.result import FAIL, PASS, WARN, CheckResult, not_run
from irqlab.scenario.schema import Arrival, Workload
from irqlab.units import format_ns

#: below this share of its CPU left to user threads, the CPU is livelocked
LIVELOCK_USER_SHARE = 0.10
FLOOD_FACTORS = (10, 100)
#: requests of each flood run (the nominal reference run has a tenth)
FLOOD_ARRIVALS = 5000
#: the DUT's vector / priority beside a higher- and a lower-priority source:
#: x86 vector classes (vector[7:4]), GIC and NVIC priority (lower is more urgent)
NESTING = {
    "x86": {"dut": {"vector": 0x61}, "hi": {"vector": 0xD1}, "lo": {"vector": 0x31}},
    "arm64": {"dut": {"priority": 0xA0}, "hi": {"priority": 0x80}, "lo": {"priority": 0xC0}},
    "armv7m": {"dut": {"priority": 0x40}, "hi": {"priority": 0x20}, "lo": {"priority": 0x80}},
}
NEIGHBOUR_COST = "2us"


def summary(h: Histogram) -> dict[str, int]:
    """Count, p50, p99 and max of ``h``."""
    return {"count": h.count, "p50": h.percentile(50), "p99": h.percentile(99), "max": h.max}


def histogram(values: list[int]) -> Histogram:
    h = Histogram()
    for v in values:
        h.record(v)
    return h


def top_half_budget(rig: Rig, budget: Budget) -> CheckResult:
    name = "top-half-budget"
    run = rig.nominal()
    if (skip := unusable(name, run)) is not None:
        return skip
    if run.probe is None:
        return CheckResult(name, PASS, "no primary handler: the kernel's default one only wakes "
                           "the thread", {})
    s = summary(histogram(run.probe.cpu_ns))
    ev = {"calls": s["count"], "p50_ns": s["p50"], "p99_ns": s["p99"], "max_ns": s["max"],
          "budget_ns": budget.top, "site": rig.driver.site(rig.driver.handler)}
    if s["p99"] > budget.top:
        return CheckResult(name, FAIL, f"top half p99 {format_ns(s['p99'])} is above the budget "
                           f"{format_ns(budget.top)} (max {format_ns(s['max'])})", ev)
    if s["max"] > budget.top:
        return CheckResult(name, WARN, f"top half p99 {format_ns(s['p99'])} is within "
                           f"{format_ns(budget.top)} but its max {format_ns(s['max'])} is not", ev)
    return CheckResult(name, PASS, f"top half p99 {format_ns(s['p99'])}, max "
                       f"{format_ns(s['max'])}, within {format_ns(budget.top)}", ev)


def deferral(rig: Rig, budget: Budget) -> CheckResult:
    """Share of the driver's CPU time spent in its top half, its device alone
    without the tick (so all softirq and kernel-thread time is its bottom half)."""
    name = "deferral"
    run = rig.run(rig.scenario(timer=False, alone=True), rig.duration(1000))
    if (skip := unusable(name, run)) is not None:
        return skip
    calls = run.probe.calls if run.probe is not None else sum(h.count for h in run.handler_ns())
    top = sum(run.probe.cpu_ns) if run.probe is not None else 0
    bottom = sum(t["softirq"] + t["system"] for t in run.cpu_time.values())
    if not calls:
        return CheckResult(name, WARN, "the handler never ran at the nominal load", {})
    share = top / (top + bottom) if top + bottom else 0.0
    top_mean, bottom_mean = top // calls, bottom // calls
    ev = {"top_half_ns": top, "bottom_half_ns": bottom, "top_share": round(share, 3),
          "top_ns_per_irq": top_mean, "bottom_ns_per_irq": bottom_mean,
          "budget_top_ns": budget.top, "budget_bottom_ns": budget.bottom}
    if bottom_mean > budget.bottom:
        return CheckResult(name, FAIL, f"the bottom half takes {format_ns(bottom_mean)} per "
                           f"interrupt, above the budget {format_ns(budget.bottom)}", ev)
    heavy = f"{share:.0%} of the driver's work runs in the top half ({format_ns(top_mean)} per interrupt)"
    if share > 0.5 and top_mean > budget.top:
        return CheckResult(name, FAIL, heavy + ": defer it (threaded handler, tasklet, softirq, "
                           "workqueue)", ev)
    if share > 0.5 and top_mean > budget.top // 2:
        return CheckResult(name, WARN, heavy + ": close to the top-half budget", ev)
    return CheckResult(name, PASS, f"{share:.0%} of the work in the top half "
                       f"({format_ns(top_mean)} per interrupt), {format_ns(bottom_mean)} deferred", ev)


def scaled_arrival(rig: Rig, factor: float) -> Arrival:
    """The DUT's arrival process at ``factor`` times its rate."""
    a = rig.dut.arrival
    update: dict[str, Any] = {}
    if a.rate is not None:
        update["rate"] = a.rate * factor
    if a.period is not None:
        update["period"] = max(1, round(a.period / factor))
    if a.times is not None:
        update["times"] = [round(t / factor) for t in a.times]
    return a.model_copy(update=update)


def _user_share(run: Run, cpu: int) -> dict[str, float]:
    t = run.cpu_time[cpu]
    total = sum(t.values()) or 1
    return {k: round(v / total, 3) for k, v in t.items()}


def flood(rig: Rig, budget: Budget) -> CheckResult:
    """10x and 100x the nominal rate beside a CPU-bound user thread: the
    share of the DUT's CPU that user code keeps."""
    name = "flood"
    cpu = rig.dut.cpu if isinstance(rig.dut.cpu, int) else rig.dut.cpu[0]
    machine = {"workload": Workload()}
    ev: dict[str, Any] = {"cpu": cpu}
    shares = {}
    for factor in (1, *FLOOD_FACTORS):
        run = rig.run(rig.scenario(dut={"arrival": scaled_arrival(rig, factor)}, machine=machine),
                      rig.duration(min(FLOOD_ARRIVALS // 10, FLOOD_ARRIVALS // factor)))
        if run.refused:
            return not_run(name, run.refused)
        share = _user_share(run, cpu)
        shares[factor] = share["user"]
        ev[f"x{factor}"] = {"rate_per_s": round(rig.nominal_rate * factor), "cpu_share": share,
                            "ksoftirqd_handoffs": len(run.warned("ksoftirqd"))}
    ten, hundred = (shares[f] for f in FLOOD_FACTORS)
    if ten < LIVELOCK_USER_SHARE:
        return CheckResult(name, FAIL, f"livelock at 10x the nominal rate: user threads keep "
                           f"{ten:.0%} of CPU{cpu} (nominal {shares[1]:.0%})", ev)
    if hundred < LIVELOCK_USER_SHARE:
        return CheckResult(name, WARN, f"livelock at 100x: user threads keep {hundred:.0%} of "
                           f"CPU{cpu} (10x: {ten:.0%}); moderation or polling would bound it", ev)
    return CheckResult(name, PASS, f"no livelock: user threads keep {ten:.0%} of CPU{cpu} at 10x, "
                       f"{hundred:.0%} at 100x", ev)


def nesting(rig: Rig, budget: Budget) -> CheckResult:
    """DUT latency beside a higher- and a lower-priority source, each at the
    DUT's nominal rate with a 2 us handler."""
    name = "nesting"
    arch = rig.platform
    prio = NESTING[arch]
    hi_line, lo_line = rig.spare_lines(2)
    arrival = {"kind": "poisson", "rate": per_s(max(rig.nominal_rate, 1000.0))}
    neighbours = [
        {"name": f"{who}-prio", "kind": "line", "trigger": "edge", "line": line, "arrival": arrival,
         "handler": {"cost": NEIGHBOUR_COST}, **prio[who]}
        for who, line in (("hi", hi_line), ("lo", lo_line))
    ]
    dut: dict[str, int | list[int]] = dict(prio["dut"])
    if isinstance(dut.get("vector"), int) and rig.dut.vectors > 1:  # one vector per MSI-X entry, all in that class
        dut["vector"] = list(range(prio["dut"]["vector"], prio["dut"]["vector"] + rig.dut.vectors))
    for key in rig.dut.model_fields_set & {"priority", "vector"}:
        dut.pop(key, None)
    run = rig.run(rig.scenario(dut=dut, devices=neighbours), rig.duration(1000))
    if (skip := unusable(name, run, whole_run=True)) is not None:
        return skip
    alone = rig.nominal()
    lat = [run.stats.latency_ns[str(i)] for i in run.irqs if str(i) in run.stats.latency_ns]
    if not lat or not lat[0].count:
        return CheckResult(name, WARN, "the handler never ran beside the other sources", {})
    s = summary(lat[0])
    base = [alone.stats.latency_ns[str(i)] for i in alone.irqs if str(i) in alone.stats.latency_ns]
    nested = sum(run.stats.nested.values())
    ev = {"latency_p50_ns": s["p50"], "latency_p99_ns": s["p99"], "latency_max_ns": s["max"],
          "alone_p99_ns": base[0].percentile(99) if base else None, "nested_interrupts": nested,
          "budget_ns": budget.latency_p99, "neighbours": {n["name"]: {k: v for k, v in n.items()
                                                                    if k in ("vector", "priority")}
                                                          for n in neighbours},
          "irq_nesting": run.machine.kernel.irq_nesting}
    what = f"latency p99 {format_ns(s['p99'])}, max {format_ns(s['max'])} beside higher- and " \
           f"lower-priority sources ({nested} nested)"
    if s["p99"] > budget.latency_p99:
        return CheckResult(name, FAIL, f"{what}: p99 above the budget {format_ns(budget.latency_p99)}", ev)
    if s["max"] > budget.latency_p99:
        return CheckResult(name, WARN, f"{what}: max above the budget {format_ns(budget.latency_p99)}", ev)
    return CheckResult(name, PASS, what, ev)
