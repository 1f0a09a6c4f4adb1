"""CPU hotplug (kernel/cpuhotplug.py): interrupts, softirq work, tasklets,
work items and threads leave a dying CPU; nothing raised is lost."""

from __future__ import annotations

import pytest

from irqlab.kernel.cpuhotplug import HotplugError
from irqlab.kernel.flags import IRQD_MANAGED_SHUTDOWN
from irqlab.kernel.napi import napi_schedule
from irqlab.kernel.softirq import NET_RX
from irqlab.kernel.tasklet import Tasklet
from irqlab.kernel.workqueue import Work

from .rig import at, machine, run

LOADED = """
[machine]
arch = "{arch}"
cpus = 4
[[device]]
name = "eth0"
kind = "msix"
vectors = 4
cpu = [0, 1, 2, 3]
arrival = {{ kind = "periodic", period = "23us" }}
handler = {{ cost = "1us", softirq = "NET_RX", softirq_cost = "3us", tasklet_cost = "1us", work_cost = "2us" }}
[[device]]
name = "uart"
kind = "line"
line = {line}
trigger = "edge"
cpu = 2
arrival = {{ kind = "periodic", period = "31us", phase = "7us" }}
handler = {{ cost = "2us" }}
[[action]]
at = "2ms"
kind = "cpu-offline"
cpu = 2
[[action]]
at = "2.5ms"
kind = "cpu-offline"
cpu = 1
[[action]]
at = "6ms"
kind = "cpu-online"
cpu = 2
[[action]]
at = "7ms"
kind = "set-affinity"
device = "eth0"
queue = 0
cpus = "2"
"""


@pytest.mark.parametrize(("arch", "line"), [("x86", 4), ("arm64", 40)])
def test_hotplug_under_load_loses_no_interrupt(arch: str, line: int) -> None:
    """Every raise is counted on some CPU, and every request served (or pending at the end)."""
    m = machine(LOADED.format(arch=arch, line=line))
    run(m, 10_000_000)
    k = m.kernel
    for devs in m.devices.values():
        for dev in devs:
            assert sum(k.descs[dev.irq].kstat) == dev.raised, f"{dev.name}: interrupts lost"
            assert dev.served + dev.status == dev.raised, f"{dev.name}: requests lost"
    # CPU2 was offline from 2 ms to 6 ms and CPU1 from 2.5 ms on: they took nothing then.
    eth = [k.descs[irq] for irq in m.irqs["eth0"]]
    assert eth[1].affinity != 1 and eth[2].affinity != 2, "moved off the dying CPUs"
    assert eth[0].affinity == 2, "the 7 ms action moved queue 0 to the CPU that came back"
    assert k.cpu_online_mask == 0b1101
    assert any("no longer affine to CPU2" in line for _, line in k.log)


def _softirq_machine():  # type: ignore[no-untyped-def]
    m = machine(LOADED.format(arch="x86", line=4).split("[[device]]")[0] + """
[timer]
enabled = false
""")
    return m


def test_pending_softirqs_tasklets_and_work_go_to_another_cpu() -> None:
    """takeover_tasklets, the pending softirq work, unbind_workers."""
    m = _softirq_machine()
    k = m.kernel
    ran: dict[str, int] = {}
    tasklet = Tasklet(lambda ctx: ran.update(tasklet=ctx.cpu), "t")
    work = Work(lambda ctx: ran.update(work=ctx.cpu), "w")

    def load_cpu3() -> None:
        # Work left on CPU3 as it goes offline, before its ksoftirqd or
        # kworker could run it.
        k.tasklets.vec[3].append(tasklet)
        tasklet.state = 1
        k.softirqs.pending[3] |= 1 << NET_RX
        k.softirqs.queued_ns[3][NET_RX] = 5_000
        pool = k.workqueue.pools[3]
        pool.worklist.append(work)
        work.pending = True
        k.hotplug.cpu_down(3)

    at(m, 1_000_000, load_cpu3)
    run(m, 2_000_000)
    assert ran == {"tasklet": 0, "work": 0}, "run by CPU0, the first online CPU"
    assert k.softirqs.counts[NET_RX][0] >= 1 and k.softirqs.queued_ns[0][NET_RX] == 0
    assert k.softirqs.pending[3] == 0 and not k.tasklets.vec[3]


def test_the_tick_stops_while_offline() -> None:
    """HZ=1000 on 4 CPUs: CPU n ticks at (n+1)/5 ms, then every 1 ms."""
    m = machine(LOADED.format(arch="x86", line=4).replace("cpus = 4", "cpus = 4\nhz = 1000"))
    run(m, 10_000_000)
    assert m.kernel.irq_stat.counts["LOC"] == [10, 3, 6, 10], \
        "CPU1 ticks at 0.4-2.4 ms only; CPU2 at 0.6, 1.6 and again from 6.6 ms"


def test_a_managed_interrupt_shuts_down_with_its_cpus_and_starts_again() -> None:
    m = machine("""
[machine]
cpus = 4
[timer]
enabled = false
[[device]]
name = "nvme0"
kind = "msix"
vectors = 2
managed = true
arrival = { kind = "periodic", period = "50us" }
handler = { cost = "1us" }
[[action]]
at = "1ms"
kind = "cpu-offline"
cpu = 2
[[action]]
at = "1.2ms"
kind = "cpu-offline"
cpu = 3
[[action]]
at = "3ms"
kind = "cpu-online"
cpu = 3
""")
    k = m.kernel
    irq1 = m.irqs["nvme0"][1]
    desc = k.descs[irq1]
    assert desc.affinity_mask == 0b1100, "queue 1 spread over CPUs 2-3"
    seen: dict[str, object] = {}
    at(m, 1_100_000, lambda: seen.update(one=(desc.affinity, desc.state & IRQD_MANAGED_SHUTDOWN)))
    at(m, 2_000_000, lambda: seen.update(none=(bool(desc.state & IRQD_MANAGED_SHUTDOWN),
                                               desc.vector, list(desc.kstat))))
    run(m, 4_000_000)
    assert seen["one"] == (3, 0), "CPU3 is left in its mask: it moved there"
    shut, vector, kstat = seen["none"]  # type: ignore[misc]
    assert shut and vector == -1, "no CPU of its mask online: shut down, vector freed"
    assert desc.affinity == 3 and not desc.state & IRQD_MANAGED_SHUTDOWN
    assert desc.kstat[3] > kstat[3] + 10, "started again when CPU3 came back"
    matrix = m.board.vectors.matrix  # type: ignore[attr-defined]
    assert matrix.maps[3].managed == 1 and matrix.maps[3].managed_allocated == 1


def test_refused_hotplug_requests() -> None:
    m = machine("[machine]\ncpus = 2\n")
    k = m.kernel
    with pytest.raises(HotplugError) as err:
        k.hotplug.cpu_down(5)
    assert err.value.errno == "EINVAL" and "does not exist (machine has 2)" in str(err.value)
    k.hotplug.cpu_down(1)
    with pytest.raises(HotplugError) as err:
        k.hotplug.cpu_down(0)
    assert err.value.errno == "EBUSY", "the last online CPU stays"
    with pytest.raises(HotplugError) as err:
        k.hotplug.cpu_up(0)
    assert err.value.errno == "EINVAL"


def test_a_refused_action_is_a_warning_and_the_run_goes_on() -> None:
    m = machine("""
[machine]
cpus = 2
[[action]]
at = "1ms"
kind = "cpu-offline"
cpu = 1
[[action]]
at = "2ms"
kind = "cpu-offline"
cpu = 0
""")
    run(m, 3_000_000)
    warned = [w.message for w in m.kernel.warnings if w.kind == "action"]
    assert warned == ["action[1]: cpu-offline CPU0 failed: -EBUSY: CPU 0 is the last online CPU"]
    assert m.engine.now == 3_000_000


def test_a_level_pin_pending_on_the_dying_cpu_is_retriggered_and_eoid_at_the_pin() -> None:
    """fixup_irqs resends the vector as an edge; ioapic_ack_level finds no TMR
    bit, EOIs the pin itself (Remote IRR cleared) and counts MIS."""
    m = machine("""
[machine]
cpus = 2
[timer]
enabled = false
[[device]]
name = "dev"
line = 5
trigger = "level"
cpu = 1
arrival = { kind = "replay", times = ["1.005ms", "1.5ms", "2ms"] }
handler = { cost = "1us" }
[[action]]
at = "1ms"
kind = "cpu-offline"
cpu = 1
""")
    run(m, 3_000_000)
    desc = m.kernel.descs[5]
    assert desc.kstat == [3, 0], "the 1.005 ms one was pending in CPU1's IRR and came to CPU0"
    assert m.kernel.snapshot().rows["MIS"].per_cpu == [1]
    assert not m.board.ioapic.rte[5].remote_irr  # type: ignore[attr-defined]


def test_a_cpu_goes_down_and_up_twice_with_one_stopper_thread() -> None:
    m = machine(LOADED.format(arch="x86", line=4).split("[[action]]")[0] + """
[[action]]
at = "1ms"
kind = "cpu-offline"
cpu = 3
[[action]]
at = "2ms"
kind = "cpu-online"
cpu = 3
[[action]]
at = "3ms"
kind = "cpu-offline"
cpu = 3
[[action]]
at = "4ms"
kind = "cpu-online"
cpu = 3
""")
    run(m, 5_000_000)
    k = m.kernel
    assert [t.name for t in k.sched.threads].count("migration/3") == 1
    assert [line for _, line in k.log].count("smpboot: CPU 3 is now offline") == 2
    for dev in m.devices["eth0"]:
        assert sum(k.descs[dev.irq].kstat) == dev.raised


def test_a_nics_napi_and_backlog_on_the_dying_cpu_go_on_elsewhere() -> None:
    """dev_cpu_dead: a NAPI still on the dying CPU's poll list (its queue
    interrupt masked until it is polled) is polled by another CPU, and the
    frames in the dying CPU's backlog are processed there."""
    m = machine("""
[machine]
cpus = 2
[timer]
enabled = false
[[device]]
name = "eth0"
kind = "msix"
vectors = 2
cpu = [0, 1]
arrival = { kind = "periodic", period = "20us" }
[device.nic]
receive = "napi"
""")
    path = m.nics["eth0"]
    net, napi1, q1 = path.net, path.driver.napis[1], path.queue(1)

    def strand_work_on_cpu1() -> None:
        # CPU1 idle: its NET_RX work waits for ksoftirqd/1, which the stopper
        # (FIFO 99, woken at the same instant) runs before.
        q1.irq_disable()
        napi_schedule(napi1, 1)
        net.netif_rx(1, [m.engine.now] * 5)
        m.kernel.hotplug.cpu_down(1)

    at(m, 1_010_000, strand_work_on_cpu1)
    run(m, 3_000_000)
    assert "smpboot: CPU 1 is now offline" in [line for _, line in m.kernel.log]
    assert napi1.cpu == 0 and q1.irq_enabled, "polled on CPU0, which re-enabled the queue"
    assert not net.sd[1].poll_list and not net.sd[1].input_pkt_queue
    assert net.sd[0].processed >= 5 + q1.packets - len(q1.ring)
