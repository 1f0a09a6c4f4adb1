"""Issue 13 section 6: simulated ftrace text names the task really running,
carries sched_switch / sched_wakeup / workqueue / tasklet events in the
kernel's formats, and reads back (ns clock) into exactly the events written."""

from __future__ import annotations

import io
import re

from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.events import (
    DPC_ENTRY,
    DPC_EXIT,
    DPC_QUEUE,
    IRQ_ENTRY,
    IRQ_EXIT,
    IRQ_RAISE,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    SOFTIRQ_ENTRY,
    SOFTIRQ_EXIT,
    SOFTIRQ_RAISE,
    TASK_INTERRUPTIBLE,
    TASK_REPORT_MAX,
    TASKLET_ENTRY,
    WORK_END,
    WORK_QUEUE,
    WORK_START,
    Event,
)
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.observe.ftrace import FtraceReader
from irqlab.report.ftrace import FtraceTextWriter, task_state
from irqlab.scenario.loader import load

UNNAMED = (IRQ_EXIT, SOFTIRQ_RAISE, SOFTIRQ_ENTRY, SOFTIRQ_EXIT)
# "%16s-%-7d [%03d] flags timestamp: event: args" (kernel/trace/trace_output.c)
LINE = re.compile(r"^ *(\S.{0,15})-(\d+) +\[(\d{3})\] (\S{5}) +(\d+\.\d+): (\w+): (.*)$")


class _Running:
    """A sink that, at each hard-IRQ entry, notes the task the scheduler has on
    that CPU (the simulator's own state, not the trace's)."""

    def __init__(self, machine) -> None:  # type: ignore[no-untyped-def]
        self.rqs = machine.kernel.sched.rqs
        self.at_entry: list[tuple[int, int, str, int]] = []

    def feed(self, ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> None:
        if kind == IRQ_ENTRY:
            t = self.rqs[cpu].task
            self.at_entry.append((ts, cpu, "<idle>" if t is None else t.name[:15],
                                  0 if t is None else t.pid))


class _Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def feed(self, *ev) -> None:  # type: ignore[no-untyped-def]
        self.events.append(Event(*ev))


def _run(scenario: str, duration_ns: int, ns: bool):  # type: ignore[no-untyped-def]
    spec, _ = load(scenario)
    machine = build(spec, 1)
    out = io.StringIO()
    writer = FtraceTextWriter(out, spec.machine.cpus, ns=ns)
    running, collect = _Running(machine), _Collect()
    simulate(machine, duration_ns, [collect, running, writer])
    writer.close()
    return out.getvalue(), running.at_entry, collect.events


def test_irq_lines_name_the_task_the_scheduler_runs() -> None:
    text, at_entry, _ = _run("threaded-irq", 20_000_000, ns=True)
    lines = [m.groups() for m in map(LINE.match, text.splitlines()) if m]
    entries = [(int(stamp.replace(".", "")), int(cpu), task.strip(), int(pid))
               for task, pid, cpu, _, stamp, event, _ in lines if event == "irq_handler_entry"]
    assert entries == at_entry and len(entries) > 100
    tasks = {task for _, _, task, _ in entries}
    # user threads, the IRQ thread (preempted by a line of another device) and kworkers
    assert {"cpu-bound/0", "cpu-bound/1"} <= tasks
    switched_to = {args.split("next_comm=")[1].split(" next_pid")[0]
                   for *_, event, args in lines if event == "sched_switch"}
    assert {"irq/17-i2c_hid", "kworker/1:0", "cpu-bound/0"} <= switched_to


def test_idle_is_named_only_when_the_cpu_runs_no_task() -> None:
    # freertos-uart's CPU idles between its tasks' runs
    text, at_entry, _ = _run("freertos-uart", 20_000_000, ns=False)
    names = {task for _, _, task, _ in at_entry}
    assert "<idle>" in names and len(names) > 1
    lines = [m.groups() for m in map(LINE.match, text.splitlines()) if m]
    assert [(int(cpu), task.strip(), int(pid)) for task, pid, cpu, _, _, event, _ in lines
            if event == "irq_handler_entry"] == [entry[1:] for entry in at_entry]


def test_sched_and_workqueue_lines_are_the_kernel_formats() -> None:
    text, _, _ = _run("threaded-irq", 20_000_000, ns=False)
    events = {}
    for m in map(LINE.match, text.splitlines()):
        if m:
            events.setdefault(m.group(6), m.group(7))
    # include/trace/events/sched.h, workqueue.h, irq.h TP_printk
    assert re.fullmatch(r"prev_comm=\S+ prev_pid=\d+ prev_prio=\d+ prev_state=(R\+?|S|X) ==> "
                        r"next_comm=\S+ next_pid=\d+ next_prio=\d+", events["sched_switch"])
    assert re.fullmatch(r"comm=\S+ pid=\d+ prio=\d+ target_cpu=\d{3}", events["sched_wakeup"])
    assert re.fullmatch(r"work struct=[0-9a-f]{16} function=xhci_hcd_interrupt_work "
                        r"workqueue=events req_cpu=\d+ cpu=\d+", events["workqueue_queue_work"])
    assert re.fullmatch(r"work struct [0-9a-f]{16}: function xhci_hcd_interrupt_work",
                        events["workqueue_execute_start"])
    assert re.fullmatch(r"work struct [0-9a-f]{16}: function xhci_hcd_interrupt_work",
                        events["workqueue_execute_end"])
    assert events["tasklet_entry"] == \
        "tasklet=serial_interrupt_tasklet function=serial_interrupt_tasklet"
    # the IRQ thread runs at SCHED_FIFO 50: kernel prio 49
    assert "comm=irq/17-i2c_hid pid=100 prio=49 target_cpu=000" in text


def test_prev_state_prints_as_the_kernel_does() -> None:
    assert task_state(0) == "R"
    assert task_state(TASK_REPORT_MAX) == "R+"
    assert task_state(TASK_INTERRUPTIBLE) == "S"
    assert task_state(0x01 | 0x02) == "S|D"


def test_ns_text_reads_back_into_the_events_written() -> None:
    text, _, events = _run("threaded-irq", 20_000_000, ns=True)
    reader = FtraceReader(io.BytesIO(text.encode()))
    got = list(reader)
    # no Linux tracepoint: the device's raise and Windows' DPC events; the exit
    # and softirq lines print no name
    expected = [ev._replace(name="") if ev.kind in UNNAMED else ev for ev in events
                if ev.kind not in (IRQ_RAISE, DPC_QUEUE, DPC_ENTRY, DPC_EXIT)]
    assert reader.fraction_digits == 9 and not reader.skipped.count
    assert got == expected
    kinds = {ev.kind for ev in got}
    assert {SCHED_SWITCH, SCHED_WAKEUP, WORK_QUEUE, WORK_START, WORK_END, TASKLET_ENTRY} <= kinds


def test_us_text_is_the_ns_text_rounded() -> None:
    ns_text, _, _ = _run("threaded-irq", 5_000_000, ns=True)
    us_text, _, _ = _run("threaded-irq", 5_000_000, ns=False)
    reader = FtraceReader(io.BytesIO(us_text.encode()))
    got = list(reader)
    assert reader.fraction_digits == 6
    precise = list(FtraceReader(io.BytesIO(ns_text.encode())))
    assert [ev._replace(ts_ns=(ev.ts_ns + 500) // 1000 * 1000) for ev in precise] == got


def test_run_trace_clock_ns_and_report_warns_once_on_microseconds(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import irqlab.cli.traces

    # chunks of 4 KiB: the note is still one line for a file read in many
    monkeypatch.setattr(irqlab.cli.traces, "FtraceReader",
                        lambda stream: FtraceReader(stream, chunk_bytes=4096))
    runner = CliRunner()
    us, ns = tmp_path / "us.txt", tmp_path / "ns.txt"
    for path, clock in ((us, []), (ns, ["--trace-clock", "ns"])):
        res = runner.invoke(cli, ["run", "threaded-irq", "--duration", "30ms", "--trace",
                                  str(path), *clock])
        assert res.exit_code == 0, res.output
    assert re.search(r"\] \S{5} +0\.\d{9}: ", ns.read_text())
    assert re.search(r"\] \S{5} +0\.\d{6}: ", us.read_text())
    assert us.stat().st_size > 50 * 4096
    res = runner.invoke(cli, ["report", str(us), "--json"])
    assert res.exit_code == 0
    assert res.stderr.splitlines() == [
        f"irqlab: {us}: timestamps have microsecond resolution: sub-microsecond figures are "
        "rounded (ns text: 'trace-cmd report -t', 'irqlab run --trace-clock ns')"]
    res = runner.invoke(cli, ["report", str(ns), "--json"])
    assert res.exit_code == 0 and res.stderr == ""


def test_bad_trace_clock_is_one_line_and_status_2() -> None:
    res = CliRunner().invoke(cli, ["run", "default", "--duration", "1ms", "--trace", "/dev/null",
                                   "--trace-clock", "ps"])
    assert res.exit_code == 2
    assert "--trace-clock" in res.stderr
