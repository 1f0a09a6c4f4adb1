"""The built-in receive-livelock and moderation experiments, on reduced
grids: ordinary sweeps over the NIC device's settings, summarised."""

from __future__ import annotations

import re
from typing import Any

import pytest

from irqlab.experiments import run_experiment
from irqlab.scenario.loader import ScenarioError, parse, read
from irqlab.scenario.override import Override

LOADS = ["100k/s", "300k/s", "600k/s", "1.2M/s"]


def _run(name: str, sweep: dict[str, Any], experiment: dict[str, Any] | None = None,
         text: str | None = None) -> list[dict]:
    base, source = read(name)
    _, extras = parse(base, source)
    exp = {**extras["experiment"], "workers": 1, **(experiment or {})}  # type: ignore[dict-item]
    fixed = [Override("scenario.duration", "16ms"), Override("device.eth0.nic.warmup", "4ms")]
    report = run_experiment(text or base, source, exp, sweep, fixed, None, None, False)
    assert report.results is not None
    return report.results


def _livelock(receive: str, rx_usecs: int = 0) -> list[int]:
    results = _run("receive-livelock", {"set": {"device.eth0.nic.receive": receive,
                                                "device.eth0.nic.rx_usecs": rx_usecs,
                                                "device.eth0.arrival.rate": LOADS}})
    assert [r["offered_pps"] for r in results] == [100_000, 300_000, 600_000, 1_200_000]
    return [r["delivered_pps"] for r in results]


def test_per_packet_rises_peaks_and_collapses() -> None:
    d = _livelock("per-packet")
    peak = d.index(max(d))
    assert 0 < peak < len(d) - 1
    assert d[0] < d[peak]
    assert d[-1] < 0.2 * d[peak]


def test_napi_holds_close_to_its_peak() -> None:
    d = _livelock("napi")
    assert d[-1] >= 0.8 * max(d)


def test_the_modes_are_named_from_the_device_settings() -> None:
    results = _run("receive-livelock", {
        "zip": [["device.eth0.nic.receive", "device.eth0.nic.rx_usecs"]],
        "set": {"device.eth0.nic.receive": ["per-packet", "napi", "per-packet", "napi"],
                "device.eth0.nic.rx_usecs": [0, 0, 50, 50],
                "device.eth0.arrival.rate": "100k/s"}})
    assert [r["mode"] for r in results] == ["per-packet", "napi", "moderation", "napi-moderation"]


def test_moderation_bounds_the_rate_and_adds_latency() -> None:
    rows = _run("moderation", {"set": {"device.eth0.nic.rx_usecs": [10, 50, 200],
                                       "device.eth0.nic.adaptive": False}})
    assert [r["rx_usecs"] for r in rows] == [10, 50, 200]
    for r in rows:
        assert r["irq_per_s"] <= r["irq_bound_per_s"]
    lat = [r["latency_p50_us"] for r in rows]
    assert lat == sorted(lat) and lat[-1] > lat[0] + 100


def test_bad_fields_are_named() -> None:
    with pytest.raises(ScenarioError, match=r"sweep\.set\.device\.eth0\.arrival\.rate"):
        _run("receive-livelock", {"set": {"device.eth0.arrival.rate": ["fast", "slow"]}})
    with pytest.raises(ScenarioError, match=r"experiment\.kind"):
        _run("receive-livelock", {}, {"kind": "nope"})
    with pytest.raises(ScenarioError, match=r"experiment\.device: no device named 'eth1'"):
        _run("receive-livelock", {}, {"device": "eth1"})


def test_an_experiment_machine_the_builder_refuses_is_a_scenario_error() -> None:
    """The points build through the one builder: what the platform refuses (no
    MSI on a Cortex-M) is reported once, before the runs."""
    base, _ = read("receive-livelock")
    text = re.sub(r'(?m)^arch = .*$', 'arch = "armv7m"', base)
    with pytest.raises(ScenarioError, match="device 'eth0': a Cortex-M has no MSI"):
        _run("receive-livelock", {}, text=text)
