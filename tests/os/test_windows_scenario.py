"""machine.os = "windows": the Windows interrupt policy reachable from a scenario."""

from __future__ import annotations

import pytest

from irqlab.analysis.irqstats import IrqStats
from irqlab.machine.build import build
from irqlab.machine.errors import BuildError
from irqlab.machine.run import simulate
from irqlab.runner import simulation_report
from irqlab.scenario.loader import ScenarioError, load, parse


def test_builtin_windows_scenario_nests_by_irql_and_accounts_dpcs() -> None:
    spec, _ = load("windows-dpc")
    m = build(spec)
    stats = IrqStats(spec.machine.cpus)
    simulate(m, 50_000_000, [stats])
    data = simulation_report(m, stats).to_json()
    storport = next(k for k, r in data["counters"].items() if r["handlers"] == ["storport"])
    ndis = next(k for k, r in data["counters"].items() if r["handlers"] == ["ndis-miniport-0"])
    # storport (vector 0x80, IRQL 8) preempts the NIC ISR (0x60, IRQL 6), never the reverse
    assert data["nested"].get(storport, 0) > 0
    assert data["nested"].get(ndis, 0) == 0
    # every serviced request's DPC time (4 us NIC, 6 us storport, 20 us xHCI) is DPC time
    served = {name: sum(d.served for d in devs) for name, devs in m.devices.items()}
    dpc_ns = served["ndis-miniport"] * 4_000 + served["storport"] * 6_000 + served["usbxhci"] * 20_000
    dpc = sum(c["dpc"] for c in data["cpu_time_ns"].values())
    assert "softirqs" not in data, "Windows has no softirqs"
    assert dpc == pytest.approx(dpc_ns, abs=50_000)


def test_windows_needs_x86() -> None:
    with pytest.raises(ScenarioError, match=r"machine\.os"):
        parse('[machine]\narch = "arm64"\nos = "windows"\n', "w.toml")


def test_dpc_cost_needs_windows() -> None:
    with pytest.raises(ScenarioError, match=r"dpc_cost needs machine.os"):
        parse('[[device]]\nname = "nic"\nkind = "msix"\nhandler = { dpc_cost = "1us" }\n', "w.toml")


def test_windows_refuses_a_device_vector_at_or_below_dispatch_level() -> None:
    spec, _ = parse('[machine]\nos = "windows"\n[[device]]\nname = "nic"\nkind = "msix"\n'
                    'vector = 0x21\nhandler = { dpc_cost = "1us" }\n', "w.toml")
    with pytest.raises(BuildError, match="DISPATCH_LEVEL"):
        build(spec)
