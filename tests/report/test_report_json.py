from __future__ import annotations

import json
from dataclasses import replace

import pytest

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.report import Report, ReportWarning, build_counters
from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    VECTOR_ENTRY,
    VECTOR_EXIT,
    CounterRow,
    CounterSnapshot,
    Event,
    diff_snapshots,
)
from irqlab.report.text import render_text

TOP_KEYS = {
    "counters", "softirqs", "latency_ns", "handler_ns", "softirq_latency_ns", "softirq_ns",
    "irq_per_s", "hardirq_time_ns", "softirq_time_ns", "hardirq_cpu_share", "nested",
    "storm_suspects", "warnings", "cpu_time_ns", "results", "rx", "seed", "source", "cpus",
    "duration_ns", "interval_s", "title", "log", "end_to_end_ns", "skipped_lines", "os",
    "irqthread_latency_ns", "irqthread_ns", "tasklet_ns", "work_ns",
    "proc_irq", "vector_matrix",
    "placement",
}
SUMMARY_KEYS = {"mean", "p50", "p90", "p99", "p999", "p9999", "max", "count", "buckets"}


def simulated() -> Report:
    s = IrqStats(2)
    s.feed_events([
        Event(0, -1, IRQ_RAISE, 24),
        Event(1_000, 0, IRQ_ENTRY, 24, 0, "eth0"),
        Event(1_500, 0, SOFTIRQ_RAISE, -1, 3),
        Event(2_000, 0, VECTOR_ENTRY, -1, 236, "local_timer"),
        Event(2_500, 0, VECTOR_EXIT, -1, 236, "local_timer"),
        Event(3_000, 0, IRQ_EXIT, 24, 1),
        Event(3_100, 0, SOFTIRQ_ENTRY, -1, 3),
        Event(6_000, 0, SOFTIRQ_EXIT, -1, 3),
        Event(7_000, 1, IRQ_ENTRY, 17, 0, "ehci"),
        Event(7_400, 1, IRQ_EXIT, 17, 0),
    ])
    return Report("simulation", 2, seed=7, duration_ns=10_000, stats=s,
                  warnings=[ReportWarning("storm", 17, 7_000, "irq 17: nobody cared")],
                  cpu_time_ns={0: {"user": 1, "system": 2, "irq": 3, "softirq": 4, "idle": 5}},
                  results=[{"rate_per_s": 1e5, "delivered": 10}], title="t")


def test_top_level_keys_are_exactly_the_contract() -> None:
    assert set(simulated().to_json()) == TOP_KEYS
    assert set(Report("snapshot", 1).to_json()) == TOP_KEYS


def test_json_values_follow_the_contract() -> None:
    data = json.loads(json.dumps(simulated().to_json()))
    assert data["counters"]["24"] == {
        "name": "eth0", "per_cpu": [1, 0], "total": 1, "chip": None, "hwirq": None,
        "trigger": None, "flow": None, "handlers": ["eth0"],
    }
    assert data["counters"]["LOC"]["name"] == "Local timer interrupts"
    assert data["counters"]["LOC"]["handlers"] is None
    assert list(data["softirqs"]) == ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL",
                                      "TASKLET", "SCHED", "HRTIMER", "RCU"]
    assert data["softirqs"]["NET_RX"] == {"per_cpu": [1, 0], "total": 1}
    assert data["latency_ns"]["24"] == {
        "count": 1, "mean": 1000, "p50": 1000, "p90": 1000, "p99": 1000, "p999": 1000,
        "p9999": 1000, "max": 1000, "buckets": [[1000, 1003, 1]]}
    # device request at 0 -> NET_RX (raised by its handler) done at 6000
    assert data["end_to_end_ns"] == {"24": data["end_to_end_ns"]["24"]}
    assert data["end_to_end_ns"]["24"]["max"] == 6000
    assert data["skipped_lines"] == 0
    assert set(data["handler_ns"]["24"]) == SUMMARY_KEYS
    assert set(data["softirq_ns"]["NET_RX"]) == SUMMARY_KEYS
    assert set(data["softirq_latency_ns"]["NET_RX"]) == SUMMARY_KEYS
    assert data["irq_per_s"]["24"] == pytest.approx(1e5)  # 1 interrupt in 10 us
    # a run's CPU accounting is the one source of its interrupt time ...
    assert (data["hardirq_time_ns"], data["softirq_time_ns"]) == ([3], [4])
    # ... a trace's is the traced time
    traced = replace(simulated(), cpu_time_ns=None).to_json()
    assert traced["hardirq_time_ns"] == [2_000, 400]  # the nested timer is inside irq 24
    assert traced["softirq_time_ns"] == [2_900, 0]
    assert traced["hardirq_cpu_share"] == pytest.approx([0.2, 0.04])
    assert data["os"] == "linux"
    assert data["nested"] == {"LOC": 1}
    assert data["storm_suspects"] == [{"irq": 17, "unhandled": 1, "total": 1}]
    assert data["warnings"] == [
        {"kind": "storm", "irq": 17, "time_ns": 7_000, "message": "irq 17: nobody cared"}
    ]
    assert data["cpu_time_ns"] == {"0": {"user": 1, "system": 2, "irq": 3, "softirq": 4,
                                         "idle": 5}}
    assert (data["seed"], data["source"], data["cpus"], data["title"]) == (7, "simulation", 2, "t")


def test_snapshot_row_fields_and_interval_rate() -> None:
    row = CounterRow("0", [9, 1], chip="IR-IO-APIC", hwirq="2", trigger="edge", name="timer",
                     handlers=["timer"])
    level = CounterRow("3", [4, 0], chip="GICv3", hwirq="27", trigger="Level", name="arch_timer",
                       handlers=["arch_timer"])
    snap = CounterSnapshot(cpus=2, rows={"0": row, "3": level})
    data = Report("snapshot", 2, interval_s=2.0, counters=snap).to_json()
    assert (data["counters"]["0"]["trigger"], data["counters"]["0"]["flow"]) == ("edge", "edge")
    assert (data["counters"]["3"]["trigger"], data["counters"]["3"]["flow"]) == ("Level", None)
    assert data["irq_per_s"] == {"0": 5.0, "3": 2.0}
    assert data["hardirq_time_ns"] is None


def test_diff_snapshots_subtracts_per_cell_and_keeps_new_rows() -> None:
    a = CounterSnapshot(cpus=2, rows={"24": CounterRow("24", [10, 2**32 - 5])},
                        softirqs={"TIMER": [100, 100]})
    b = CounterSnapshot(cpus=2, ts_ns=5, rows={"24": CounterRow("24", [15, 3], name="eth0"),
                                               "25": CounterRow("25", [7, 8])},
                        softirqs={"TIMER": [150, 120]})
    d = diff_snapshots(a, b)
    assert d.rows["24"].per_cpu == [5, 8]  # the unsigned int counter wrapped on CPU1
    assert d.rows["24"].name == "eth0"
    assert d.rows["25"].per_cpu == [7, 8]
    assert d.softirqs == {"TIMER": [50, 20]}
    assert d.ts_ns == 5


def test_build_counters_orders_rows_like_the_kernel() -> None:
    s = IrqStats(1)
    for ts, name in enumerate(["reschedule", "local_timer", "error_apic"]):
        s.feed(ts * 10, 0, VECTOR_ENTRY, -1, 0, name)
        s.feed(ts * 10 + 1, 0, VECTOR_EXIT, -1, 0, name)
    for irq in (120, 9):
        s.feed(100 + irq, 0, IRQ_ENTRY, irq, 0, f"dev{irq}")
        s.feed(101 + irq, 0, IRQ_EXIT, irq, 1, "")
    snap = build_counters(s)
    assert list(snap.rows) == ["9", "120", "LOC", "RES", "ERR"]
    assert snap.rows["ERR"].per_cpu == [1]
    assert snap.softirqs == {}


def test_text_report_has_every_section_with_units() -> None:
    text = render_text(simulated())
    for heading in ["/proc/interrupts", "/proc/softirqs", "Interrupt rate", "Hard-IRQ handler",
                    "Latency assert->entry", "Softirq run time", "Softirq latency",
                    "Time in interrupt context", "Nested interrupts", "Storm suspects",
                    "CPU time", "Results", "Warnings"]:
        assert heading in text
    assert "p99_us" in text and "hardirq_cpu_pct" in text
    assert " 24:          1          0  eth0\n" in text
    assert "[storm] t=7.000us irq=17: irq 17: nobody cared" in text


def test_kernel_log_is_in_the_json_and_the_tail_in_the_text() -> None:
    from irqlab.report.text import LOG_TAIL, render_text

    report = Report("simulation", 1, log=[(i * 1_000_000, f"line {i}") for i in range(LOG_TAIL + 5)])
    data = report.to_json()
    assert data["log"][0] == {"time_ns": 0, "line": "line 0"} and len(data["log"]) == LOG_TAIL + 5
    text = render_text(report)
    assert f"Kernel log (last {LOG_TAIL} of {LOG_TAIL + 5})" in text
    assert "[    0.024000] line 24" in text and "] line 4\n" not in text


def test_every_distribution_carries_buckets_summing_to_count() -> None:
    data = json.loads(json.dumps(simulated().to_json()))
    dists = [d for key in ("latency_ns", "handler_ns", "softirq_latency_ns", "softirq_ns",
                           "end_to_end_ns") for d in data[key].values()]
    assert len(dists) == 7
    for d in dists:
        assert set(d) == SUMMARY_KEYS
        assert sum(c for _, _, c in d["buckets"]) == d["count"]
        assert d["p50"] <= d["p90"] <= d["p99"] <= d["p999"] <= d["p9999"] <= d["max"]
