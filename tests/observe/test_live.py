"""Live capture on this machine's tracefs (CI runs as root).  Skipped, with the
reason, where tracefs cannot be used."""

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from irqlab.analysis.arrivals import arrivals
from irqlab.events import SOFTIRQ_ENTRY
from irqlab.observe.procfs import parse_interrupts
from irqlab.observe.tracefile import TraceReader
from irqlab.observe.tracefs import INSTANCE_RE, Capture, TracefsError, find_tracefs, pid_alive

REPO = Path(__file__).resolve().parents[2]


def _unusable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "tracefs is Linux only"
    if os.geteuid() != 0:
        return "needs root to create a tracefs instance"
    if "tracefs" not in Path("/proc/filesystems").read_text():
        return "kernel has no tracefs"
    try:
        with Capture(["irq"]) as cap:
            cap.start()
    except TracefsError as err:
        return f"tracefs unusable: {err}"
    return None


REASON = _unusable()
pytestmark = [pytest.mark.live, pytest.mark.skipif(REASON is not None, reason=REASON or "")]


def tracefs_state() -> dict | None:
    """What a capture must leave as it found it (None: tracefs not mounted).
    Instances of other live processes are left out: engineers and CI jobs may
    capture concurrently on one machine, and a leftover is always a dead pid's."""
    root = find_tracefs()
    if root is None:
        return None
    try:
        return {name: (root / name).read_text() for name in
                ("tracing_on", "trace_clock", "set_event", "buffer_size_kb", "current_tracer")
                } | {"instances": sorted(p.name for p in (root / "instances").iterdir()
                                         if not foreign(p.name))}
    except FileNotFoundError:  # unmounted meanwhile
        return None


def foreign(instance: str) -> bool:
    m = INSTANCE_RE.fullmatch(instance)
    return bool(m) and int(m.group(1)) != os.getpid() and pid_alive(int(m.group(1)))


def has_instance(pid: int) -> bool:
    """A tracefs instance of ``pid`` exists (tracefs may come and go meanwhile:
    captures that mounted it unmount it as they end)."""
    root = find_tracefs()
    try:
        return root is not None and any(name.startswith(f"irqlab-{pid}")
                                        for name in os.listdir(root / "instances"))
    except FileNotFoundError:
        return False


def settles_to(before: dict | None, seconds: float = 10) -> bool:
    """tracefs returns to ``before`` within ``seconds``: other engineers' live
    captures on this machine may hold it for a moment (mounted, an instance of a
    live pid), a capture that failed to restore it never returns."""
    deadline = time.monotonic() + seconds
    while (state := tracefs_state()) != before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return state == before


def disk_io(directory: Path, seconds: float) -> None:
    """Synchronous writes that must reach the disk (fsync), so the block
    device raises completion interrupts."""
    end = time.monotonic() + seconds
    block = os.urandom(1 << 16)
    with open(directory / "io.bin", "wb") as f:
        while time.monotonic() < end:
            f.write(block)
            f.flush()
            os.fsync(f.fileno())


def test_capture_counts_agree_with_proc_interrupts(tmp_path):
    """Per-IRQ, per-CPU handler counts equal the /proc/interrupts delta taken
    around the capture, within what can fire at the window edges.

    Snapshot A is read right before tracing is switched on and B right after it
    is switched off, so the trace can only miss interrupts, never add some:
    trace <= delta.  It misses those in the gaps [A, start] and [stop, B] (about
    a millisecond each); at the row's rate over [A, B] that is rate * gaps, plus 2
    for an interrupt in flight at each edge (counted in /proc before its
    handler entry is traced, or its handler still running at stop).
    """
    with Capture(["irq", "irq_vectors"]) as cap:
        t_a = time.monotonic()
        a = parse_interrupts(Path("/proc/interrupts").read_text())
        cap.start()
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            disk_io(tmp_path, 0.1)
            cap.poll()
        cap.stop()
        b = parse_interrupts(Path("/proc/interrupts").read_text())
        t_b = time.monotonic()
        out = io.StringIO()
        cap.write(out)
        header = cap.header()
    assert header.lost_events == 0, "buffer too small for this check"
    got = arrivals(TraceReader(io.StringIO(out.getvalue()), "capture"))
    gaps_s = (header.start_ns / 1e9 - t_a) + (t_b - header.end_ns / 1e9)
    assert 0 <= gaps_s < 0.1
    compared = 0
    for label, row in b.rows.items():
        if not label.isdigit() or label not in a.rows:
            continue
        traced = [0] * b.cpus
        for cpu in got[label].cpus if label in got else []:
            traced[cpu] += 1
        for cpu in range(b.cpus):
            delta = row.per_cpu[cpu] - a.rows[label].per_cpu[cpu]
            allowance = int(delta / (t_b - t_a) * gaps_s) + 2
            assert traced[cpu] <= delta, f"IRQ {label} cpu{cpu}: traced {traced[cpu]} > {delta}"
            assert delta - traced[cpu] <= allowance, (
                f"IRQ {label} ({row.name}) cpu{cpu}: delta {delta}, traced {traced[cpu]}")
            compared += traced[cpu]
    assert compared > 0, "no device interrupt was traced during the disk I/O"


def start_capture(tmp_path: Path, name: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "irqlab", "trace", "--duration", "60",
                             "-o", str(tmp_path / name)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        root = find_tracefs()
        if root and any(p.name.startswith(f"irqlab-{proc.pid}")
                        for p in (root / "instances").iterdir()):
            time.sleep(0.3)
            return proc
        if proc.poll() is not None:
            pytest.fail(f"capture exited early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("capture did not create its tracefs instance within 20 s")


def spools(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"irqlab-capture-{pid}-*"))


def test_sigkill_then_next_run_restores_tracefs_and_removes_the_spool(tmp_path):
    before = tracefs_state()
    proc = start_capture(tmp_path, "killed.trace")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    root = find_tracefs()
    assert root is not None
    assert any(p.name.startswith(f"irqlab-{proc.pid}") for p in (root / "instances").iterdir())
    assert spools(proc.pid), "the killed capture had no spool directory"
    # another engineer's capture on this machine may clean up first
    cleaned_by_another = not has_instance(proc.pid)
    run = subprocess.run([sys.executable, "-m", "irqlab", "trace", "--duration", "0.2",
                          "-o", str(tmp_path / "next.trace")], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert cleaned_by_another or f"irqlab-{proc.pid}" in run.stderr
    assert not has_instance(proc.pid)
    assert settles_to(before)
    assert not (tmp_path / "killed.trace").exists()
    assert spools(proc.pid) == []


def test_sigterm_stops_saves_and_cleans_up(tmp_path):
    """Exit 143, and the closing message is one line even when a long path would
    make rich wrap it at 80 columns (stderr is a pipe here)."""
    deep = tmp_path / ("long-directory-name-" * 8)
    deep.mkdir()
    before = tracefs_state()
    proc = start_capture(deep, "term.trace")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    [line] = [line for line in err.splitlines() if "stopped by SIGTERM" in line]
    assert line.startswith("Interrupted: wrote ") and f"to {deep / 'term.trace'} " in line
    with open(deep / "term.trace") as f:
        header = TraceReader(f, "term.trace").header
    assert header.end_ns > header.start_ns
    assert settles_to(before)
    assert spools(proc.pid) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_at_any_moment_of_set_up_stops_cleanly(tmp_path, sig):
    """The signal arrives 0-60 ms after the tracefs instance appears (set-up:
    events, buffers, spool, progress display): every time the exit status is
    128 + the signal, there is no traceback, the trace file is complete and
    tracefs and the spool are as before."""
    before = tracefs_state()
    for i, delay in enumerate((0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.06)):
        out = tmp_path / f"{i}.trace"
        proc = subprocess.Popen([sys.executable, "-m", "irqlab", "trace", "--duration", "60",
                                 "-o", str(out)], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not has_instance(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 128 + sig, (delay, err)
        assert "Traceback" not in err
        name = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
        assert f"(stopped by {name})" in err, (delay, err)
        with open(out) as f:
            reader = TraceReader(f, str(out))
            assert reader.header.cpus > 0
            list(reader)
        assert settles_to(before), (delay, tracefs_state(), before)
        assert spools(proc.pid) == [], delay


def test_trace_to_a_full_device_is_one_line_and_keeps_the_node(tmp_path):
    """``-o /dev/full`` once replaced the device node with a regular file; a
    /dev/full of our own (same major/minor) shows it is written through."""
    node = tmp_path / "full"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    before = tracefs_state()
    run = subprocess.run([sys.executable, "-m", "irqlab", "trace", "--duration", "0.2",
                          "-o", str(node)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines()[-1] == f"Error: -o {node}: cannot write: No space left on device"
    assert stat.S_ISCHR(node.lstat().st_mode) and list(tmp_path.iterdir()) == [node]
    assert settles_to(before)


LOOPBACK = """\
import socket, sys, time
print(time.monotonic_ns(), flush=True)
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range({n}):
    tx.sendto(b"x", rx.getsockname())
    rx.recv(16)
print(time.monotonic_ns(), flush=True)
sys.exit(3)
"""


def test_trace_around_a_command_captures_all_of_it(tmp_path):
    """``irqlab trace -- CMD``: tracing is on before CMD starts and until it has
    exited; CMD's loopback packets (each one a NET_RX softirq, vector 3, raised by
    netif_rx and run at local_bh_enable in the sender) are in the trace, and
    irqlab exits with CMD's status."""
    out, n = tmp_path / "cmd.trace", 200
    run = subprocess.run([sys.executable, "-m", "irqlab", "trace", "-o", str(out), "--",
                          sys.executable, "-c", LOOPBACK.format(n=n)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 3, run.stderr
    assert "exited with status 3" in run.stderr.splitlines()[-1]
    cmd_start, cmd_end = map(int, run.stdout.split())
    with open(out) as f:
        reader = TraceReader(f, str(out))
        events = list(reader)
    assert reader.header.start_ns < cmd_start and cmd_end < reader.header.end_ns
    net_rx = [e for e in events if e.kind == SOFTIRQ_ENTRY and e.value == 3
              and cmd_start <= e.ts_ns <= cmd_end]
    # two packets can share one softirq run if the receiver lags: at least half
    assert len(net_rx) >= n // 2, len(net_rx)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_reaches_the_traced_command(tmp_path, sig):
    """SIGTERM or SIGINT to irqlab (``kill``, not the terminal's Ctrl-C, which
    reaches the command by itself) is passed on to the command, which is reaped;
    the trace is saved and irqlab exits 128 + the signal."""
    before = tracefs_state()
    pidfile, out = tmp_path / "pid", tmp_path / "term.trace"
    proc = subprocess.Popen([sys.executable, "-m", "irqlab", "trace", "-o", str(out), "--",
                             "sh", "-c", f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile}"
                             " && exec sleep 60"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not pidfile.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    child = int(pidfile.read_text())
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, err
    name = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
    assert f"sh exited with status {128 + sig}" in err and f"(stopped by {name})" in err
    assert not os.path.exists(f"/proc/{child}"), "the command outlived the capture"
    with open(out) as f:
        list(TraceReader(f, str(out)))
    assert settles_to(before)


@pytest.mark.skipif(shutil.which("perf") is None, reason="needs perf to write a perf.data")
def test_perf_data_conversion_named_by_report_reads_back(tmp_path):
    """A real perf.data is refused with the conversion command, and the text that
    command writes reports the command's NET_RX softirqs."""
    data = tmp_path / "perf.data"
    rec = subprocess.run(["perf", "record", "-q", "-o", str(data), "-a", "-e", "irq:softirq_raise",
                          "-e", "irq:softirq_entry", "-e", "irq:softirq_exit", "--",
                          sys.executable, "-c", LOOPBACK.format(n=50)],
                         capture_output=True, text=True, timeout=120)
    if not data.exists():
        pytest.skip(f"perf record cannot trace here: {rec.stderr.strip()[:200]}")
    refused = subprocess.run([sys.executable, "-m", "irqlab", "report", "--json", str(data)],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    convert = refused.stderr.split("'")[1]
    assert convert.startswith("perf script")
    subprocess.run(convert, shell=True, check=True, capture_output=True, timeout=120)
    ok = subprocess.run([sys.executable, "-m", "irqlab", "report", "--json", f"{data}.txt"],
                        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["softirqs"]["NET_RX"]["total"] >= 25


def test_sched_and_workqueue_events_are_captured_and_analysed(tmp_path):
    """``--events irq,sched,workqueue``: the command's own switches are in the
    trace with its comm, the TASK_REPORT prev_state, and work functions named by
    /proc/kallsyms; irqlab report reads them into the same distributions."""
    from irqlab.events import SCHED_SWITCH, SCHED_WAKEUP, TASK_INTERRUPTIBLE, WORK_START

    out = tmp_path / "sched.trace"
    run = subprocess.run([sys.executable, "-m", "irqlab", "trace", "--events",
                          "irq,sched,workqueue", "-o", str(out), "--", "sleep", "0.05"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with open(out) as f:
        events = list(TraceReader(f, str(out)))
    switches = [e for e in events if e.kind == SCHED_SWITCH]
    # its timer's wake-up, then the switch to it to run on (after exec: comm "sleep")
    woken = [e for e in events if e.kind == SCHED_WAKEUP and e.name == "sleep"]
    assert woken and any(e.name == "sleep" and e.irq == woken[0].irq for e in switches)
    # before, it was switched away from asleep (S): the switch after one to its pid (the
    # exec keeps the pid; the comm may still be the one before it)
    after = {}
    for e in switches:
        prev = after.get(e.cpu)
        if prev is not None and prev.irq == woken[0].irq and e.value == TASK_INTERRUPTIBLE:
            break
        after[e.cpu] = e
    else:
        pytest.fail("no switch away from sleep's pid with prev_state S")
    works = [e for e in events if e.kind == WORK_START]
    assert all(e.name and not e.name.startswith("0x") for e in works)  # kallsyms names
    report = subprocess.run([sys.executable, "-m", "irqlab", "report", str(out), "--json"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert sum(d["count"] for d in data["work_ns"].values()) <= len(works)
