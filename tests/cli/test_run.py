"""``irqlab run``: JSON keys, ftrace and Chrome trace files, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.events import IRQ_ENTRY, IRQ_EXIT
from irqlab.observe.ftrace import FtraceReader


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple[dict, Path, Path]:
    d = tmp_path_factory.mktemp("run")
    trace, chrome = d / "run.trace", d / "run.json"
    res = invoke("run", "--duration", "20ms", "--seed", "7", "--json", "--trace", str(trace),
                 "--chrome", str(chrome))
    assert res.exit_code == 0, res.output
    return json.loads(res.output), trace, chrome


def test_json_has_the_contract_keys(default_run) -> None:
    out, _, _ = default_run
    assert out["seed"] == 7
    irqs = {k: v for k, v in out["counters"].items() if k.isdigit()}
    assert irqs
    for row in irqs.values():
        assert set(row) >= {"name", "per_cpu", "total"}
        assert len(row["per_cpu"]) == 2 and sum(row["per_cpu"]) == row["total"]
    assert out["latency_ns"] and out["handler_ns"]
    for lat in out["latency_ns"].values():
        assert set(lat) >= {"p50", "p99", "max"} and lat["p50"] <= lat["p99"] <= lat["max"]
    for h in out["handler_ns"].values():
        assert set(h) >= {"mean", "p50", "p99", "max"} and h["p50"] <= h["max"]
    assert out["warnings"] == []


def test_json_warnings_carry_kind_irq_time_and_message() -> None:
    res = invoke("run", "missed-eoi", "--duration", "25ms", "--json")
    assert res.exit_code == 0, res.output
    warnings = json.loads(res.output)["warnings"]
    assert warnings and all(set(w) == {"kind", "irq", "time_ns", "message"} for w in warnings)
    assert {w["kind"] for w in warnings} == {"missed-eoi"}


def test_same_seed_same_run() -> None:
    a = invoke("run", "--duration", "5ms", "--seed", "3", "--json")
    b = invoke("run", "--duration", "5ms", "--seed", "3", "--json")
    c = invoke("run", "--duration", "5ms", "--seed", "4", "--json")
    assert a.output == b.output
    assert json.loads(a.output)["counters"] != json.loads(c.output)["counters"]


def test_trace_reads_back_to_the_same_per_irq_counts(default_run) -> None:
    out, trace, _ = default_run
    text = trace.read_text()
    assert "irq_handler_entry: irq=" in text and " name=" in text
    assert "irq_handler_exit: irq=" in text and "ret=handled" in text
    with trace.open("rb") as f:
        reader = FtraceReader(f)
        events = list(reader)
        assert reader.cpus == 2
    # one interrupt = the entries of its actions between two exits; count the
    # first action of each line only, as /proc/interrupts counts the line once
    first = {k: v["name"].split(", ")[0] for k, v in out["counters"].items() if k.isdigit()}
    per_cpu: dict[str, list[int]] = {k: [0, 0] for k in first}
    for e in events:
        if e.kind == IRQ_ENTRY and e.name == first.get(str(e.irq)):
            per_cpu[str(e.irq)][e.cpu] += 1
    assert any(e.kind == IRQ_EXIT for e in events)
    for irq, row in out["counters"].items():
        if irq.isdigit():
            assert per_cpu[irq] == row["per_cpu"], irq


def test_chrome_is_valid_json_with_a_track_per_cpu(default_run) -> None:
    _, _, chrome = default_run
    doc = json.loads(chrome.read_text())
    events = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {0: "CPU 0", 1: "CPU 1"}
    slices = [e for e in events if e["ph"] == "X"]
    assert {e["tid"] for e in slices} == {0, 1}
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in slices)
    assert {e["cat"] for e in slices} >= {"hardirq", "softirq"}


def test_text_report_shows_proc_interrupts_and_tables() -> None:
    res = invoke("run", "shared-line-storm", "--duration", "240ms")
    assert res.exit_code == 0, res.output
    assert "/proc/interrupts" in res.output
    assert " 17: " in res.output and "IO-APIC  17-fasteoi   ehci_hcd:usb2, snd_hda_intel" \
        in res.output
    assert "[nobody-cared]" in res.output
    assert 'irq 17: nobody cared (try booting with the "irqpoll" option)' in res.output


@pytest.mark.parametrize("args,expected", [
    (["run", "no-such-scenario"], "no-such-scenario: no such file and no built-in scenario"),
    (["run", "--duration", "5 parsecs"], "--duration:"),
])
def test_bad_input_is_one_clear_error(args: list[str], expected: str) -> None:
    res = invoke(*args)
    assert res.exit_code == 2
    assert expected in res.output
    assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)


def test_unwritable_trace_path_is_an_input_error(tmp_path: Path) -> None:
    res = invoke("run", "--duration", "1ms", "--trace", str(tmp_path / "nodir" / "t.txt"))
    assert res.exit_code == 2
    assert "cannot write" in res.output and "t.txt" in res.output


def test_scenarios_lists_each_builtin_with_its_description() -> None:
    res = invoke("scenarios")
    assert res.exit_code == 0
    lines = res.output.splitlines()
    names = [ln.split()[0] for ln in lines]
    assert {"default", "shared-line-storm", "missed-eoi", "gic-arm64", "nvic-cortex-m4"} <= \
        set(names)
    assert all(len(ln.split(None, 1)) == 2 for ln in lines)
