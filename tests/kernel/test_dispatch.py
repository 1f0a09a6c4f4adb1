"""The dispatcher (ivt_handle_interrupt): unknown and spurious vectors,
nesting per controller, and a missed EOI on x86."""

from __future__ import annotations

from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.machine.build import build
from irqlab.scenario.loader import load

from .rig import Recorder, at, machine, run

IDLE_X86 = """
[machine]
arch = "x86"
cpus = 2
[timer]
enabled = false
[[device]]
name = "nic"
kind = "msix"
cpu = 1
vector = 0x30
arrival = { kind = "periodic", period = "100us" }
handler = { cost = "1us" }
"""


def test_unknown_vector_is_acknowledged_and_reported() -> None:
    m = machine(IDLE_X86)
    apic = m.ctrl
    assert apic is not None
    at(m, 1_000_000, lambda: apic.accept(1, 0x99, False))
    rec = run(m, 2_000_000)
    k = m.kernel
    assert "No irq handler for 1.153" in [msg for _, msg in k.log]
    assert k.irq_stat.err_count == 1
    assert 0x99 not in apic.in_service(1)  # apic_eoi(): class 0x9 is not left blocked
    # the lower-class device vector on that CPU keeps arriving afterwards
    assert [e for e in rec.entries(m.irqs["nic"][0]) if e[0] > 1_000_000]
    assert [(w.kind, w.irq) for w in k.warnings] == [("no-handler", None)]


def test_spurious_vector_counts_spu_and_sends_no_eoi() -> None:
    m = machine(IDLE_X86 + """
[[fault]]
kind = "spurious"
rate = "5k/s"
cpu = 0
""")
    stale = 0x41
    m.ctrl.lapics[0].isr.set(stale)
    run(m, 5_000_000)
    k = m.kernel
    spu = k.irq_stat.counts["SPU"]
    assert spu[0] > 0 and spu[1] == 0
    assert m.ctrl.in_service(0) == [stale]  # an EOI would clear it
    assert k.irq_stat.err_count == 0
    messages = {msg for _, msg in k.log}
    assert "Spurious APIC interrupt (vector 0xFF) on CPU#0, should never happen." in messages


def _overlaps(rec: Recorder, cpu: int) -> list[tuple[int, int]]:
    """(outer irq, inner irq) for every handler entered while another handler
    runs on ``cpu``."""
    open_: list[int] = []
    out = []
    for _, c, kind, irq, _, _ in rec.events:
        if c != cpu:
            continue
        if kind == IRQ_ENTRY:
            if open_:
                out.append((open_[-1], irq))
            open_.append(irq)
        elif kind == IRQ_EXIT:
            open_.pop()
    return out


BUSY = """
[machine]
arch = "{arch}"
cpus = 1
{extra}
[timer]
enabled = false
[[device]]
name = "slow"
kind = "line"
line = {slow_line}
trigger = "level"
priority = 0x80
arrival = {{ kind = "periodic", period = "100us" }}
handler = {{ cost = "60us" }}
[[device]]
name = "urgent"
kind = "line"
line = {fast_line}
trigger = "edge"
priority = 0x10
arrival = {{ kind = "periodic", period = "37us" }}
handler = {{ cost = "2us" }}
"""


def test_nvic_nests_a_higher_priority_handler() -> None:
    m = machine(BUSY.format(arch="armv7m", extra="", slow_line=5, fast_line=6))
    rec = run(m, 5_000_000)
    pairs = set(_overlaps(rec, 0))
    assert pairs == {(5, 6)}  # only the urgent one preempts, never the other way


def test_linux_x86_never_nests_hard_irq_handlers() -> None:
    m = machine(BUSY.format(arch="x86", extra="", slow_line=5, fast_line=6))
    rec = run(m, 5_000_000)
    assert rec.entries(6) and rec.entries(5)
    assert _overlaps(rec, 0) == []


def test_linux_arm64_gic_never_nests_hard_irq_handlers() -> None:
    m = machine(BUSY.format(arch="arm64", extra="", slow_line=40, fast_line=41))
    rec = run(m, 5_000_000)
    assert rec.entries(m.irqs["slow"][0]) and rec.entries(m.irqs["urgent"][0])
    assert _overlaps(rec, 0) == []


# -- missed EOI on x86 ------------------------------------------------------------------
def test_builtin_missed_eoi_starves_lower_classes_on_that_cpu() -> None:
    spec, _ = load("missed-eoi")
    m = build(spec)
    rec = run(m, 40_000_000)
    fault_at = 20_000_000
    irqs = {name: m.irqs[name][0] for name in ("nvme0q1", "ahci", "i8042", "eth1")}
    last_ahci = max(e[0] for e in rec.entries(irqs["ahci"]))
    assert fault_at <= last_ahci < fault_at + 1_000_000

    def after(name: str) -> list[int]:
        return [e[0] for e in rec.entries(irqs[name]) if e[0] > last_ahci + 100_000]

    assert after("ahci") == [] and after("i8042") == []  # class 0x4 and below: blocked
    assert len(after("nvme0q1")) > 50  # class 0x5 still arrives on CPU0
    assert len(after("eth1")) > 20  # the same vector on CPU1 is unaffected
    assert m.ctrl.in_service(0) == [0x41]
    [w] = m.platform.missed_eoi(m)
    assert (w.kind, w.irq) == ("missed-eoi", irqs["ahci"])
    assert "classes 0x4 and lower are blocked on CPU0" in w.message


def test_missed_eoi_blocks_its_own_class_and_below_but_not_above() -> None:
    m = machine("""
[machine]
arch = "x86"
cpus = 1
[timer]
enabled = false
[[device]]
name = "low"
kind = "msix"
vector = 0x35
arrival = { kind = "periodic", period = "20us" }
[[device]]
name = "same"
kind = "msix"
vector = 0x6a
arrival = { kind = "periodic", period = "23us" }
[[device]]
name = "lost"
kind = "msix"
vector = 0x61
arrival = { kind = "periodic", period = "29us" }
[[device]]
name = "high"
kind = "msix"
vector = 0x71
arrival = { kind = "periodic", period = "31us" }
[[fault]]
kind = "drop-eoi"
device = "lost"
mode = "always"
at = "1ms"
""")
    rec = run(m, 3_000_000)
    late = {name: [e for e in rec.entries(m.irqs[name][0]) if e[0] > 1_200_000]
            for name in ("low", "same", "lost", "high")}
    assert late["low"] == [] and late["same"] == [] and late["lost"] == []
    assert len(late["high"]) > 40
    assert [w.kind for w in m.kernel.warnings] == ["missed-eoi"]


def test_no_missed_eoi_warning_when_the_run_ends_inside_an_interrupt() -> None:
    """A run that stops while a CPU is taking or handling an interrupt leaves
    that vector in the ISR legitimately: it is not a missed EOI."""
    m = machine(IDLE_X86)
    # the periodic NIC interrupt arrives at 100 us; stop 100 ns later, during entry
    run(m, 100_100)
    assert m.ctrl.in_service(1) == [0x30]
    assert m.platform.missed_eoi(m) == []


def test_a_late_timer_interrupt_runs_one_tick_not_the_missed_ones() -> None:
    """tick_sched_timer runs once per timer interrupt and forwards past missed
    periods: a 20 ms handler with interrupts off at HZ=250 costs ticks, it does
    not queue them up."""
    m = machine("""
[machine]
arch = "x86"
cpus = 1
hz = 250
[timer]
cost = "1us"
softirq_cost = "0ns"
[[device]]
name = "slow"
kind = "msix"
arrival = { kind = "replay", times = ["1ms"] }
handler = { cost = "20ms" }
""")
    k = m.kernel
    ticks: list[int] = []
    tick = k.tick._tick
    k.tick._tick = lambda cpu: (ticks.append(k.engine.now), tick(cpu))[1]  # type: ignore[method-assign]
    run(m, 40_000_000)
    loc = k.irq_stat.counts["LOC"][0]
    assert len(ticks) == loc < 10  # 10 periods in 40 ms; those inside the handler merge
