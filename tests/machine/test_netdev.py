"""A NIC device (``device.nic``): its receive path runs in any scenario, its
settings are ordinary fields (``--set``, sweeps), its figures are the
report's ``rx`` section."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.machine.build import build, queue_share
from irqlab.scenario.loader import ScenarioError, parse
from irqlab.scenario.schema import Arrival

NIC = """
[scenario]
duration = "12ms"
[machine]
cpus = 2
[[device]]
name = "eth0"
kind = "msix"
vectors = {vectors}
cpu = {cpu}
arrival = {{ kind = "poisson", rate = "200k/s" }}
[device.nic]
receive = "{receive}"
warmup = "2ms"
"""


def _file(tmp_path: Path, vectors: int = 1, cpu: str = "0", receive: str = "napi",
          extra: str = "") -> str:
    path = tmp_path / "nic.toml"
    path.write_text(NIC.format(vectors=vectors, cpu=cpu, receive=receive) + extra)
    return str(path)


def _run(*args: str) -> dict:
    res = CliRunner().invoke(cli, ["run", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.mark.parametrize("receive", ["per-packet", "napi"])
def test_the_receive_path_runs_in_an_ordinary_scenario(tmp_path: Path, receive: str) -> None:
    data = _run(_file(tmp_path, receive=receive))
    rx = data["rx"]["eth0"]
    assert 180_000 < rx["offered_pps"] < 220_000
    assert 0 < rx["delivered_pps"] <= rx["offered_pps"] * 1.02
    assert rx["irq_per_s"] > 0 and rx["cpu_user_share"] > 0
    lat = rx["latency_ns"]
    assert lat["count"] > 0 and sum(b[2] for b in lat["buckets"]) == lat["count"]
    irq = next(label for label, row in data["counters"].items() if "eth0" in str(row))
    # the NIC's raises are traced like any device's: assert->entry latency exists
    assert 0.9 * data["counters"][irq]["total"] <= data["latency_ns"][irq]["count"]


def test_coalescing_is_a_device_setting(tmp_path: Path) -> None:
    path = _file(tmp_path, receive="per-packet")
    off = _run(path)["rx"]["eth0"]["irq_per_s"]
    moderated = _run(path, "--set", "device.eth0.nic.rx_usecs=100")["rx"]["eth0"]["irq_per_s"]
    assert off > 150_000
    assert moderated <= 1e6 / 100  # at most one interrupt per rx-usecs


def test_queues_spread_the_arrivals_over_their_cpus(tmp_path: Path) -> None:
    data = _run(_file(tmp_path, vectors=2, cpu="[0, 1]"))
    rows = [row for row in data["counters"].values() if "eth0" in str(row)]
    assert len(rows) == 2
    assert rows[0]["per_cpu"][0] > 0 and rows[1]["per_cpu"][1] > 0


def test_a_share_of_the_arrivals_per_queue() -> None:
    poisson = Arrival.model_validate({"kind": "poisson", "rate": "300k/s"})
    assert queue_share(poisson, 1, 3).rate == pytest.approx(100e3)
    periodic = queue_share(Arrival.model_validate(
        {"kind": "periodic", "period": "1us", "phase": "10ns"}), 2, 4)
    assert (periodic.period, periodic.phase) == (4000, 2010)
    replay = Arrival.model_validate({"kind": "replay", "times": [f"{t}ns" for t in range(1, 6)]})
    assert queue_share(replay, 1, 2).times == [2, 4]


def test_runs_are_reproducible(tmp_path: Path) -> None:
    spec, _ = parse(Path(_file(tmp_path)).read_text(), "nic.toml")
    from irqlab.machine.run import simulate

    reports = []
    for _ in range(2):
        m = build(spec, 5)
        simulate(m, spec.scenario.duration)
        reports.append(m.nics["eth0"].report())
    assert reports[0] == reports[1]


@pytest.mark.parametrize(("extra", "message"), [
    ('rx_usecs = 0\nrx_frames = 0\n', "nic.toml: device[0].nic: rx_usecs 0 and rx_frames 0"),
    ('adaptive = true\nreceive = "per-packet"\n', "adaptive needs receive = 'napi'"),
    ('ring_size = 0\n', "nic.toml: device[0].nic.ring_size"),
    ('[device.handler]\ncost = "3us"\n', "nic: the NIC driver is the handler"),
    ('warmup = "20ms"\n', "device 'eth0': nic.warmup: 20000000 ns is not shorter than the run"),
])
def test_bad_nic_settings_name_the_field(extra: str, message: str) -> None:
    text = NIC.format(vectors=1, cpu="0", receive="napi")
    text = text.replace('receive = "napi"\n', "").replace('warmup = "2ms"\n', "")
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse(text + extra, "nic.toml")


@pytest.mark.parametrize(("extra", "message"), [
    ('[[device]]\nname = "eth1"\nkind = "msix"\n[device.nic]\n',
     "device 'eth1': nic: one NIC per scenario"),
    ('[[fault]]\nkind = "slow-handler"\ndevice = "eth0"\nextra = "1us"\n',
     "fault[0]: 'slow-handler' acts on a built-in handler; 'eth0' is a NIC"),
])
def test_scenario_level_nic_errors(extra: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse(NIC.format(vectors=1, cpu="0", receive="napi") + extra, "nic.toml")


def test_a_nic_on_a_line_is_refused() -> None:
    text = '[[device]]\nname = "eth0"\nline = 3\n[device.nic]\n'
    with pytest.raises(ScenarioError, match="a NIC's queues are MSI-X vectors"):
        parse(text, "nic.toml")


def test_the_livelock_grid_is_an_ordinary_sweep(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    res = CliRunner().invoke(cli, [
        "sweep", "receive-livelock", "--jobs", "1", "-o", str(out),
        "--set", "device.eth0.arrival.rate=100k/s,1.2M/s", "--set", "scenario.duration=8ms",
        "--set", "device.eth0.nic.warmup=2ms"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3 * 2  # the file's three receive modes x the two rates
    assert [(r["device.eth0.nic.receive"], r["device.eth0.nic.rx_usecs"]) for r in rows[::2]] == [
        ("per-packet", "0"), ("napi", "0"), ("per-packet", "50")]
    delivered = {(r["device.eth0.nic.receive"], r["device.eth0.nic.rx_usecs"],
                  r["device.eth0.arrival.rate"]): float(r["rx.eth0.delivered_pps"]) for r in rows}
    # per-packet collapses at 1.2M/s, NAPI keeps delivering
    assert delivered[("per-packet", "0", "1.2M/s")] < 0.2 * delivered[("napi", "0", "1.2M/s")]


def test_coalescing_fields_also_take_ethtool_spellings(tmp_path: Path) -> None:
    """``rx-usecs``, ``rx-frames``, ``adaptive-rx`` as ``ethtool -C`` writes them, in
    the file and by ``--set``; both spellings at once is an error naming one."""
    text = NIC.format(vectors=1, cpu="0", receive="napi")
    spec, _ = parse(text + "rx-usecs = 50\nrx-frames = 8\nadaptive-rx = true\n", "nic.toml")
    nic = spec.device[0].nic
    assert nic is not None and (nic.rx_usecs, nic.rx_frames, nic.adaptive) == (50, 8, True)
    path = _file(tmp_path, receive="per-packet")
    moderated = _run(path, "--set", "device.eth0.nic.rx-usecs=100")["rx"]["eth0"]["irq_per_s"]
    assert moderated <= 1e6 / 100
    with pytest.raises(ScenarioError, match=re.escape("nic.toml: device[0].nic.rx-usecs: ")):
        parse(text + "rx_usecs = 50\nrx-usecs = 60\n", "nic.toml")
    with pytest.raises(ScenarioError, match=re.escape("nic.toml: device[0].nic.rx-usecs: ")):
        parse(text + "rx-usecs = -1\n", "nic.toml")
