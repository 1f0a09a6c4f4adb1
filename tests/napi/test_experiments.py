"""The built-in receive-livelock and moderation experiments, on reduced sweeps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from irqlab import scenario
from irqlab.experiments import run_experiment
from irqlab.scenario.loader import ScenarioError, load, parse


def _run(name: str, **overrides: object) -> list[dict]:
    spec, extras = load(name)
    exp = dict(extras["experiment"])  # type: ignore[call-overload]
    exp.update(overrides, workers=1)
    report = run_experiment(spec, exp, None, 16_000_000)
    assert report.results is not None
    return report.results


def _series(results: list[dict], mode: str) -> list[int]:
    return [r["delivered_pps"] for r in sorted(results, key=lambda r: r["offered_pps"])
            if r["mode"] == mode]


LOADS = ["100k/s", "300k/s", "600k/s", "1.2M/s"]


def test_per_packet_rises_peaks_and_collapses() -> None:
    d = _series(_run("receive-livelock", modes=["per-packet"], loads=LOADS, warmup="4ms"),
                "per-packet")
    peak = d.index(max(d))
    assert 0 < peak < len(d) - 1
    assert d[0] < d[peak]
    assert d[-1] < 0.2 * d[peak]


def test_napi_holds_close_to_its_peak() -> None:
    d = _series(_run("receive-livelock", modes=["napi"], loads=LOADS, warmup="4ms"), "napi")
    assert d[-1] >= 0.8 * max(d)


def test_moderation_bounds_the_rate_and_adds_latency() -> None:
    rows = _run("moderation", rx_usecs=[10, 50, 200], adaptive=False, warmup="4ms")
    for r in rows:
        assert r["irq_per_s"] <= r["irq_bound_per_s"]
    lat = [r["latency_p50_us"] for r in rows]
    assert lat == sorted(lat) and lat[-1] > lat[0] + 100


def test_bad_experiment_field_is_named() -> None:
    spec, extras = load("receive-livelock")
    exp = dict(extras["experiment"])  # type: ignore[call-overload]
    exp["loads"] = ["fast"]
    with pytest.raises(ScenarioError, match=r"experiment\.loads"):
        run_experiment(spec, exp, None, 16_000_000)
    with pytest.raises(ScenarioError, match=r"experiment\.kind"):
        run_experiment(spec, {"kind": "nope"}, None, 16_000_000)


def test_an_experiment_machine_the_builder_refuses_is_a_scenario_error() -> None:
    """The experiment builds through the one builder: what the platform
    refuses (no MSI on a Cortex-M) is reported once, before the sweep."""
    text = (Path(scenario.__file__).parent / "builtin" / "receive-livelock.toml").read_text()
    text = re.sub(r'(?m)^arch = .*$', 'arch = "armv7m"', re.sub(r"(?m)^cpus = .*$", "cpus = 1", text))
    spec, extras = parse(text, "<cortex-m livelock>")
    with pytest.raises(ScenarioError, match="device 'eth0': a Cortex-M has no MSI"):
        run_experiment(spec, dict(extras["experiment"]), None, 16_000_000)  # type: ignore[call-overload]
