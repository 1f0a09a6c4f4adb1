"""irqlab report through click's CliRunner: snapshots, deltas, traces, errors."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.observe.tracefile import MAGIC

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SNAP_A = """\
           CPU0       CPU1
  0:         10          0   IO-APIC   2-edge      timer
 24:       1000        500  IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]
LOC:       5000       6000   Local timer interrupts
ERR:          0
"""
SNAP_B = SNAP_A.replace("1000        500", "1300        700").replace("5000", "5400")
SOFT_A = "                    CPU0       CPU1\n          HI:          1          0\n      NET_RX:         10         20\n"
SOFT_B = SOFT_A.replace("10         20", "15         60")
FTRACE = """\
# tracer: nop
#
# entries-in-buffer/entries-written: 6/6   #P:2
          <idle>-0       [001] d.h1.     2.000010: irq_handler_entry: irq=24 name=ahci[0000:00:1f.2]
          <idle>-0       [001] d.h3.     2.000012: softirq_raise: vec=4 [action=BLOCK]
          <idle>-0       [001] d.h1.     2.000015: irq_handler_exit: irq=24 ret=handled
          <idle>-0       [001] ..s1.     2.000020: softirq_entry: vec=4 [action=BLOCK]
          <idle>-0       [001] ..s1.     2.000050: softirq_exit: vec=4 [action=BLOCK]
          <idle>-0       [000] d.h1.     3.000000: local_timer_entry: vector=236
          <idle>-0       [000] d.h1.     3.000004: local_timer_exit: vector=236
"""


def run(*args: str):
    return CliRunner().invoke(cli, ["report", *args])


def write(tmp: Path, name: str, text: str, mtime: float | None = None) -> str:
    path = tmp / name
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


@pytest.mark.parametrize("stem", ["server-8cpu-intel-eno-txrx-nvidia-interrupts",
                                  "arm64-gicv3-its-interrupts"])
def test_one_snapshot_json_counters(stem):
    result = run("--json", str(FIXTURES / f"{stem}.txt"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected = json.loads((FIXTURES / f"{stem}.json").read_text())["expected"]
    assert data["source"] == "snapshot" and data["interval_s"] is None
    assert list(data["counters"]) == [r["irq"] for r in expected["rows"]]
    for row in expected["rows"]:
        got = data["counters"][row["irq"]]
        assert got["per_cpu"] == row["counts"] and got["total"] == row["total"]
        for key in ("chip", "hwirq", "trigger", "handlers"):
            assert got[key] == row.get(key)
        assert got["name"] == row.get("name", row.get("description"))


def test_two_snapshots_give_deltas_and_rates(tmp_path):
    a = write(tmp_path, "a.txt", SNAP_A)
    b = write(tmp_path, "b.txt", SNAP_B)
    data = json.loads(run("--json", "--interval", "2", a, b).stdout)
    assert data["interval_s"] == 2.0
    assert data["counters"]["24"]["per_cpu"] == [300, 200]
    assert data["counters"]["LOC"]["total"] == 400
    assert data["irq_per_s"]["24"] == 250.0


def test_interval_from_mtimes(tmp_path):
    a = write(tmp_path, "a.txt", SNAP_A, mtime=1_000_000.0)
    b = write(tmp_path, "b.txt", SNAP_B, mtime=1_000_010.0)
    data = json.loads(run("--json", a, b).stdout)
    assert data["interval_s"] == 10.0 and data["irq_per_s"]["24"] == 50.0


def test_interval_unknown_when_mtimes_close(tmp_path):
    a = write(tmp_path, "a.txt", SNAP_A, mtime=1_000_000.0)
    b = write(tmp_path, "b.txt", SNAP_B, mtime=1_000_000.2)
    data = json.loads(run("--json", a, b).stdout)
    assert data["interval_s"] is None
    assert [w["kind"] for w in data["warnings"]] == ["interval_unknown"]


def test_interrupts_and_softirqs_pairs(tmp_path):
    files = [write(tmp_path, n, t) for n, t in
             (("a", SNAP_A), ("sa", SOFT_A), ("b", SNAP_B), ("sb", SOFT_B))]
    data = json.loads(run("--json", "--interval", "1", *files).stdout)
    assert data["softirqs"]["NET_RX"] == {"per_cpu": [5, 40], "total": 45}
    assert data["counters"]["24"]["total"] == 500


def test_text_report_shows_the_table(tmp_path):
    result = run(write(tmp_path, "a.txt", SNAP_A))
    assert result.exit_code == 0
    assert "/proc/interrupts" in result.output and "ahci[0000:00:1f.2]" in result.output


def test_ftrace_text_report(tmp_path):
    data = json.loads(run("--json", write(tmp_path, "t.txt", FTRACE)).stdout)
    assert data["source"] == "trace" and data["cpus"] == 2
    assert data["counters"]["24"]["per_cpu"] == [0, 1]
    assert data["counters"]["LOC"]["per_cpu"] == [1, 0]
    assert data["handler_ns"]["24"]["max"] == pytest.approx(5000, rel=0.01)
    assert data["softirq_latency_ns"]["BLOCK"]["count"] == 1


def test_irqlab_trace_report_with_lost_events_and_chrome(tmp_path):
    trace = (f"{MAGIC}\n# cpus: 1\n# clock: mono\n# start_ns: 0\n# end_ns: 2000000000\n"
             "# lost_events: 3\n# overrun: cpu0=3\n"
             "1000 0 irq_entry 9 0 acpi\n3000 0 irq_exit 9 0 \n")
    chrome = tmp_path / "t.json"
    result = run("--json", "--chrome", str(chrome), write(tmp_path, "x.trace", trace))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duration_ns"] == 2_000_000_000
    assert data["irq_per_s"]["9"] == 0.5
    assert data["storm_suspects"] == [{"irq": 9, "unhandled": 1, "total": 1}]
    assert "lost_events" in [w["kind"] for w in data["warnings"]]
    events = json.loads(chrome.read_text())["traceEvents"]
    assert any(e.get("cat") == "hardirq" for e in events)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("cut.txt", FTRACE + FTRACE.splitlines(keepends=True)[3][:60], 11),
        ("vec.txt", FTRACE.replace("softirq_exit: vec=4", "softirq_exit: vec=x3"), 8),
        ("bad.trace", f"{MAGIC}\n# cpus: 1\n1 0 irq_entry x\n3 0 irq_exit 9 1 \n", 3),
    ],
)
def test_damaged_traces_report_what_is_complete(tmp_path, name, text, line):
    """issue 10 section 6: one line on stderr and skipped_lines in --json, exit 0."""
    result = run("--json", write(tmp_path, name, text))
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["skipped_lines"] == 1
    assert "skipped_lines" in [w["kind"] for w in data["warnings"]]
    # ftrace text also says, once, that its timestamps are microseconds
    assert result.stderr.count("\n") == (1 if name == "bad.trace" else 2)
    assert result.stderr.count("microsecond resolution") == (name != "bad.trace")
    assert f"{name}: skipped 1 damaged line (first: line {line}," in result.stderr
    if name != "bad.trace":
        assert sum(data["counters"]["24"]["per_cpu"]) == 1


def test_reproducer_from_issue_10(tmp_path):
    """``irqlab run default --duration 5ms --trace t && head -c 14130 t > cut``."""
    trace = tmp_path / "t"
    assert CliRunner().invoke(cli, ["run", "default", "--duration", "5ms", "--trace",
                                    str(trace)]).exit_code == 0
    cut = tmp_path / "cut"
    cut.write_bytes(trace.read_bytes()[:14130])
    result = run(str(cut))
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "skipped 1 damaged line" in result.stderr


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ([("e.txt", "")], "empty"),
        ([("w.txt", "what is this\n")], "unknown format"),
        ([("bad.trace", f"{MAGIC}\n# cpus: x\n1 0 irq_entry x\n")], ":2:"),
        ([("i.txt", "      CPU0\n  3:  1  2\n  3:  1  2\n")], ":3:"),
        ([("t.txt", FTRACE), ("a.txt", SNAP_A)], "reported on its own"),
        ([("a", SNAP_A), ("b", SNAP_A), ("c", SNAP_A)], "one or two"),
        ([("a", SNAP_A), ("s1", SOFT_A), ("s2", SOFT_B)], "same number"),
    ],
)
def test_errors_exit_2_naming_the_file(tmp_path, files, words):
    paths = [write(tmp_path, n, t) for n, t in files]
    result = run(*paths)
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


def test_missing_file(tmp_path):
    result = run(str(tmp_path / "nope.txt"))
    assert result.exit_code == 2 and "nope.txt" in result.output and "cannot read" in result.output


def test_chrome_needs_a_trace(tmp_path):
    result = run("--chrome", str(tmp_path / "c.json"), write(tmp_path, "a.txt", SNAP_A))
    assert result.exit_code == 2 and "--chrome needs a trace" in result.output


@pytest.mark.parametrize(("magic", "conversion"), [
    (b"\x17\x08\x44tracing6\x00\x00\x00", "'trace-cmd report -t -i {p} > {p}.txt'"),
    (b"PERFILE2" + bytes(8), "'perf script --ns -i {p} > {p}.txt'"),
    (b"2ELIFREP" + bytes(8), "'perf script --ns -i {p} > {p}.txt'"),
])
@pytest.mark.parametrize("command", ["report", "replay"])
def test_binary_captures_of_other_tools_name_their_conversion(tmp_path, magic, conversion,
                                                             command):
    path = tmp_path / "capture.bin"
    path.write_bytes(magic + os.urandom(64))
    result = CliRunner().invoke(cli, [command, str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: {path}: is a ") and line.endswith(
        f"convert it to text with {conversion.format(p=path)} and report that")
