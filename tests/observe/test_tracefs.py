"""tracefs helpers that need no root: mount discovery, stale-instance cleanup,
event selection, and the non-root message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.observe import tracefs
from irqlab.observe.tracefs import Capture, TracefsError, clean_stale, find_tracefs, resolve_events


def test_find_tracefs_prefers_tracefs_mount():
    mounts = ("sysfs /sys sysfs rw 0 0\n"
              "nodev /sys/kernel/tracing tracefs rw,relatime 0 0\n"
              "debugfs /sys/kernel/debug debugfs rw 0 0\n")
    assert find_tracefs(mounts) == Path("/sys/kernel/tracing")


def test_find_tracefs_none_when_unmounted():
    assert find_tracefs("sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\n") is None


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_clean_stale_removes_only_dead_irqlab_instances(tmp_path):
    inst = tmp_path / "instances"
    dead = dead_pid()
    for name in (f"irqlab-{dead}-m", f"irqlab-{os.getpid()}", "other-tool", "irqlab-notapid"):
        (inst / name).mkdir(parents=True)
    removed, owned_mount = clean_stale(tmp_path)
    assert removed == [f"irqlab-{dead}-m"] and owned_mount
    assert sorted(p.name for p in inst.iterdir()) == sorted(
        [f"irqlab-{os.getpid()}", "other-tool", "irqlab-notapid"])


def test_clean_stale_spools_removes_only_those_of_dead_captures(tmp_path):
    dead = dead_pid()
    names = (f"irqlab-capture-{dead}-a1b2c3", f"irqlab-capture-{os.getpid()}-x9",
             "irqlab-capture-old_3k9", "unrelated")
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "cpu0").write_text("# irqlab trace\n")
    (tmp_path / f"irqlab-capture-{dead}-file").write_text("not a spool directory")
    assert tracefs.clean_stale_spools(tmp_path) == [f"irqlab-capture-{dead}-a1b2c3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*names[1:], f"irqlab-capture-{dead}-file"])


def fake_events(root: Path) -> None:
    for rel in ("irq/irq_handler_entry", "irq/irq_handler_exit", "irq/softirq_raise",
                "irq/softirq_entry", "irq/softirq_exit", "irq/tasklet_entry",
                "irq_vectors/local_timer_entry", "irq_vectors/local_timer_exit",
                "irq_vectors/vector_alloc", "sched/sched_switch", "sched/sched_wakeup",
                "sched/sched_process_fork", "workqueue/workqueue_queue_work",
                "workqueue/workqueue_execute_start", "workqueue/workqueue_execute_end"):
        (root / "events" / rel).mkdir(parents=True)
        (root / "events" / rel / "format").write_text("")


def test_resolve_events_expands_systems(tmp_path):
    fake_events(tmp_path)
    assert resolve_events(tmp_path, ["irq", "irq_vectors"]) == [
        "irq/irq_handler_entry", "irq/irq_handler_exit", "irq/softirq_raise",
        "irq/softirq_entry", "irq/softirq_exit",
        "irq_vectors/local_timer_entry", "irq_vectors/local_timer_exit"]
    assert resolve_events(tmp_path, ["irq:softirq_raise"]) == ["irq/softirq_raise"]
    assert resolve_events(tmp_path, ["sched", "workqueue", "irq:tasklet_entry"]) == [
        "sched/sched_switch", "sched/sched_wakeup", "workqueue/workqueue_queue_work",
        "workqueue/workqueue_execute_start", "workqueue/workqueue_execute_end",
        "irq/tasklet_entry"]


@pytest.mark.parametrize(("spec", "words"), [("timer", "no event system"),
                                             ("irq:nope", "no event irq:nope"),
                                             ("irq:tasklet_exit", "no event irq:tasklet_exit"),
                                             ("sched:sched_process_fork", "does not decode"),
                                             ("irq_vectors:vector_alloc", "does not decode")])
def test_resolve_events_rejects(tmp_path, spec, words):
    fake_events(tmp_path)
    with pytest.raises(TracefsError, match=words):
        resolve_events(tmp_path, [spec])


def test_not_root_and_not_mounted_says_what_is_needed(monkeypatch):
    monkeypatch.setattr(tracefs, "find_tracefs", lambda: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(TracefsError, match="needs root"), Capture():
        pass


def test_trace_cli_without_root_says_what_is_needed(monkeypatch, tmp_path):
    monkeypatch.setattr(tracefs, "find_tracefs", lambda: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(cli, ["trace", "--duration", "0.1", "-o", str(tmp_path / "t")])
    assert result.exit_code == 1
    assert "needs root" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "t").exists()


def test_trace_cli_unwritable_output_dir(tmp_path):
    result = CliRunner().invoke(cli, ["trace", "-o", str(tmp_path / "missing" / "t")])
    assert result.exit_code == 2 and "missing" in result.output
