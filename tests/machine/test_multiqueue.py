"""Multi-queue networking (``[device.nic]`` with flows): flows through RSS to queues,
RPS and RFS steering with IPIs, XPS for the replies, RSS table rebalancing,
and the per-queue / per-CPU counts of the report."""

from __future__ import annotations

import pytest

from irqlab.kernel.smp import IPI_CALL_FUNC, IPI_CALL_FUNC_SINGLE
from irqlab.machine.build import build
from irqlab.machine.machine import Machine
from irqlab.machine.netdev import imbalance, rebalanced
from irqlab.machine.run import simulate
from irqlab.scenario.loader import ScenarioError, parse

NIC = """
[scenario]
duration = "5ms"
[machine]
arch = "x86"
cpus = {cpus}
[timer]
enabled = false
[[device]]
name = "eth0"
kind = "msix"
vectors = {queues}
cpu = {qcpus}
[device.nic]
{nic}
[device.nic.flows]
count = {flows}
rate = "{rate}"
{flowx}
[device.nic.rss]
{rss}
"""


def nic(net: str = "", *, flowx: str = "", rss: str = "", cpus: int = 4, queues: int = 4,
        flows: int = 64, rate: str = "200k/s", qcpus: str | None = None, seed: int = 1) -> Machine:
    toml = NIC.format(cpus=cpus, queues=queues, flows=flows, rate=rate, nic=net, flowx=flowx,
                      rss=rss, qcpus=qcpus or str(list(range(queues))))
    spec, _ = parse(toml, "<test>")
    m = build(spec, seed)
    simulate(m, spec.scenario.duration)
    return m


def counts(m: Machine) -> dict:
    return m.nics["eth0"].counts()


def in_flight(m: Machine) -> int:
    nd = m.nics["eth0"]
    return (sum(len(q.ring) for q in nd.nic.queues)
            + sum(len(sd.input_pkt_queue) for sd in nd.net.sd))


def test_rss_puts_each_packet_on_the_queue_its_hash_indexes() -> None:
    m = nic()
    nic_ = m.nics["eth0"].nic
    per_queue = [0] * 4
    for entry, n in enumerate(nic_.indir_packets):
        per_queue[nic_.indir[entry]] += n
    assert [q.packets for q in nic_.queues] == per_queue
    assert all(per_queue)  # 64 random flows reach every queue of the default table
    # every flow's packets all land on one queue: the one its hash indexes
    for f in m.nics["eth0"].flows:
        h = nic_.rxhash(f)
        assert nic_.indir[h % 128] in range(4)


def test_every_packet_is_processed_or_still_in_flight() -> None:
    m = nic("rps_cpus = [1, 2, 3]\napp_cpus = [0, 1, 2, 3]")
    r = counts(m)
    offered = sum(r["queues"]["packets"]) + sum(r["queues"]["drops"])
    processed = sum(r["cpus"]["processed"])
    assert offered > 500
    assert processed + in_flight(m) + sum(r["queues"]["drops"]) == offered


def test_skewed_flows_show_as_queue_and_cpu_imbalance() -> None:
    even = counts(nic(flowx='share = { dist = "equal" }', flows=512))
    skewed = counts(nic(flowx='share = { dist = "zipf", s = 2 }', flows=512))
    assert even["queue_imbalance"] < 1.3
    # the top flow alone is 1/zeta(2) = 61 % of the packets: 2.4 x the mean of 4 queues at least
    assert skewed["queue_imbalance"] > 2.4
    assert skewed["cpu_imbalance"] > 2.4
    # the report's imbalance is max/mean of the per-queue packets
    assert skewed["queue_imbalance"] == imbalance(skewed["queues"]["packets"])


def test_ethtool_x_equal_spreads_over_the_first_queues_only() -> None:
    r = counts(nic(rss="indir = { equal = 2 }"))
    assert [n > 0 for n in r["queues"]["packets"]] == [True, True, False, False]
    r = counts(nic(rss="indir = { weight = [0, 0, 1, 0] }"))
    assert [n > 0 for n in r["queues"]["packets"]] == [False, False, True, False]


def test_rps_moves_protocol_work_to_the_map_by_call_function_ipis() -> None:
    m = nic("rps_cpus = [4, 5, 6, 7]\napp_cpus = [4, 5, 6, 7]", cpus=8, queues=1, qcpus="0")
    r = counts(m)
    processed, received = r["cpus"]["processed"], r["cpus"]["received_rps"]
    assert processed[0] == 0  # the polling CPU only steers
    assert all(processed[c] > 0 and received[c] > 0 for c in (4, 5, 6, 7))
    rows = m.kernel.snapshot().rows
    sent = m.kernel.smp.sent
    # each IPI sent was taken and counted in CAL (its target idle between bursts or not)
    assert rows["CAL"].per_cpu == [a + b for a, b in zip(sent[IPI_CALL_FUNC],
                                                          sent[IPI_CALL_FUNC_SINGLE], strict=True)]
    # the kicks of remote backlogs are the RPS IPIs: at least one per received_rps
    assert all(rows["CAL"].per_cpu[c] >= received[c] for c in (4, 5, 6, 7))


def test_rfs_steers_each_flow_to_the_cpu_of_its_reader() -> None:
    plain = counts(nic("app_cpus = [3]", cpus=4, queues=2, qcpus="[0, 1]"))
    rfs = counts(nic("app_cpus = [3]\nrfs = { entries = 1024, flow_cnt = 256 }", cpus=4,
                     queues=2, qcpus="[0, 1]"))
    assert plain["cpus"]["processed"][3] == 0
    total = sum(rfs["cpus"]["processed"])
    # after each flow's first read its packets follow the reader to CPU 3
    assert rfs["cpus"]["processed"][3] > 0.9 * total


def test_xps_sends_each_reply_on_the_queue_of_the_sending_cpu() -> None:
    r = counts(nic("app_cpus = [0, 1, 2, 3]\nreply = true\nxps = [3, 2, 1, 0]"))
    tx = r["queues"]["tx_packets"]
    sent_by_cpu = r["cpus"]["tx"]
    assert tx == sent_by_cpu[::-1] and sum(tx) > 0
    r = counts(nic("app_cpus = [0]\nreply = true"))  # no XPS: the flow hash picks the queue
    assert sum(n > 0 for n in r["queues"]["tx_packets"]) > 1


def test_rebalancing_the_indirection_table_reduces_the_imbalance() -> None:
    static = counts(nic(flowx='share = { dist = "zipf", s = 1.1 }', flows=256))
    rebal = counts(nic(flowx='share = { dist = "zipf", s = 1.1 }', rss='rebalance = "1ms"',
                       flows=256))
    assert rebal["rss_rebalances"] == 5  # at 1, 2, 3, 4 and 5 ms
    assert rebal["queue_imbalance"] < static["queue_imbalance"]


def test_rebalanced_is_greedy_heaviest_first() -> None:
    # 10 -> q0; 5, 5 -> q1 (10); 1 -> q0, fewer entries (11); the idle ones to the lighter q1
    assert rebalanced([10, 0, 5, 5, 1, 0], 2) == [0, 1, 1, 1, 0, 1]


FAULT = '[[fault]]\nkind = "slow-handler"\ndevice = "eth0"\nextra = "1us"\n'


@pytest.mark.parametrize(("table", "text", "field"), [
    ("rss", "indir = [0, 9]\nindir_size = 2", "nic.rss.indir: queue 9"),
    ("rss", "indir = [0, 1, 2]", "nic.rss.indir: 3 entries for indir_size 128"),
    ("rss", "indir_size = 100", "indir_size: 100 is not a power of two"),
    ("rss", "indir = { equal = 9 }", "nic.rss.indir.equal: 9 queues"),
    ("net", "xps = [0, 1]", "nic.xps: 2 entries for 4 CPUs"),
    ("net", "rps_cpus = [0, 7]", "nic.rps_cpus: CPU 7"),
    ("net", "app_cpus = [5]", "nic.app_cpus: CPU 5"),
    ("net", "rfs = { entries = 1000 }", "nic.rfs.entries: 1000 is not a power of two"),
    ("flowx", 'share = { dist = "zipf", s = 0 }', "nic.flows.share.s"),
    ("arrival", 'arrival = { kind = "poisson", rate = "1k/s" }', "leave 'arrival' out"),
    ("fault", FAULT, "'slow-handler' acts on a built-in handler"),
])
def test_bad_multiqueue_settings_name_their_field(table: str, text: str, field: str) -> None:
    parts = {"net": "", "flowx": "", "rss": "", table: text}
    toml = NIC.format(cpus=4, queues=4, flows=8, rate="1k/s", nic=parts["net"],
                      flowx=parts["flowx"], rss=parts["rss"], qcpus="[0, 1, 2, 3]")
    if table == "arrival":
        toml = toml.replace("[device.nic]\n", text + "\n[device.nic]\n")
    elif table == "fault":
        toml += text
    with pytest.raises(ScenarioError) as exc:
        parse(toml, "<test>")
    msg = str(exc.value)
    assert field in msg and "\n" not in msg
