"""``[[vm]]`` and ``device.assign``: every mistake is one line naming the file
and the field (exit status 2); the report's ``vms`` section; determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from tests.virt.conftest import run_guests, scenario

GOOD = scenario("posted")


@pytest.mark.parametrize(("edit", "field", "expected"), [
    (("pin = [1]", "pin = [1, 0]"), "vm[0].pin", "2 CPUs for 1 vCPU(s)"),
    (("pin = [1]", "pin = [7]"), "vm[0].pin", "CPU 7 is not one of the 2 host CPUs"),
    (('injection = "posted"', 'injection = "vgic"'), "vm[0].injection",
     "'vgic' is not an x86 injection mode (expected emulated, apicv, posted, eli-partial, eli-full)"),
    (('arch = "x86"\n', 'arch = "arm64"\n'), "vm[0].injection",
     "'posted' is not an arm64 injection mode (expected emulated, vgic)"),
    (('assign = "guest0"', 'assign = "guest1"'), "device[0].assign",
     "no VM named 'guest1' (VMs: guest0)"),
    (('kind = "msix"\nassign', 'kind = "line"\nline = 3\nassign'), "device[0].assign",
     "only MSI-X functions"),
    (('assign = "guest0"', 'assign = "guest0"\ncpu = 1'), "device[0].cpu",
     "vCPU 1 is not one of the 1 vCPU(s) of 'guest0'"),
    (('arch = "x86"\n', 'arch = "armv7m"\n'), "vm", "has no virtualization extensions"),
    (('pin = [1]', 'vcpus = 2'), "vm", "2 vCPU(s) to place but only 1 free host CPU(s)"),
    (('name = "guest0"', 'name = "guest 0"'), "vm[0].name", "should match pattern"),
    (("[[vm]]", '[[fault]]\nkind = "slow-handler"\ndevice = "vf0"\nextra = "1us"\n[[vm]]'),
     "fault[0].device", "'vf0' is assigned to 'guest0'; faults act on the host's devices"),
])
def test_vm_errors_name_file_and_field(tmp_path: Path, edit: tuple[str, str], field: str,
                                       expected: str) -> None:
    text = GOOD.replace(*edit, 1)
    assert text != GOOD
    path = tmp_path / "vm.toml"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    [line] = [ln for ln in res.output.splitlines() if ln.strip()]
    assert line.startswith(f"Error: {path}: {field}: "), line
    assert expected in line


def test_two_vms_cannot_share_a_host_cpu(tmp_path: Path) -> None:
    text = GOOD + '[[vm]]\nname = "guest1"\npin = [1]\n'
    path = tmp_path / "vm.toml"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2
    assert f"{path}: vm[1].pin: CPU 1 already runs a vCPU of 'guest0'" in res.output


def test_the_report_has_each_vm_under_vms_and_the_host_its_posted_rows(tmp_path: Path) -> None:
    path = tmp_path / "vm.toml"
    path.write_text(GOOD)
    res = CliRunner().invoke(cli, ["run", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    vm = data["vms"]["guest0"]
    assert {"injection", "exits", "exits_per_device_interrupt", "latency_ns",
            "guest_work_share", "counters"} <= set(vm)
    assert vm["injection"] == "posted"
    lat = vm["latency_ns"]
    assert lat["count"] == 50 and lat["buckets"] and sum(b[2] for b in lat["buckets"]) == 50
    assert 0.9 < vm["guest_work_share"] < 1
    rows = list(data["counters"])
    assert rows[rows.index("PIN"):rows.index("PIN") + 3] == ["PIN", "NPI", "PIW"]
    text = CliRunner().invoke(cli, ["run", str(path)]).stdout
    assert "VM guest0" in text and "/proc/interrupts (guest0)" in text
    assert "PIN:" in text and "Posted-interrupt notification event" in text


def test_a_guest_has_its_own_kernel_vector_table_and_interrupts() -> None:
    m, data = run_guests(GOOD)
    assert m.hypervisor is not None
    guest = m.hypervisor.vms[0].machine
    assert guest.kernel is not m.kernel and guest.engine is m.engine
    [irq] = guest.irqs["vf0"]
    assert guest.kernel.vector_irq[0][guest.kernel.descs[irq].vector] is guest.kernel.descs[irq]
    assert data["vms"]["guest0"]["counters"][str(irq)]["handlers"] == ["vf0"]
    host_rows = {r["name"] for r in data["counters"].values()}
    assert "vfio-msix[0](0000:01:00.0)" in host_rows  # the host's side of the VF


def test_the_hosts_workload_leaves_the_vcpus_cpus_alone() -> None:
    m, data = run_guests(GOOD.replace("hz = 1000", "hz = 1000\nworkload = {}"))
    assert [t.cpu for t in m.kernel.sched.threads] == [0]
    assert data["cpu_time_ns"]["0"]["user"] > 0.9 * m.engine.now
    assert data["vms"]["guest0"]["guest_work_share"] > 0.9


def test_a_run_with_guests_is_reproducible() -> None:
    text = scenario("emulated", timer=True).replace('kind = "periodic", period = "100us", phase = "50us"',
                                                    'kind = "poisson", rate = "20k/s"')
    assert run_guests(text)[1] == run_guests(text)[1]
