"""Placement policies: static, local-node and the irqbalance-like daemon
(classes and levels, placement by cache domain and node, rebalancing by load
at its interval, banned CPUs, affinity hints), and the built-in ``rss-skew``
scenario showing the imbalance of skewed flows and its reduction."""

from __future__ import annotations

import pytest

from irqlab.machine.build import build
from irqlab.machine.irqbalance import BALANCE_CACHE, BALANCE_CORE, BALANCE_PACKAGE, CLASS_LEVEL
from irqlab.machine.machine import Machine
from irqlab.machine.run import simulate
from irqlab.runner import simulation_report
from irqlab.scenario.loader import ScenarioError, load, parse
from irqlab.scenario.override import Override, parse_value

MQ = """
[scenario]
duration = "10ms"
[machine]
arch = "x86"
cpus = 8
numa_nodes = {nodes}
llc_cpus = {llc}
[timer]
enabled = false
[[device]]
name = "eth0"
kind = "msix"
vectors = 8
cpu = {cpus}
vector = [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]
node = {node}
{extra}
[device.nic]
app_cpus = [0, 1, 2, 3, 4, 5, 6, 7]
[device.nic.flows]
count = 64
rate = "200k/s"
share = {{ dist = "zipf", s = 1.1 }}
[irqbalance]
policy = "{policy}"
interval = "2ms"
{balance}
"""


def run(policy: str, *, cpus: str = "[0, 1, 2, 3, 4, 5, 6, 7]", nodes: int = 1, llc: int = 8,
        node: int = 0, extra: str = "", balance: str = "") -> Machine:
    spec, _ = parse(MQ.format(policy=policy, cpus=cpus, nodes=nodes, llc=llc, node=node,
                              extra=extra, balance=balance), "<test>")
    m = build(spec)
    simulate(m, spec.scenario.duration)
    return m


def placement(m: Machine) -> list[int]:
    return [m.kernel.descs[irq].affinity for irq in m.irqs["eth0"]]


def cpu_imbalance(m: Machine) -> float:
    return m.nics["eth0"].counts()["cpu_imbalance"]


def test_irqbalance_classes_map_to_its_levels() -> None:
    assert CLASS_LEVEL["other"] == BALANCE_PACKAGE
    assert CLASS_LEVEL["legacy"] == BALANCE_CACHE
    assert all(CLASS_LEVEL[c] == BALANCE_CORE for c in ("storage", "ethernet", "10gbit-ethernet"))


def test_static_moves_nothing() -> None:
    m = run("static", cpus="[0, 0, 1, 1, 2, 2, 3, 3]")
    assert placement(m) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert m.balancer.moves == 0


def test_irqbalance_spreads_packed_queues_and_lowers_the_cpu_imbalance() -> None:
    packed = "[0, 0, 1, 1, 2, 2, 3, 3]"
    static = run("static", cpus=packed)
    balanced = run("irqbalance", cpus=packed)
    assert sorted(placement(balanced)) == list(range(8))  # one queue per core (BALANCE_CORE)
    # the report's queue table shows where each queue's interrupt is now
    assert balanced.nics["eth0"].counts()["queues"]["cpu"] == placement(balanced)
    assert balanced.balancer.passes == 5  # at 2, 4, 6, 8, 10 ms
    assert cpu_imbalance(balanced) < cpu_imbalance(static)


def test_irqbalance_never_moves_the_only_irq_of_a_cpu() -> None:
    m = run("irqbalance")
    assert placement(m) == list(range(8)) and m.balancer.moves == 0


def test_local_node_and_irqbalance_keep_a_nodes_irqs_on_its_cpus() -> None:
    local = run("local-node", nodes=2, llc=4, node=1)
    assert placement(local) == [4, 5, 6, 7, 4, 5, 6, 7]
    bal = run("irqbalance", nodes=2, llc=4, node=1)
    assert set(placement(bal)) <= {4, 5, 6, 7}
    # irqbalance pairs hot queues with cold ones; round-robin does not look at load
    assert cpu_imbalance(bal) <= cpu_imbalance(local)


def test_irqbalance_honours_banned_cpus_and_the_affinity_hint() -> None:
    m = run("irqbalance", cpus="[0, 0, 0, 0, 0, 0, 0, 0]", balance="banned_cpus = [1, 2]")
    assert not {1, 2} & set(placement(m))
    m = run("irqbalance", cpus="[0, 0, 0, 0, 0, 0, 0, 0]", extra="affinity_hint = [6, 7]")
    assert set(placement(m)) == {6, 7}


def test_moves_take_a_new_vector_and_a_refused_move_is_counted_not_lost() -> None:
    # every queue holds vector 0x21 on its own CPU: a move allocates a vector on
    # the target CPU (x86 vector matrix), so none is refused
    text = MQ.format(policy="local-node", cpus="[0, 1, 2, 3, 4, 5, 6, 7]", nodes=2, llc=4,
                     node=0, extra="", balance="")
    spec, _ = parse(text.replace("vector = [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]", ""),
                    "<test>")
    m = build(spec)
    simulate(m, spec.scenario.duration)
    assert m.balancer.moves and not m.balancer.refused
    assert set(placement(m)) <= {0, 1, 2, 3}  # node 0's CPUs
    # managed vectors cannot be moved by the user (-EIO): each refusal is counted
    managed = text.replace("cpu = [0, 1, 2, 3, 4, 5, 6, 7]\n", "managed = true\n").replace(
        "vector = [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47]\n", "")
    spec, _ = parse(managed, "<test>")
    m = build(spec)
    simulate(m, spec.scenario.duration)
    assert m.balancer.refused and all("-EIO" in r for r in m.balancer.refused)
    assert not m.balancer.moves
    report = simulation_report(m, None)
    assert report.placement is not None
    assert report.placement["refused"] == len(m.balancer.refused)


@pytest.mark.parametrize(("balance", "field"), [
    ("banned_cpus = [9]", "irqbalance.banned_cpus: CPU 9"),
    ("banned_cpus = [0, 1, 2, 3, 4, 5, 6, 7]", "every CPU is banned"),
    ('policy = "fastest"', "irqbalance.policy"),
])
def test_bad_irqbalance_settings_name_their_field(balance: str, field: str) -> None:
    toml = MQ.format(policy="static", cpus="[0, 1, 2, 3, 4, 5, 6, 7]", nodes=1, llc=8, node=0,
                     extra="", balance="")
    toml = toml.replace('policy = "static"', balance if "policy" in balance else
                        'policy = "static"\n' + balance)
    with pytest.raises(ScenarioError, match=field.replace("[", r"\[")):
        parse(toml, "<test>")


def test_device_node_and_hint_are_checked() -> None:
    with pytest.raises(ScenarioError, match="node 2 is not one of the 1 NUMA nodes"):
        parse(MQ.format(policy="static", cpus="[0]", nodes=1, llc=8, node=2, extra="",
                        balance=""), "<test>")


def rss_skew(*sets: str) -> dict:
    spec, _ = load("rss-skew", [Override(p, parse_value(v)) for p, v in
                                (s.split("=", 1) for s in sets)])
    m = build(spec)
    simulate(m, spec.scenario.duration)
    return m.nics["eth0"].counts()


def test_rss_skew_shows_the_imbalance_and_its_reduction() -> None:
    static = rss_skew()
    rebalanced = rss_skew("device.eth0.nic.rss.rebalance=2ms")
    # static RSS: the elephant flows' queues are far above the mean
    assert static["queue_imbalance"] > 2.0 and static["cpu_imbalance"] > 2.0
    # the rebalanced indirection table moves the other flows off them
    assert rebalanced["rss_rebalances"] == 5
    assert rebalanced["queue_imbalance"] < 0.8 * static["queue_imbalance"]
    assert rebalanced["cpu_imbalance"] < 0.8 * static["cpu_imbalance"]
    # same offered packets either way: the reduction is not lost traffic
    assert (sum(rebalanced["queues"]["packets"]) + sum(rebalanced["queues"]["drops"])
            == sum(static["queues"]["packets"]) + sum(static["queues"]["drops"]))
