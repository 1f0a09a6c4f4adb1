"""``--vcd``: the waveform parsed back with ``vcdvcd`` (an independent reader),
its edges checked against the event trace of the run."""

from __future__ import annotations

import io
import itertools
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from vcdvcd import VCDVCD

from irqlab.cli import cli
from irqlab.cli.run import level_irqs
from irqlab.events import (
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    IRQ_STATE,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    VECTOR_ENTRY,
    Event,
)
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.report.vcd import CHIP_TERMS, HARDIRQ, PULSE_NS, SOFTIRQ, TASK, VcdWriter
from irqlab.scenario.loader import load


def sig(name: str) -> str:
    """Full VCD name of ``"irq24.line"``: ``"irqlab.irq24.irq24_line"``."""
    scope, var = name.split(".")
    return f"irqlab.{scope}.{scope}_{var}"


def values(vcd: VCDVCD, name: str) -> list[tuple[int, int]]:
    return [(t, int(v, 2)) for t, v in vcd[sig(name)].tv]


def edges(vcd: VCDVCD, name: str) -> tuple[list[int], list[int]]:
    """(rising, falling) times of a 1-bit signal after time 0."""
    tv = values(vcd, name)
    rise = [t for (_, a), (t, b) in itertools.pairwise(tv) if a == 0 and b == 1]
    fall = [t for (_, a), (t, b) in itertools.pairwise(tv) if a == 1 and b == 0]
    if tv and tv[0][1] == 1:
        rise.insert(0, tv[0][0])
    return rise, fall


@pytest.fixture(scope="module")
def vcd(default_run, tmp_path_factory) -> VCDVCD:
    path = tmp_path_factory.mktemp("vcd") / "run.vcd"
    writer = VcdWriter(path, 2, level_irqs(default_run.machine), title="default")
    for ev in default_run.events:
        writer.feed(*ev)
    writer.close()
    assert writer.unmatched == 0
    return VCDVCD(str(path))


def times(run, kind: int, irq: int, **match: int) -> list[int]:
    return [e.ts_ns for e in run.events if e.kind == kind and e.irq == irq
            and all(getattr(e, k) == v for k, v in match.items())]


def test_header_is_plain_ieee_1364(vcd) -> None:
    assert vcd.timescale["magnitude"] == 1 and vcd.timescale["unit"] == "ns"
    kinds = {(v.var_type, v.size) for v in vcd.data.values()}
    assert kinds == {("wire", "1"), ("reg", "2")}
    names = {sig(n) for n in ("irq24.line", "irq24.handler", "cpu0.context", "cpu1.context",
                              "cpu0.in_hardirq", "cpu0.vec33_irr", "cpu0.vec33_isr")}
    assert names <= set(vcd.signals)
    # unique without their scope: PulseView drops scopes
    short = [s.rsplit(".", 1)[1] for s in vcd.signals]
    assert len(short) == len(set(short))


def test_handler_pin_toggles_at_each_entry_and_exit(default_run, vcd) -> None:
    for irq in (24, 25, 26):
        rise, fall = edges(vcd, f"irq{irq}.handler")
        assert rise == times(default_run, IRQ_ENTRY, irq)
        assert fall == times(default_run, IRQ_EXIT, irq)
        assert rise


def test_edge_lines_pulse_at_each_assert(default_run, vcd) -> None:
    raises = times(default_run, IRQ_RAISE, 24)
    rise, fall = edges(vcd, "irq24.line")
    assert rise == raises and fall == [t + PULSE_NS for t in raises]


def test_level_line_stays_high_until_a_handler_quiets_the_device(default_run, vcd) -> None:
    assert 16 in level_irqs(default_run.machine) and 24 not in level_irqs(default_run.machine)
    rise, fall = edges(vcd, "irq16.line")
    assert rise and set(rise) <= set(times(default_run, IRQ_RAISE, 16))
    assert fall and set(fall) <= set(times(default_run, IRQ_EXIT, 16, value=1))
    assert all(f - r > PULSE_NS for r, f in zip(rise, fall, strict=False))


class _ModelCheck:
    """A sink that, at each IRQ_STATE event, reads the controller model's own
    state of that interrupt (APIC IRR/ISR, GIC and NVIC ``state``)."""

    controller_state = True

    def __init__(self, machine) -> None:  # type: ignore[no-untyped-def]
        self.ctrl = machine.ctrl
        self.events: list[Event] = []
        self.mismatches: list[Event] = []

    def model(self, cpu: int, intid: int) -> int:
        ctrl = self.ctrl
        if ctrl.name == "APIC":
            lapic = ctrl.lapics[cpu]
            return (intid in lapic.irr) | (intid in lapic.isr) << 1
        state = ctrl.state(intid, cpu) if ctrl.name == "GICv3" else ctrl.state(intid)
        return state.endswith("pending") | state.startswith("active") << 1

    def feed(self, *ev) -> None:  # type: ignore[no-untyped-def]
        event = Event(*ev)
        self.events.append(event)
        if event.kind == IRQ_STATE and self.model(event.cpu, event.irq) != event.value:
            self.mismatches.append(event)


@pytest.mark.parametrize(("scenario", "chip"), [("default", "APIC"), ("gic-arm64", "GICv3"),
                                                ("nvic-cortex-m4", "NVIC")])
def test_pending_and_in_service_bits_are_the_controllers(scenario, chip, tmp_path) -> None:
    spec, _ = load(scenario)
    machine = build(spec, 1)
    check = _ModelCheck(machine)
    path = tmp_path / "c.vcd"
    writer = VcdWriter(path, spec.machine.cpus, level_irqs(machine), chip=machine.ctrl.name)
    simulate(machine, 3_000_000, [check, writer])
    writer.close()
    assert machine.ctrl.name == chip and writer.unmatched == 0
    states = [e for e in check.events if e.kind == IRQ_STATE]
    assert len(states) > 50 and check.mismatches == []
    # every change of a bit is an edge of its signal, at the time the model changed it
    prefix, pending, active = CHIP_TERMS[chip]
    vcd = VCDVCD(str(path))
    seen: dict[tuple[int, int], int] = {}
    expected: dict[str, tuple[list[int], list[int]]] = {}
    for e in states:
        old = seen.get((e.cpu, e.irq), 0)
        seen[e.cpu, e.irq] = e.value
        for bit, name in ((1, pending), (2, active)):
            if (old ^ e.value) & bit:
                rise, fall = expected.setdefault(f"cpu{e.cpu}.{prefix}{e.irq}_{name}", ([], []))
                (rise if e.value & bit else fall).append(e.ts_ns)
    assert expected and all(edges(vcd, name) == want for name, want in expected.items())


def test_x86_bits_bracket_each_interrupt(default_run) -> None:
    """IRR set at delivery, moved to ISR at INTA before the handler runs, ISR
    cleared by the EOI; one ISR period per interrupt of the line."""
    desc = default_run.machine.kernel.descs[24]
    cpu, vector = desc.affinity, desc.vector
    bits = [(e.ts_ns, e.value) for e in default_run.events
            if e.kind == IRQ_STATE and e.cpu == cpu and e.irq == vector]
    in_service = [t for (_, a), (t, b) in itertools.pairwise([(0, 0), *bits])
                  if not a & 2 and b & 2]
    entries = default_run.report.stats.counts["24"][cpu]
    assert len(in_service) == entries > 10
    raises = times(default_run, IRQ_RAISE, 24)
    first_entries = iter(sorted(times(default_run, IRQ_ENTRY, 24)))
    for t in in_service:  # INTA comes after a raise and before the handler's entry
        assert any(r <= t for r in raises)
        assert next(first_entries) >= t


def test_cpu_context_is_the_innermost_context(default_run, vcd) -> None:
    tv = values(vcd, "cpu0.context")
    at = dict(tv)  # the value set at each time (last change wins)
    cpu0 = [e for e in default_run.events if e.cpu == 0]
    hard_entries = {e.ts_ns for e in cpu0 if e.kind in (IRQ_ENTRY, VECTOR_ENTRY)}
    alone = 0
    for e in cpu0:
        if e.kind == IRQ_ENTRY:
            assert at[e.ts_ns] == HARDIRQ
        elif e.kind == SOFTIRQ_ENTRY and e.ts_ns not in hard_entries:
            assert at[e.ts_ns] == SOFTIRQ
            alone += 1
        elif e.kind == SOFTIRQ_ENTRY:  # a hard IRQ entered in the same ns, before or after
            assert at[e.ts_ns] in (SOFTIRQ, HARDIRQ)
    assert alone > 0
    assert {v for _, v in tv} == {TASK, SOFTIRQ, HARDIRQ}
    soft_exits = [e.ts_ns for e in default_run.events if e.cpu == 0 and e.kind == SOFTIRQ_EXIT]
    assert any(at.get(t) == TASK for t in soft_exits)


def test_context_pins_follow_the_context_register(vcd) -> None:
    context = dict(values(vcd, "cpu1.context"))  # the value each time ends with
    for pin, level in (("in_softirq", SOFTIRQ), ("in_hardirq", HARDIRQ)):
        changes = dict(values(vcd, f"cpu1.{pin}"))
        assert len(changes) > 10 and set(changes) <= set(context)
        assert all(value == (context[t] == level) for t, value in changes.items())


def test_same_events_same_bytes(default_run) -> None:
    def text() -> str:
        out = io.StringIO()
        writer = VcdWriter(out, 2, {16})
        for ev in default_run.events:
            writer.feed(*ev)
        writer.close()
        return out.getvalue()

    assert text() == text()


def test_run_writes_vcd_and_refuses_it_for_experiments(tmp_path: Path) -> None:
    out = tmp_path / "w.vcd"
    runner = CliRunner()
    res = runner.invoke(cli, ["run", "gic-arm64", "--duration", "2ms", "--vcd", str(out)])
    assert res.exit_code == 0, res.output
    assert any(s.endswith("_handler") for s in VCDVCD(str(out)).signals)
    res = runner.invoke(cli, ["run", "moderation", "--vcd", str(tmp_path / "x.vcd")])
    assert res.exit_code == 2 and "--vcd" in res.output and res.output.count("\n") == 1


@pytest.fixture(scope="module")
def vcd_file(default_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tools") / "run.vcd"
    writer = VcdWriter(path, 2, level_irqs(default_run.machine))
    for ev in default_run.events:
        writer.feed(*ev)
    writer.close()
    return path


def test_gtkwave_reads_it(vcd_file: Path, tmp_path: Path) -> None:
    """GTKWave's own VCD parser (vcd2fst ships with gtkwave; .ci/run installs it)."""
    tool = shutil.which("vcd2fst")
    if tool is None:
        pytest.skip("gtkwave (vcd2fst) is not installed (apt-get install gtkwave; .ci/run does it)")
    fst = tmp_path / "run.fst"
    proc = subprocess.run([tool, str(vcd_file), str(fst)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0 and fst.stat().st_size > 1000, proc.stderr


def test_pulseview_reads_every_pin(vcd_file: Path) -> None:
    """PulseView's VCD input is libsigrok's; sigrok-cli shows what it read."""
    tool = shutil.which("sigrok-cli")
    if tool is None:
        pytest.skip("sigrok-cli is not installed (apt-get install sigrok-cli; .ci/run does it)")
    proc = subprocess.run([tool, "-I", "vcd", "-i", str(vcd_file), "--show"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    channels = {line.removeprefix("- ").split(":")[0] for line in proc.stdout.splitlines()
                if line.startswith("- ")}
    expected = {f"irq{irq}_{pin}" for irq in (16, 24, 25, 26) for pin in ("line", "handler")}
    expected |= {f"cpu{cpu}_{pin}" for cpu in (0, 1) for pin in ("in_softirq", "in_hardirq")}
    expected |= {s.rsplit(".", 1)[1] for s in VCDVCD(str(vcd_file)).signals
                 if s.endswith(("_irr", "_isr"))}
    assert any(name.endswith("_isr") for name in expected)
    assert channels == expected
    assert "Samplerate: 1000000000" in proc.stdout  # 1 ns timescale


def test_a_change_before_the_spooled_time_is_counted_and_clamped(tmp_path: Path) -> None:
    path = tmp_path / "o.vcd"
    writer = VcdWriter(path, 1)
    writer.feed(1_000, 0, IRQ_RAISE, 5, 0, "")
    writer.feed(2_000, 0, IRQ_ENTRY, 5, 0, "dev")
    writer.feed(3_000, 0, IRQ_EXIT, 5, 1, "dev")
    writer.feed(2_900, 0, IRQ_RAISE, 5, 0, "")  # slightly late: still put in order
    writer.feed(4_000, 0, IRQ_ENTRY, 5, 0, "dev")  # spools everything before 4000
    writer.feed(3_500, 0, IRQ_RAISE, 5, 0, "")  # late, but after everything spooled
    writer.feed(5_000, 0, IRQ_EXIT, 5, 1, "dev")
    writer.feed(2_500, 0, IRQ_RAISE, 5, 0, "")  # before the spooled 4000: clamped to it
    writer.close()
    assert writer.unmatched == 2  # the late pulse's rise and fall
    vcd = VCDVCD(str(path))
    assert edges(vcd, "irq5.line")[0] == [1_000, 2_900, 3_500, 4_000]
    assert edges(vcd, "irq5.handler") == ([2_000, 4_000], [3_000, 5_000])


def test_importing_vcdvcd_leaves_sigpipe_ignored_for_the_suite() -> None:
    # vcdvcd, imported above, sets SIGPIPE to SIG_DFL; tests/conftest.py puts it back.
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
