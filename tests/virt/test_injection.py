"""Issue 16's "done when": each injection mode's exits per assigned interrupt,
exactly; non-assigned interrupts exiting in every mode; PIR coalescing of a
preempted vCPU; the wake-up of a blocked one; throughput against the rate."""

from __future__ import annotations

import pytest

from tests.virt.conftest import run_guests, scenario

#: exits per assigned interrupt of a running vCPU, by reason (irqlab.virt.modes)
EXACT = {
    ("x86", "emulated"): {"EXTERNAL_INTERRUPT": 1, "MSR_WRITE": 1},
    ("x86", "apicv"): {"EXTERNAL_INTERRUPT": 1},
    ("x86", "posted"): {},
    ("x86", "eli-partial"): {"MSR_WRITE": 1},
    ("x86", "eli-full"): {},
    ("arm64", "emulated"): {"IRQ": 1, "SYS64": 1},
    ("arm64", "vgic"): {"IRQ": 1},
}


@pytest.mark.parametrize(("arch", "mode"), sorted(EXACT))
def test_exits_per_assigned_interrupt_are_exact(arch: str, mode: str) -> None:
    _, data = run_guests(scenario(mode, arch=arch))
    vm = data["vms"]["guest0"]
    n = vm["assigned_interrupts"]
    assert n == 50
    assert vm["exits"] == {reason: k * n for reason, k in EXACT[arch, mode].items()}
    assert vm["exits_per_device_interrupt"] == sum(EXACT[arch, mode].values())
    assert vm["counters"]["24" if arch == "x86" else "2"]["total"] == n  # the guest took each one


#: the exit of a host interrupt while the vCPU runs: the shadow IDT's #NP under ELI
HOST_IRQ_EXIT = {"emulated": "EXTERNAL_INTERRUPT", "apicv": "EXTERNAL_INTERRUPT",
                 "posted": "EXTERNAL_INTERRUPT", "eli-partial": "EXCEPTION_NMI",
                 "eli-full": "EXCEPTION_NMI"}
DISK = """
[[device]]
name = "disk"
kind = "msix"
cpu = 1
arrival = { kind = "periodic", period = "1ms", phase = "333us" }
"""


@pytest.mark.parametrize("mode", sorted(HOST_IRQ_EXIT))
def test_non_assigned_interrupts_still_exit(mode: str) -> None:
    """The host's timer and a host device on the vCPU's CPU, and the guest's
    own timer, exit in every mode; the assigned device's exits stay as exact."""
    _, data = run_guests(scenario(mode, timer=True, duration="20ms", extra=DISK))
    vm = data["vms"]["guest0"]
    host = data["counters"]
    host_irqs = host["LOC"]["per_cpu"][1] + host["24"]["per_cpu"][1]
    assert host_irqs == 40
    guest_ticks = vm["counters"]["LOC"]["total"]
    assert guest_ticks == 20
    exact = EXACT["x86", mode]
    n = vm["assigned_interrupts"]
    want = {reason: k * n for reason, k in exact.items()}
    reason = HOST_IRQ_EXIT[mode]
    want[reason] = want.get(reason, 0) + host_irqs
    want["PREEMPTION_TIMER"] = guest_ticks
    if mode in ("emulated", "eli-partial", "eli-full"):  # the timer's EOI is not virtualised
        want["MSR_WRITE"] = want.get("MSR_WRITE", 0) + guest_ticks
    assert vm["exits"] == want
    assert vm["exits_per_device_interrupt"] == sum(exact.values())


PREEMPTING_THREAD = """
[[device]]
name = "disk"
kind = "msix"
cpu = 1
arrival = { kind = "replay", times = ["1ms"] }
handler = { cost = "1us", thread = "100us" }
"""


def test_a_preempted_vcpu_coalesces_posts_in_its_pir() -> None:
    """A host IRQ thread takes the vCPU's CPU for 100 us: SN is set, the VF's
    ten messages of that time set one PIR bit and send no notification; the
    guest takes one interrupt for them at its next entry."""
    text = scenario("posted", duration="2ms", extra=PREEMPTING_THREAD).replace(
        'period = "100us", phase = "50us"', 'period = "10us", phase = "5us"').replace(
        'cost = "2us"', 'cost = "1us", batch = 0')
    m, data = run_guests(text)
    vm = data["vms"]["guest0"]
    assert vm["assigned_interrupts"] == 200
    assert vm["pir_coalesced"] == 9
    assert vm["counters"]["24"]["total"] == 200 - 9
    assert vm["exits"] == {"EXTERNAL_INTERRUPT": 1}  # the thread's own interrupt, not the VF's
    assert data["counters"]["PIN"]["total"] == 0  # SN: no notification at all
    assert m.hypervisor is not None
    guest = m.hypervisor.vms[0].machine
    assert guest.devices["vf0"][0].served == 200  # the driver's batch took the coalesced ones too


@pytest.mark.parametrize("mode", ["posted", "emulated"])
def test_a_blocked_vcpu_is_woken(mode: str) -> None:
    """Without work the vCPU halts after each interrupt (HLT exit); the next
    one wakes it: through the posted-interrupt wake-up vector (PIW) when
    posted, from the VFIO handler's injection otherwise."""
    _, data = run_guests(scenario(mode, workload=False))
    vm = data["vms"]["guest0"]
    n = vm["assigned_interrupts"]
    assert vm["counters"]["24"]["total"] == n == 50
    assert vm["exits"]["HLT"] == n + 1  # one at boot, one after each interrupt
    piw = data["counters"]["PIW"]["per_cpu"]
    assert piw == ([0, n] if mode == "posted" else [0, 0])
    assert vm["latency_ns"]["p50"] > 1_500  # the wake-up cost


def test_a_running_vcpu_takes_posted_interrupts_without_the_host() -> None:
    _, data = run_guests(scenario("posted"))
    host = data["counters"]
    assert host["PIN"]["total"] == host["PIW"]["total"] == host["NPI"]["total"] == 0
    assert host["24"]["total"] == 0  # the VFIO interrupt never fires: the IRTE posts
    assert data["vms"]["guest0"]["latency_ns"]["max"] < 1_000


def test_throughput_falls_with_the_rate_only_in_exiting_modes() -> None:
    """The built-in experiment: each mode against the bare-metal twin in the same run."""
    import json

    from click.testing import CliRunner

    from irqlab.cli import cli

    res = CliRunner().invoke(cli, ["run", "vm-injection", "--duration", "4ms", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["results"]
    tput = {(r["mode"], r["rate_per_s"]): r["throughput_vs_bare_metal"] for r in rows}
    assert len(tput) == 20
    for mode in ("emulated", "apicv", "eli-partial"):
        falling = [tput[mode, rate] for rate in (10_000, 50_000, 100_000, 200_000)]
        assert falling == sorted(falling, reverse=True), mode
        assert falling[-1] < falling[0] - 0.1, mode
    for mode in ("posted", "eli-full"):
        flat = [tput[mode, rate] for rate in (10_000, 50_000, 100_000, 200_000)]
        assert max(flat) - min(flat) < 0.03 and min(flat) > 0.98, mode
    assert tput["emulated", 200_000] < tput["apicv", 200_000] < tput["eli-partial", 200_000] \
        < tput["posted", 200_000]


SIX_AT_ONCE = """
[scenario]
duration = "1ms"
[machine]
arch = "arm64"
cpus = 2
[timer]
enabled = false
[[vm]]
name = "guest0"
pin = [1]
injection = "MODE"
workload = {}
[[device]]
name = "vf0"
kind = "msix"
assign = "guest0"
vectors = 6
arrival = { kind = "replay", times = ["100us"] }
"""


@pytest.mark.parametrize(("mode", "exits"), [("vgic", {"IRQ": 2}), ("emulated", {"IRQ": 1, "SYS64": 6})])
def test_the_vgic_refills_its_four_list_registers_on_the_underflow_interrupt(
        mode: str, exits: dict[str, int]) -> None:
    """Six virtual LPIs at once: the entry fills the four list registers, the
    underflow maintenance interrupt (at most one register still valid) exits
    once more and the next entry writes the other two; without a vGIC every
    EOI traps instead."""
    _, data = run_guests(SIX_AT_ONCE.replace("MODE", mode))
    vm = data["vms"]["guest0"]
    assert vm["exits"] == exits
    assert sum(r["total"] for label, r in vm["counters"].items() if label.isdigit()) == 6
