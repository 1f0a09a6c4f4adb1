"""Each OS in its own terms: the report sections a personality chooses
(``Personality.report_view``), Windows' ISRs and DPCs per driver, the NVIC's
tail-chained and late-arrival entries, and one source for interrupt time."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner

from irqlab.analysis.irqstats import IrqStats
from irqlab.cli import cli
from irqlab.events import DPC_EXIT, IRQ_EXIT, VECTOR_EXIT
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.os.registry import PERSONALITIES
from irqlab.osview import SECTIONS
from irqlab.report.html import render_html
from irqlab.report.text import render_text
from irqlab.runner import simulation_report
from irqlab.scenario.loader import builtin_names, load, parse

#: what only a Linux report may say
LINUX_ONLY = re.compile(r"softirq|/proc/|SCHED_|ksoftirqd", re.IGNORECASE)
#: the experiments' warm-up needs their own length; every other run is short
DURATION = {"moderation": "7ms", "receive-livelock": "12ms"}


class Kinds:
    """A sink counting events per (kind, name)."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[int, str]] = Counter()

    def feed(self, ts_ns: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        self.seen[kind, name if kind == DPC_EXIT else str(irq)] += 1


def _windows_run(name: str, ns: int) -> tuple[Any, Kinds, Any]:
    spec, _ = load(name)
    m = build(spec)
    stats, kinds = IrqStats(spec.machine.cpus), Kinds()
    simulate(m, ns, [stats, kinds])
    return m, kinds, simulation_report(m, stats)


def _keys(obj: object) -> list[str]:
    if isinstance(obj, dict):
        return [str(k) for k in obj] + [k for v in obj.values() for k in _keys(v)]
    if isinstance(obj, list):
        return [k for v in obj for k in _keys(v)]
    return []


def test_every_personality_offers_only_sections_the_report_renders() -> None:
    for name in builtin_names():
        spec, extras = load(name)
        if "experiment" in extras:
            continue
        m = build(spec)
        assert type(m.os) in PERSONALITIES.values()
        view = m.os.report_view()
        assert view.os == spec.machine.os
        assert view.sections and set(view.sections) <= set(SECTIONS), name


def test_windows_reports_isrs_and_dpcs_per_driver_summing_to_the_events() -> None:
    m, kinds, report = _windows_run("windows-dpc", 20_000_000)
    data = json.loads(json.dumps(report.to_json()))
    book = data["isr_dpc"]
    drivers = book["drivers"]
    assert set(drivers) == {"ndis.sys", "storport.sys", "usbxhci.sys", "ntoskrnl.exe"}
    # every ISR that ran to its end (the clock's a vector's) is counted once, under its driver
    isr_exits = sum(n for (kind, _), n in kinds.seen.items() if kind in (IRQ_EXIT, VECTOR_EXIT))
    assert isr_exits > 1000
    assert sum(d["isr"]["count"] for d in drivers.values()) == isr_exits == book["isr"]["count"]
    ndis = drivers["ndis.sys"]["isr"]
    per_irq = {r["irq"]: r["count"] for r in ndis["irqs"]}
    assert len(per_irq) == 2  # the NIC's two MSI-X vectors, one driver
    assert per_irq == {irq: kinds.seen[IRQ_EXIT, irq] for irq in per_irq}
    assert all(r["irql"] == r["vector"] >> 4 for d in drivers.values()
               for r in d.get("isr", {}).get("irqs", []))
    # every DPC routine's runs, under the driver its module names
    dpc_exits = {name: n for (kind, name), n in kinds.seen.items() if kind == DPC_EXIT}
    assert set(dpc_exits) == {"ndis.sys!ndis_miniportDpc", "storport.sys!storportDpc",
                              "usbxhci.sys!usbxhciDpc"}
    for name, n in dpc_exits.items():
        routine = next(r for r in drivers[name.split("!")[0]]["dpc"]["routines"]
                       if r["routine"] == name)
        assert routine["count"] == n
        assert routine["latency"]["count"] >= n  # queued at least as often as run
    assert sum(dpc_exits.values()) == book["dpc"]["count"]
    assert abs(sum(m.os.dpcs_run) - book["dpc"]["count"]) <= m.kernel.ncpus  # in flight at the end
    assert book["dpc_irql"] == 2  # DISPATCH_LEVEL
    for d in drivers.values():
        for kind in d.values():
            assert sum(kind["classes"]) == kind["count"]
            assert kind["max_ns"] <= kind["total_ns"]
    assert book["dpc"]["max_driver"] in drivers
    # the DPC queue->run latency of each routine is its distribution too
    assert {k: v["count"] for k, v in data["dpc_ns"].items()} == dpc_exits
    text = render_text(report)
    for title in ("ISRs and DPCs per driver", "LatencyMon classes", "IRQL", "DPCs by routine"):
        assert title in text
    assert "PASSIVE_LEVEL" in text  # the system worker thread's work items


@pytest.mark.parametrize("name", ["windows-dpc", "windows-dma-violation"])
def test_windows_reports_have_no_linux_only_sections(name: str) -> None:
    _, _, report = _windows_run(name, 25_000_000)
    data = report.to_json()
    assert data["os"] == "windows"
    assert not [k for k in _keys(data) if LINUX_ONLY.search(k)]
    assert not LINUX_ONLY.search(json.dumps(data))
    assert not LINUX_ONLY.search(render_text(report))
    assert not LINUX_ONLY.search(render_html(report))
    # CPU time in Perfmon's Processor counters
    assert set(data["cpu_time_ns"]["0"]) == {"user", "privileged", "interrupt", "dpc", "idle"}


def _table(text: str, title: str) -> list[list[str]]:
    """The rows of the text report's table titled ``title`` (after its rule)."""
    lines = text.split("\n")
    start = lines.index(title) + 3
    end = lines.index("", start)
    return [line.split() for line in lines[start:end]]


@pytest.mark.parametrize("name", builtin_names())
def test_the_interrupt_time_tables_agree(name: str) -> None:
    args = ["run", name, "--seed", "3", "--duration", DURATION.get(name, "4ms")]
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    if data["results"] and data["cpu_time_ns"] is None:
        pytest.skip("an experiment: a table of runs, no one machine's CPU time")
    hard = "interrupt" if data["os"] == "windows" else "hardirq"
    irq, bottom = ("interrupt", "dpc") if data["os"] == "windows" else ("irq", "softirq")
    cpu_time = data["cpu_time_ns"]
    assert data[f"{hard}_time_ns"] == [cpu_time[c][irq] for c in sorted(cpu_time, key=int)]
    assert data[f"{bottom}_time_ns"] == [cpu_time[c][bottom] for c in sorted(cpu_time, key=int)]
    assert sum(data[f"{hard}_time_ns"]) > 0
    text = CliRunner().invoke(cli, args).stdout
    per_cpu = _table(text, "Time in interrupt context per CPU")
    stat = _table(text, "CPU time")
    assert [row[1:3] for row in per_cpu] == [row[3:5] for row in stat]


BACK_TO_BACK = """
[scenario]
name = "back-to-back"
duration = "1ms"
seed = 1
[machine]
arch = "armv7m"
core = "cortex-m4"
clock_mhz = 100
os = "{os}"
[timer]
enabled = false
[[device]]
name = "ADC1"
kind = "line"
line = 18
trigger = "edge"
priority = 0x80
arrival = {{ kind = "periodic", period = "100us" }}
handler = {{ cost = "3us" }}
[[device]]
name = "TIM1_UP"
kind = "line"
line = 25
trigger = "edge"
priority = 0x10
arrival = {{ kind = "periodic", period = "100us" }}
handler = {{ cost = "2us" }}
"""


@pytest.mark.parametrize("os", ["linux", "freertos"])
def test_nvic_counts_tail_chains_and_late_arrivals_of_back_to_back_interrupts(os: str) -> None:
    """ADC1 and TIM1 fire at the same instants: the core begins stacking for
    ADC1 (listed first), TIM1 (higher priority) arrives before the vector
    fetch and is taken instead (a late arrival), and ADC1 is tail-chained when
    TIM1's handler returns: every time, 9 times in 1 ms."""
    spec, _ = parse(BACK_TO_BACK.format(os=os), "b.toml")
    m = build(spec)
    stats = IrqStats(1)
    simulate(m, spec.scenario.duration, [stats])
    report = simulation_report(m, stats)
    data = report.to_json()
    rows = {r["irqn"]: r for r in data["nvic"]["exceptions"]}
    assert set(rows) == {18, 25}
    assert (rows[25]["taken"], rows[25]["late_arrivals"], rows[25]["tail_chained"]) == (9, 9, 0)
    assert (rows[18]["taken"], rows[18]["late_arrivals"], rows[18]["tail_chained"]) == (9, 0, 9)
    assert (data["nvic"]["late_arrivals"], data["nvic"]["tail_chained"]) == (9, 9)
    nvic_rows = _table(render_text(report), "NVIC exceptions (CMSIS handlers)")
    assert nvic_rows[0][:3] == ["34", "18", "ADC1_IRQHandler"]
    assert nvic_rows[1][:3] == ["41", "25", "TIM1_UP_IRQHandler"]
    assert nvic_rows[-1] == ["total", "18", "9", "9"]
    assert "nvic-exceptions" in render_html(report)


def test_freertos_report_names_cmsis_handlers_and_drops_linux_sections() -> None:
    spec, _ = load("freertos-uart")
    m = build(spec)
    stats = IrqStats(1)
    simulate(m, 20_000_000, [stats])
    data = simulation_report(m, stats).to_json()
    assert data["os"] == "freertos"
    assert "softirqs" not in data and "softirq_ns" not in data
    exceptions = data["nvic"]["exceptions"]
    # the controller's entries are the kernel's counts, row by row
    for row in exceptions:
        assert row["taken"] == data["counters"][row["label"]]["total"], row
    names = {data["counters"][r["label"]]["name"] for r in exceptions}
    assert {"PendSV_Handler", "SysTick_Handler", "USART1_IRQHandler"} <= names
    assert data["nvic"]["tail_chained"] == sum(r["tail_chained"] for r in exceptions) > 0
    assert data["nvic"]["late_arrivals"] == sum(r["late_arrivals"] for r in exceptions)
