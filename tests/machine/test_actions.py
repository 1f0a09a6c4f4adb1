"""[[action]]: timed actions on the running machine (machine/actions.py), and
their one-line errors naming the action's index and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from tests.kernel.rig import machine, run

MACHINE = """
[machine]
cpus = 4
[timer]
enabled = false
[[device]]
name = "eth0"
kind = "msix"
vectors = 2
cpu = [0, 1]
arrival = { kind = "periodic", period = "10us" }
handler = { cost = "1us" }
[[device]]
name = "nvme"
kind = "msix"
managed = true
arrival = { kind = "periodic", period = "50us" }
"""


def _action(body: str) -> str:
    return MACHINE + "[[action]]\n" + body


def test_set_affinity_by_device_and_queue_writes_smp_affinity_list() -> None:
    m = machine(_action('at = "1ms"\nkind = "set-affinity"\ndevice = "eth0"\nqueue = 1\ncpus = "2-3"\n'))
    run(m, 2_000_000)
    desc = m.kernel.descs[m.irqs["eth0"][1]]
    assert desc.affinity == 2 and desc.affinity_mask == 0b1100
    # an action runs before an arrival due at the same instant: the 1 ms one goes to CPU2
    assert desc.kstat == [0, 99, 100, 0]
    snap = m.kernel.snapshot()
    assert snap.irq_files[str(desc.irq)]["smp_affinity_list"] == "2-3"
    assert snap.irq_files[str(desc.irq)]["effective_affinity"] == "4"
    assert "irqlab: action[0]: set-affinity irq 25 -> CPUs 2-3" in [line for _, line in m.kernel.log]


def test_set_affinity_by_irq_number_moves_that_irq_only() -> None:
    m = machine(_action('at = "1ms"\nkind = "set-affinity"\nirq = 24\ncpus = [3]\n'))
    run(m, 2_000_000)
    k = m.kernel
    assert k.descs[24].kstat == [99, 0, 0, 100] and k.descs[25].kstat == [0, 199, 0, 0]


def test_disable_and_enable_irq() -> None:
    m = machine(MACHINE + """
[[action]]
at = "1ms"
kind = "disable-irq"
device = "eth0"
queue = 0
[[action]]
at = "1.5ms"
kind = "enable-irq"
irq = 24
""")
    run(m, 2_000_000)
    dev = m.devices["eth0"][0]
    # lazy disable: the 1 ms edge is marked PENDING and masked, not counted; the
    # edges until 1.5 ms wait in the MSI-X pending bit.  The enable unmasks (the
    # held message is sent) and resends (coalesced with it in IRR): one interrupt,
    # then the 50 from 1.5 ms on.
    assert m.kernel.descs[24].kstat[0] == 99 + 1 + 50
    assert (m.kernel.resends, m.ctrl.lapics[0].coalesced) == (1, 1)
    assert dev.served + dev.status == dev.raised


def test_rate_changes_the_arrival_rate_from_then_on() -> None:
    m = machine(_action('at = "1ms"\nkind = "rate"\ndevice = "eth0"\nqueue = 0\nrate = "200k/s"\n'))
    run(m, 2_000_000)
    k = m.kernel
    # arrivals at 10 us .. 1 ms (the gap to 1 ms was drawn before), then every 5 us
    assert k.descs[24].kstat[0] == 100 + 199
    assert k.descs[25].kstat[1] == 199, "the other queue keeps its rate"


def test_a_refused_set_affinity_is_logged_and_warned() -> None:
    m = machine(_action('at = "1ms"\nkind = "set-affinity"\nirq = 26\ncpus = "1"\n'))
    run(m, 1_500_000)
    assert [w.message for w in m.kernel.warnings] == [
        "action[0]: set-affinity irq 26 -> CPUs 1 failed: -EIO: irq 26 is managed: the kernel "
        "sets its affinity"]


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.toml"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    [line] = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    return line.removeprefix(f"Error: {path}: ")


@pytest.mark.parametrize(("body", "message"), [
    ('at = "1ms"\nkind = "set-affinity"\ndevice = "eth0"\ncpus = "0,9"\n',
     "action[0].cpus: CPU 9 does not exist (machine has 4)"),
    ('at = "1ms"\nkind = "set-affinity"\ndevice = "eth0"\ncpus = "2-x"\n',
     "action[0].cpus: expected a CPU list such as '0-3,8', got '2-x'"),
    ('at = "1ms"\nkind = "set-affinity"\ndevice = "eth0"\n',
     "action[0]: a 'set-affinity' action needs 'cpus'"),
    ('at = "1ms"\nkind = "set-affinity"\ncpus = "1"\n',
     "action[0]: a 'set-affinity' action names either 'irq' or 'device'"),
    ('at = "1ms"\nkind = "set-affinity"\ndevice = "nvme"\ncpus = "1"\n',
     "action[0].device: 'nvme' is managed: the kernel sets its affinity (writing "
     "smp_affinity_list fails with -EIO)"),
    ('at = "1ms"\nkind = "set-affinity"\ndevice = "eth0"\nqueue = 2\ncpus = "1"\n',
     "action[0].queue: 'eth0' has 2 queue(s) (0-1)"),
    ('at = "1ms"\nkind = "set-affinity"\ndevice = "eth9"\ncpus = "1"\n',
     "action[0].device: no device named 'eth9'"),
    ('at = "1ms"\nkind = "set-affinity"\nirq = 99\ncpus = "1"\n',
     "action[0].irq: no IRQ 99 (this machine has 24, 25, 26)"),
    ('at = "1ms"\nkind = "cpu-offline"\ncpu = 4\n',
     "action[0].cpu: CPU 4 does not exist (machine has 4)"),
    ('at = "1ms"\nkind = "cpu-offline"\ncpu = 1\nirq = 24\n',
     "action[0]: 'irq' is not a field of a 'cpu-offline' action"),
    ('at = "soon"\nkind = "cpu-online"\ncpu = 1\n', "action[0].at: "),
    ('at = "1ms"\nkind = "reboot"\n', "action[0].kind: expected "),
    ('at = "1ms"\nkind = "rate"\ndevice = "eth0"\n', "action[0]: a 'rate' action needs 'rate'"),
    ('at = "1ms"\nkind = "rate"\ndevice = "eth0"\nrate = "2G/s"\n',
     "action[0].rate: 2e+09/s is above one arrival per ns"),
])
def test_bad_actions_are_one_line_naming_the_action_and_field(tmp_path: Path, body: str,
                                                               message: str) -> None:
    assert _error(tmp_path, _action(body)).startswith(message)


NIC = """
[machine]
cpus = 1
[timer]
enabled = false
[[device]]
name = "eth0"
kind = "msix"
arrival = { kind = "periodic", period = "2us" }
[device.nic]
receive = "napi"
"""


@pytest.mark.parametrize("key", ["rx_usecs", "rx-usecs"])
def test_coalesce_changes_the_nics_moderation_at_run_time(key: str) -> None:
    """ethtool -C eth0 rx-usecs 100: from 2 ms on, at most one interrupt per 100 us
    (the field spelled as the scenario's NIC table or as ethtool spells it)."""
    m = machine(NIC + f'[[action]]\nat = "2ms"\nkind = "coalesce"\ndevice = "eth0"\n{key} = 100\n')
    q = m.nics["eth0"].queue(0)
    at_2ms: list[int] = []
    m.engine.at(2_000_000, lambda _: at_2ms.append(q.interrupts))
    run(m, 4_000_000)
    assert (q.usecs_ns, q.frames) == (100_000, 0), "rx-frames left out: the timer alone"
    assert at_2ms[0] > 200, "unmoderated before: an interrupt per poll"
    assert q.interrupts - at_2ms[0] <= 2_000 // 100 + 1, "at most one per 100 us from 2 ms on"


def test_coalesce_turns_adaptive_moderation_on_and_off() -> None:
    m = machine(NIC + """
[[action]]
at = "1ms"
kind = "coalesce"
device = "eth0"
adaptive = true
[[action]]
at = "3ms"
kind = "coalesce"
device = "eth0"
adaptive = false
rx_usecs = 8
rx_frames = 32
""")
    path = m.nics["eth0"]
    seen: list[object] = []
    m.engine.at(2_000_000, lambda _: seen.append(path.driver.dims is not None))
    run(m, 4_000_000)
    assert seen == [True] and path.driver.dims is None
    assert (path.queue(0).usecs_ns, path.queue(0).frames) == (8_000, 32)


@pytest.mark.parametrize(("body", "message"), [
    ('kind = "coalesce"\ndevice = "eth0"\n',
     "action[0]: a 'coalesce' action sets rx_usecs, rx_frames or adaptive"),
    ('kind = "coalesce"\ndevice = "eth0"\nrx_usecs = 0\nrx_frames = 0\n',
     "action[0]: rx_usecs 0 and rx_frames 0 would never interrupt"),
    ('kind = "coalesce"\ndevice = "eth0"\nrx_usecs = 10\ncpu = 1\n',
     "action[0]: 'cpu' is not a field of a 'coalesce' action"),
])
def test_bad_coalesce_actions(tmp_path: Path, body: str, message: str) -> None:
    assert _error(tmp_path, NIC + '[[action]]\nat = "1ms"\n' + body).startswith(message)


def test_coalesce_needs_a_nic(tmp_path: Path) -> None:
    assert _error(tmp_path, _action('at = "1ms"\nkind = "coalesce"\ndevice = "eth0"\nrx_usecs = 5\n')) \
        .startswith("action[0].device: 'eth0' is not a NIC (no [device.nic] table)")
