"""The built-in scenarios run and show what their descriptions say
(shared-line-storm: test_spurious.py; missed-eoi: test_dispatch.py)."""

from __future__ import annotations

from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.hw.gic import GicV3
from irqlab.hw.nvic import Nvic
from irqlab.machine.build import Machine, build
from irqlab.runner import simulation_report
from irqlab.scenario.loader import builtin_descriptions, builtin_names, load
from tests.kernel.rig import Recorder, run


def _run(name: str, duration_ns: int) -> tuple[Machine, Recorder]:
    spec, _ = load(name)
    m = build(spec)
    return m, run(m, duration_ns)


def test_the_issue_scenarios_are_shipped_with_a_description() -> None:
    names = set(builtin_names())
    assert {"default", "shared-line-storm", "missed-eoi", "gic-arm64", "nvic-cortex-m4"} <= names
    assert all(builtin_descriptions()[n] for n in names)


def test_default_is_a_mixed_2cpu_x86_machine() -> None:
    m, _ = _run("default", 30_000_000)
    rows = simulation_report(m, None).counters.rows  # type: ignore[union-attr]
    assert m.platform.arch == "x86" and m.kernel.ncpus == 2
    assert all(c > 0 for c in rows["LOC"].per_cpu)
    nic = [r for r in rows.values() if r.name and r.name.startswith("eth0")]
    assert [(r.chip, r.flow) for r in nic] == [("PCI-MSIX-0000:01:00.0", "edge")] * 2
    assert [[c > 0 for c in r.per_cpu] for r in nic] == [[True, False], [False, True]]
    [shared] = [r for r in rows.values() if r.handlers and len(r.handlers) == 2]
    assert (shared.chip, shared.flow) == ("IO-APIC", "fasteoi")
    assert shared.total > 0
    assert any(r.name and r.name.startswith("ahci") and r.total > 0 for r in rows.values())
    assert m.kernel.warnings == []


def test_gic_arm64_runs_split_eoi_with_percpu_timer_spis_and_lpis() -> None:
    m, _ = _run("gic-arm64", 20_000_000)
    assert isinstance(m.ctrl, GicV3) and m.ctrl.eoi_mode == 1 and m.kernel.split_eoi
    rows = simulation_report(m, None).counters.rows  # type: ignore[union-attr]
    timer = next(r for r in rows.values() if r.name == "arch_timer")
    assert (timer.chip, timer.hwirq, timer.flow) == ("GICv3", "30", "percpu")
    assert all(c > 0 for c in timer.per_cpu)
    lpis = [r for r in rows.values() if r.chip == "ITS-MSI"]
    assert len(lpis) == 4 and all(int(r.hwirq or 0) >= 8192 and r.total > 0 for r in lpis)
    spis = {r.name: r.trigger for r in rows.values() if r.chip == "GICv3" and r.flow == "fasteoi"}
    assert spis == {"uart-pl011": "Level", "gpio-keys": "Edge"}
    assert m.kernel.warnings == []


def test_nvic_cortex_m4_preempts_and_tail_chains() -> None:
    m, rec = _run("nvic-cortex-m4", 20_000_000)
    assert isinstance(m.ctrl, Nvic)
    irq = {name: m.irqs[name][0] for name in ("TIM1_UP", "USART2", "ADC1")}
    nested, gaps, stack, last_exit = set(), [], [], None
    for ts, _, kind, n, _, _ in rec.events:
        if kind == IRQ_ENTRY:
            if stack:
                nested.add((stack[-1], n))
            elif last_exit is not None:
                gaps.append(ts - last_exit)
            stack.append(n)
        elif kind == IRQ_EXIT:
            stack.pop()
            last_exit = ts if not stack else None
    assert {outer for outer, inner in nested if inner == irq["TIM1_UP"]} >= {irq["USART2"],
                                                                           irq["ADC1"]}
    assert all(inner == irq["TIM1_UP"] or outer == irq["ADC1"] for outer, inner in nested)
    # back to back: the next handler starts after the tail-chain cost, no unstack + stack
    assert min(gaps) == 60  # 6 tail-chain cycles at 100 MHz
    assert m.ctrl.entry_ns(0, True) < m.ctrl.exit_ns(0, False) + m.ctrl.entry_ns(0, False)
    # the motor-control timer keeps its 50 us period
    assert abs(len(rec.entries(irq["TIM1_UP"])) - 20_000_000 // 50_000) <= 1


def test_cpu_hotplug_takes_cpu2_away_and_back_under_load_losing_nothing() -> None:
    m, rec = _run("cpu-hotplug", 20_000_000)
    k = m.kernel
    on_cpu2 = [ts for ts, cpu, kind, *_ in rec.events if kind == IRQ_ENTRY and cpu == 2]
    assert on_cpu2 and not [ts for ts in on_cpu2 if 5_020_000 <= ts < 12_000_000], \
        "CPU2 takes no interrupt while offline (after the stopper's 20 us)"
    assert max(on_cpu2) >= 12_000_000, "and takes them again once back"
    # Every raise of the non-managed devices is counted on some CPU, merged with
    # one already waiting in IRR (Poisson arrivals can be that close), or still
    # waiting at the end.
    devs = [dev for name in ("eth0", "serial") for dev in m.devices[name]]
    raised = sum(dev.raised for dev in devs)
    counted = sum(sum(k.descs[dev.irq].kstat) for dev in devs)
    apic = m.ctrl
    coalesced = sum(lapic.coalesced for lapic in apic.lapics)
    waiting = sum(1 for dev in devs if k.descs[dev.irq].vector in apic.lapics[k.descs[dev.irq].affinity].irr)
    assert counted + coalesced + waiting == raised
    assert coalesced < raised // 100
    nvme2 = k.descs[m.irqs["nvme0q"][2]]
    assert nvme2.affinity_mask == 0b100 and nvme2.affinity == 2, "managed: back on its own CPU"
    eth2 = k.descs[m.irqs["eth0"][2]]
    assert (eth2.affinity_mask, eth2.affinity) == (0b1100, 3), "moved within its mask"
    log = [line for _, line in k.log]
    assert "smpboot: CPU 2 is now offline" in log and "IRQ 4: no longer affine to CPU2" in log
    assert k.cpu_online_mask == 0b1111
