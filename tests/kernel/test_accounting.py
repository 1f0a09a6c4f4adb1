"""CPU accounting like /proc/stat (user, system, irq, softirq, idle per CPU)
in the report, and the work left to a user workload."""

from __future__ import annotations

from irqlab.kernel.flags import IRQS_ONESHOT
from irqlab.machine.build import build
from irqlab.runner import simulation_report
from irqlab.scenario.loader import load

from .rig import machine, run

KINDS = ["user", "system", "irq", "softirq", "idle"]

NIC = """
[scenario]
name = "load"
[machine]
cpus = 1
{workload}
[[device]]
name = "eth0"
kind = "msix"
arrival = {{ kind = "poisson", rate = "{rate}" }}
handler = {{ cost = "2us", softirq = "NET_RX", softirq_cost = "3us" }}
"""


def cpu_time(rate: str, workload: bool = True, duration: int = 20_000_000) -> dict[str, int]:
    m = machine(NIC.format(rate=rate, workload='workload = { kind = "cpu-bound" }' if workload else ""))
    run(m, duration)
    times: dict[str, int] = simulation_report(m, None).to_json()["cpu_time_ns"]["0"]
    return times


def test_report_json_has_proc_stat_columns_that_sum_to_the_elapsed_time() -> None:
    spec, _ = load("threaded-irq")
    m = build(spec)
    run(m, 20_000_000)
    data = simulation_report(m, None).to_json()
    assert sorted(data["cpu_time_ns"]) == ["0", "1"]
    for times in data["cpu_time_ns"].values():
        assert list(times) == KINDS
        assert sum(times.values()) == data["duration_ns"] == 20_000_000
        assert times["user"] > 0 and times["system"] > 0 and times["irq"] > 0


def test_threads_time_is_their_cpus_user_and_system_time() -> None:
    spec, _ = load("threaded-irq")
    m = build(spec)
    run(m, 20_000_000)
    data = simulation_report(m, None).to_json()
    for cpu, times in data["cpu_time_ns"].items():
        rows = [r for r in data["results"] if r["cpu"] == int(cpu)]
        assert times["user"] == sum(r["runtime_ns"] for r in rows if r["thread"].startswith("cpu-bound"))
        assert times["system"] == sum(r["runtime_ns"] for r in rows
                                      if r["thread"].startswith(("irq/", "kworker/")))
    names = {r["thread"]: r for r in data["results"]}
    assert names["irq/17-i2c_hid"]["policy"] == "SCHED_FIFO" and names["irq/17-i2c_hid"]["prio"] == 50


def test_without_threads_the_cpu_time_left_is_idle() -> None:
    times = cpu_time("20k/s", workload=False)
    assert times["user"] == times["system"] == 0
    assert times["idle"] == 20_000_000 - times["irq"] - times["softirq"] > 0


def test_user_work_falls_as_the_interrupt_load_rises() -> None:
    loads = [cpu_time(rate) for rate in ("5k/s", "40k/s", "120k/s")]
    user = [t["user"] for t in loads]
    kernel = [t["irq"] + t["softirq"] for t in loads]
    assert user[0] > user[1] > user[2]
    assert kernel[0] < kernel[1] < kernel[2]
    for t in loads:
        assert t["idle"] == 0 and t["user"] + t["irq"] + t["softirq"] == 20_000_000


def test_threaded_irq_scenario_uses_every_bottom_half() -> None:
    spec, _ = load("threaded-irq")
    m = build(spec)
    run(m, 20_000_000)
    k = m.kernel
    data = simulation_report(m, None).to_json()
    ran = {r["thread"]: r["runtime_ns"] for r in data["results"]}
    assert ran["irq/17-i2c_hid"] > 0 and ran["kworker/1:0"] > 0
    assert data["softirqs"]["TASKLET"]["per_cpu"][1] > 0
    assert m.drivers["serial"].tasklet.runs == data["softirqs"]["TASKLET"]["total"]  # type: ignore[union-attr]
    assert k.descs[17].istate & IRQS_ONESHOT
    assert k.warnings == []
