"""Checks on the interrupt protocol a handler must keep: never sleep in
atomic context, answer IRQ_NONE for interrupts that are not its own, clear
a level source, survive a call with nothing pending, a lost EOI, and request
a threaded handler as the kernel allows.

Sources: Linux ``kernel/irq/spurious.c`` (``note_interrupt``: 99,900 of
100,000 unhandled -> "nobody cared", the line disabled), ``kernel/irq/manage.c``
(``request_threaded_irq``/``__setup_irq``: "Threaded irq requested with
handler=NULL and !ONESHOT"), ``kernel/sched/core.c`` (``__schedule_bug``:
"BUG: scheduling while atomic"), ``include/linux/irqreturn.h``; Intel SDM vol.
3A "Signaling Interrupt Servicing Completion" (EOI clears the highest ISR bit),
Arm IHI 0069 (GICv3: priority drop and deactivation).
"""

from __future__ import annotations

import re
from typing import Any

from irqlab.check.budget import Budget
from irqlab.check.harness import MIN_CALLS, STORM_RATIO, Rig, Run, ns, per_s, unusable
from irqlab.check.result import FAIL, PASS, WARN, CheckResult, not_run
from irqlab.check.timing import scaled_arrival
from irqlab.hw.gic import IDLE_PRIORITY, LPI_BASE, GicV3
from irqlab.kernel.flags import IRQF_ONESHOT
from irqlab.kernel.spurious import STUCK_THRESHOLD, WINDOW
from irqlab.machine.build import Machine
from irqlab.machine.run import machine_warnings
from irqlab.units import format_ns

LOG_EXCERPT = 4  # log lines kept as evidence
#: the kernel's report of a sleeping call (irqlab.kernel.kernel.Kernel.atomic_sleep)
ATOMIC_SLEEP = re.compile(r"^BUG: scheduling while atomic: (?P<what>.+?) in irq -?\d+ handler "
                          r"at (?P<site>.+)$")
#: how many more the printk rate limit kept back (irqlab.machine.run.machine_warnings)
SUPPRESSED = re.compile(r"^(?P<n>\d+) more atomic-sleep warnings for irq (?P<irq>\d+) suppressed$")
LATE_EOI_NS = 1_000_000
#: level-ack: handler calls allowed when the kernel's detector has to see a full window
NOBODY_CARED_CALLS = WINDOW + WINDOW // 10  # lost-eoi: how late the EOI comes in the second run


def _log(run: Run, *needles: str) -> list[str]:
    return [f"[{t / 1e9:12.6f}] {line}" for t, line in run.log
            if any(n in line for n in needles)][:LOG_EXCERPT]


def sleep_in_atomic(rig: Rig, budget: Budget) -> CheckResult:
    """Sleeping calls recorded in hard-IRQ, softirq or tasklet context, at
    the nominal load and at 10x (paths taken only under load)."""
    name = "sleep-in-atomic"
    runs = [rig.nominal(), rig.run(rig.scenario(dut={"arrival": scaled_arrival(rig, 10)}),
                                   rig.duration(100))]
    if (skip := unusable(name, runs[0])) is not None:
        return skip
    source = str(rig.driver.path.resolve())
    bugs = [(m["what"], m["site"], w) for run in runs for w in run.warned("atomic-sleep")
            if (m := ATOMIC_SLEEP.match(w.message))  # the driver's, not its neighbours':
            and (w.irq in run.irqs or m["site"].startswith(source))]
    if not bugs:
        return CheckResult(name, PASS, "no sleeping call in hard-IRQ, softirq or tasklet context",
                           {"runs": len(runs)})
    suppressed = sum(int(m["n"]) for run in runs for w in run.warned("atomic-sleep")
                     if (m := SUPPRESSED.match(w.message)) and int(m["irq"]) in run.irqs)
    sites: dict[str, int] = {}
    for what, site, _ in bugs:
        sites[f"{what} at {site}"] = sites.get(f"{what} at {site}", 0) + 1
    what, site, first = bugs[0]
    ev = {"sites": sites, "count": len(bugs) + suppressed, "first_ns": first.time_ns,
          "log": [first.message]}
    return CheckResult(name, FAIL, f"{what} in atomic context at {site}", ev)


def shared_line(rig: Rig, budget: Budget) -> CheckResult:
    """A second device raises on the DUT's line: the DUT's handler must
    return IRQ_NONE when its device did not interrupt, IRQ_HANDLED when it did."""
    name = "shared-line"
    if rig.dut.kind == "msix":
        return CheckResult(name, PASS, "n/a: MSI-X vectors are never shared", {})
    other = {"name": "other", "kind": "line", "trigger": rig.dut.trigger, "shared": True,
             "line": rig.line,
             "arrival": {"kind": "poisson", "rate": per_s(max(rig.nominal_rate, 1000.0))},
             "handler": {"cost": "1us"}}
    run = rig.run(rig.scenario(dut={"shared": True}, devices=[other]), rig.duration(1000))
    if run.refused:
        return not_run(name, run.refused)
    p = run.probe
    if p is None:
        return CheckResult(name, WARN, "no primary handler: every interrupt on the shared line "
                           "wakes the thread, whichever device raised it", {})
    ev: dict[str, Any] = {"calls": p.calls, "not_its_device": p.idle_calls,
                          "claimed_not_its_device": len(p.idle_claimed),
                          "ignored_its_device": len(p.missed),
                          "site": rig.driver.site(rig.driver.handler)}
    if p.idle_claimed:
        return CheckResult(name, FAIL, f"returned IRQ_HANDLED {len(p.idle_claimed)} of "
                           f"{p.idle_calls} times its device had not interrupted (first at "
                           f"{format_ns(p.idle_claimed[0])}): the kernel cannot detect a stuck "
                           "line shared with it", ev)
    if p.missed:
        return CheckResult(name, FAIL, f"returned IRQ_NONE {len(p.missed)} times its device had "
                           f"interrupted (first at {format_ns(p.missed[0])})", ev)
    if not p.idle_calls or p.calls - p.idle_calls < MIN_CALLS:
        return CheckResult(name, WARN, f"not judged: {p.idle_calls} interrupts of the other device, "
                           f"{p.calls - p.idle_calls} of its own", ev)
    return CheckResult(name, PASS, f"IRQ_NONE for all {p.idle_calls} interrupts of the other "
                       "device, IRQ_HANDLED for its own", ev)


def level_ack(rig: Rig, budget: Budget) -> CheckResult:
    """On a level line the handler must clear its device, or the line stays
    asserted and fires again as soon as it is unmasked.  A handler that also
    answers IRQ_NONE is run on until the kernel's detector disables the line
    ("nobody cared", after 99,900 unhandled of 100,000)."""
    name = "level-ack"
    if rig.dut.kind == "msix":
        return CheckResult(name, PASS, "n/a: message-signalled, no level to clear", {})
    spec = rig.scenario(dut={"trigger": "level"})
    run = rig.run(spec, rig.duration(1000))
    if (skip := unusable(name, run)) is not None:
        return skip
    p = run.probe
    if p is None:
        return CheckResult(name, PASS, "no primary handler: the line stays masked until the "
                           "thread has run (IRQF_ONESHOT)", {})
    if p.uncleared and p.uncleared_none * 10 >= len(p.uncleared) * 9:
        # it does not even claim the interrupt: let spurious.c see a full window
        run = rig.run(spec, rig.duration(1000), storm_calls=NOBODY_CARED_CALLS,
                      max_events=NOBODY_CARED_CALLS * 10)
        p = run.probe or p
    dev = run.machine.devices[rig.name][0]
    ratio = p.calls / max(dev.raised, 1)
    where = rig.driver.site(rig.driver.handler)
    nobody = run.warned("nobody-cared")
    ev: dict[str, Any] = {"calls": p.calls, "requests": dev.raised, "calls_per_request": round(ratio, 1),
                          "returned_without_clearing": len(p.uncleared),
                          "of_which_irq_none": p.uncleared_none,
                          "clear_expected_in": where, "nobody_cared": bool(nobody),
                          "stopped": run.stopped,
                          "log": [f"[{t / 1e9:12.6f}] {line}" for t, line in run.log
                                  if nobody and t == nobody[0].time_ns],
                          "report": run.report()}
    if not p.uncleared:
        return CheckResult(name, PASS, f"clears its source: {p.calls} calls for {dev.raised} "
                           "requests", ev)
    storm = ratio >= STORM_RATIO
    if nobody:
        after = f": interrupt storm, and after {WINDOW:,} interrupts the kernel disabled the line " \
                f"(\"nobody cared\" at {format_ns(nobody[0].time_ns)})"
    elif storm:
        after = f": interrupt storm, {ratio:.0f} calls per request (\"nobody cared\" needs " \
                f"{STUCK_THRESHOLD:,} of {WINDOW:,} unhandled" + \
                ("; it answers IRQ_HANDLED, so Linux never disables the line)"
                 if p.uncleared_none < len(p.uncleared) else ")")
    else:
        after = ""
    return CheckResult(name, FAIL, f"returned {len(p.uncleared)} times without clearing its device "
                       f"(expected a ctx.device.service() in the handler at {where}){after}", ev)


def blocked_by_lost_eoi(m: Machine, irqs: list[int]) -> list[str]:
    """What a lost EOI leaves blocked: x86 ISR bits (their priority class and
    lower, SDM "Signaling Interrupt Servicing Completion", as the machine
    reports them); on a GICv3 the INTID stays active and its running priority
    blocks equal and lower ones (IHI 0069, ICC_RPR_EL1)."""
    gic = m.ctrl
    if not isinstance(gic, GicV3):
        return [w.message for w in machine_warnings(m)
                if w.kind == "missed-eoi" and "still in service" in w.message]
    out = []
    for irq in irqs:
        d = m.kernel.descs[irq]
        cpu = d.affinity
        rpr = gic.running_priority(cpu)
        if rpr == IDLE_PRIORITY or m.kernel.cpus[cpu].in_irq:
            continue
        what = (f"LPI {d.hwirq} (irq {irq})" if d.hwirq >= LPI_BASE else
                f"INTID {d.hwirq} (irq {irq}) stays {gic.state(d.hwirq, cpu)}")
        out.append(f"CPU{cpu}: {what}: the running priority stays {rpr:#04x}, "
                   "interrupts of that priority and lower are blocked on that CPU")
    return out


def lost_eoi(rig: Rig, budget: Budget) -> CheckResult:
    """The EOI of the first DUT interrupt after a quarter of the run is lost;
    in a second run it comes late (LATE_EOI_NS after, written when its CPU is
    out of interrupt context).  Does the DUT's interrupt come back, and what
    is blocked meanwhile."""
    name = "lost-eoi"
    if rig.platform == "armv7m":
        return CheckResult(name, PASS, "n/a: the NVIC's end of interrupt is the exception return, "
                           "which the core performs itself (ARMv7-M ARM B1.5.8)", {})
    duration = rig.duration(1000)
    at = duration // 4
    spec = rig.scenario(faults=[{"kind": "drop-eoi", "device": "dut", "at": ns(at), "mode": "once"}])
    lost = rig.run(spec, duration)
    if (skip := unusable(name, lost, whole_run=True)) is not None:
        return skip
    blocked_meanwhile: list[str] = []

    def late_eoi(m: Machine, irqs: list[int]) -> None:
        """Each lost EOI of the DUT's IRQs is written LATE_EOI_NS after it was
        lost, when its CPU is out of interrupt context (an EOI then would end
        the running interrupt instead)."""
        k = m.kernel
        written: set[int] = set()

        def write(_: object) -> None:
            waiting = False
            for irq in irqs:
                if irq in written:
                    continue
                lost_at = next((w.time_ns for w in k.warnings
                                if w.kind == "missed-eoi" and w.irq == irq), None)
                d = k.descs[irq]
                if lost_at is None or m.engine.now < lost_at + LATE_EOI_NS or \
                        k.cpus[d.affinity].in_irq:
                    waiting = True
                    continue
                blocked_meanwhile.extend(blocked_by_lost_eoi(m, [irq]))
                d.chip.irq_eoi(d, d.affinity)
                written.add(irq)
            if waiting:
                m.engine.after(LATE_EOI_NS // 100, write)

        m.engine.at(at, write)

    late = rig.run(spec, duration, tag="late-eoi", setup=late_eoi)
    if (skip := unusable(name, late, whole_run=True)) is not None:
        return skip

    def handled_after(run: Run, t: int) -> int:
        return sum(e > t for e in (run.probe.exits if run.probe is not None else []))

    blocked = blocked_by_lost_eoi(lost.machine, lost.irqs)
    settled = at + LATE_EOI_NS + (duration - at - LATE_EOI_NS) // 2
    ev: dict[str, Any] = {
        "fault_at_ns": at, "late_eoi_after_ns": LATE_EOI_NS,
        "lost": {"handled_second_half": handled_after(lost, (at + duration) // 2),
                 "blocked_at_end": blocked},
        "late": {"handled_after_late_eoi": handled_after(late, settled),
                 "blocked_meanwhile": list(dict.fromkeys(blocked_meanwhile)),
                 "max_latency_ns": max((h.max for h in late.stats.latency_ns.values()), default=0)},
        "log": _log(lost, "EOI", "fault:"), "report": lost.report()}
    if ev["lost"]["handled_second_half"] and not blocked:
        return CheckResult(name, PASS, "recovers from a lost EOI: its interrupt is handled "
                           f"{ev['lost']['handled_second_half']} times after it", ev)
    if not ev["late"]["handled_after_late_eoi"]:
        return CheckResult(name, FAIL, f"its interrupt never comes back, even when the EOI comes "
                           f"{format_ns(LATE_EOI_NS)} late", ev)
    what = blocked[0] if blocked else "its interrupt is no longer delivered"
    return CheckResult(name, WARN, f"a lost EOI is never recovered ({what}); "
                       f"one {format_ns(LATE_EOI_NS)} late blocks it that long, then it recovers",
                       ev)


def spurious_call(rig: Rig, budget: Budget) -> CheckResult:
    """The DUT's signal glitches (raised with nothing pending at the device)
    at a tenth of the nominal rate: the handler must return IRQ_NONE."""
    name = "spurious-call"
    rate = max(rig.nominal_rate / 10, 100.0)
    run = rig.run(rig.scenario(dut={"trigger": "edge"} if rig.dut.kind == "line" else {},
                               faults=[{"kind": "spurious", "device": "dut", "rate": per_s(rate)}]),
                  rig.duration(1000))
    if run.refused:
        return not_run(name, run.refused)
    p = run.probe
    if p is None:
        return CheckResult(name, PASS, "no primary handler: the thread checks the device", {})
    raised = [w for w in run.warned("handler-exception") if w.irq in run.irqs]
    ev: dict[str, Any] = {"calls": p.calls, "nothing_pending": p.idle_calls,
                          "claimed": len(p.idle_claimed),
                          "exceptions": [w.message for w in raised], "log": _log(run, "raised")}
    if raised:
        return CheckResult(name, FAIL, f"raised when called with nothing pending: {raised[0].message}", ev)
    if p.idle_claimed:
        return CheckResult(name, FAIL, f"returned IRQ_HANDLED {len(p.idle_claimed)} of "
                           f"{p.idle_calls} times nothing was pending", ev)
    if not p.idle_calls:
        return CheckResult(name, WARN, "no call with nothing pending reached the handler", ev)
    return CheckResult(name, PASS, f"IRQ_NONE for all {p.idle_calls} calls with nothing pending", ev)


def threaded_oneshot(rig: Rig, budget: Budget) -> CheckResult:
    """A threaded handler on a level line: without a primary it needs
    IRQF_ONESHOT (the kernel refuses it otherwise); with a primary but no
    ONESHOT, the primary must quiet the device before waking the thread."""
    name = "threaded-oneshot"
    d = rig.driver
    if d.thread_fn is None:
        return CheckResult(name, PASS, "n/a: not a threaded handler", {})
    if rig.dut.kind == "msix":
        return CheckResult(name, PASS, "n/a: message-signalled (edge), nothing to hold masked", {})
    run = rig.run(rig.scenario(dut={"trigger": "level"}), rig.duration(1000))
    oneshot = bool(d.flags & IRQF_ONESHOT)
    ev: dict[str, Any] = {"primary": d.handler is not None, "IRQF_ONESHOT": oneshot,
                          "thread_fn": d.site(d.thread_fn)}
    if run.refused:
        ev["request"] = run.refused
        return CheckResult(name, FAIL, "refused by the kernel: a threaded handler with no primary "
                           "on a level line needs IRQF_ONESHOT (the line would fire again at once "
                           "until the thread has cleared the device); " + run.refused, ev)
    p = run.probe
    if oneshot or p is None:
        return CheckResult(name, PASS, "IRQF_ONESHOT: the line stays masked until the thread has run", ev)
    ev["woke_with_source_asserted"] = len(p.woke_asserted)
    if p.woke_asserted:
        return CheckResult(name, FAIL, f"the primary woke the thread {len(p.woke_asserted)} times "
                           "with its level source still asserted and no IRQF_ONESHOT: the line "
                           f"fires again until the thread runs ({d.site(d.handler)})", ev)
    return CheckResult(name, PASS, "the primary quiets the device before waking the thread", ev)
