"""Every written file goes through open_output; messages are never wrapped off a
terminal; stdout that cannot be written is one line (or, a closed pipe, nothing)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.cli.errors import InputError
from irqlab.cli.output import open_output
from irqlab.progress import console

REPO = Path(__file__).resolve().parents[2]
FULL = (1, 7)  # the major/minor of /dev/full (Documentation/admin-guide/devices.txt)
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="mknod of a character device needs root")


def irqlab(*args: str, stdout: int | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "irqlab", *args], cwd=REPO, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)


def dev_full(tmp_path: Path) -> Path:
    """A /dev/full of our own: replacing it by mistake would hurt nothing."""
    node = tmp_path / "full"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(*FULL))
    return node


# -- open_output ------------------------------------------------------------------------------
def test_a_new_file_appears_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with open_output(target) as f:
        f.write("partial")
        assert not target.exists()
        assert [p.name for p in tmp_path.iterdir()] != []  # the temporary file, next to it
    assert target.read_text() == "partial"
    assert list(tmp_path.iterdir()) == [target]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    for stop in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(stop)), open_output(target) as f:
            f.write("new")
            raise stop
        assert target.read_text() == "old"
        assert list(tmp_path.iterdir()) == [target]
    with open_output(target, binary=True) as f:
        f.write(b"\x00new")
    assert target.read_bytes() == b"\x00new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # permissions kept


def test_a_symlink_is_followed_never_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with open_output(link) as f:
        f.write("new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    with open_output(fifo) as f:
        f.write("through the pipe\n")
    reader.join(timeout=10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert list(tmp_path.iterdir()) == [fifo]


@needs_root
def test_a_full_device_gives_one_line_and_stays_a_device(tmp_path: Path) -> None:
    node = dev_full(tmp_path)
    with pytest.raises(InputError) as err, open_output(node, option="--trace") as f:
        f.write("x" * 100_000)
    assert err.value.message == f"--trace {node}: cannot write: No space left on device"
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert list(tmp_path.iterdir()) == [node]


def test_directories_and_unwritable_places_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err, open_output(tmp_path, option="-o"):
        pass
    assert err.value.message == f"-o {tmp_path}: is a directory: refusing to write over it"
    with pytest.raises(InputError) as err, open_output(tmp_path / "no" / "such", option="-o"):
        pass
    assert err.value.message.startswith(f"-o {tmp_path}/no/such: cannot write: ")


@needs_root
def test_a_block_device_is_refused(tmp_path: Path) -> None:
    node = tmp_path / "disk"
    os.mknod(node, 0o600 | stat.S_IFBLK, os.makedev(7, 200))  # a loop device number
    with pytest.raises(InputError, match="is a block device"), open_output(node):
        pass
    assert stat.S_ISBLK(node.lstat().st_mode)


# -- every command's outputs go through it -------------------------------------------------------
@needs_root
@pytest.mark.parametrize("option", ["--trace", "--chrome", "--dmesg"])
def test_run_outputs_on_a_full_device(tmp_path: Path, option: str) -> None:
    node = dev_full(tmp_path)
    res = CliRunner().invoke(cli, ["run", "dmar-fault", option, str(node)])  # it logs DMAR lines
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1] == (
        f"Error: {option} {node}: cannot write: No space left on device")
    assert stat.S_ISCHR(node.lstat().st_mode) and list(tmp_path.iterdir()) == [node]


@needs_root
def test_report_and_replay_chrome_on_a_full_device(tmp_path: Path) -> None:
    trace = tmp_path / "t.trace"
    assert CliRunner().invoke(cli, ["run", "default", "--duration", "2ms", "--trace",
                                    str(trace)]).exit_code == 0
    node = dev_full(tmp_path)
    for command in ("report", "replay"):
        res = CliRunner().invoke(cli, [command, str(trace), "--chrome", str(node)])
        assert res.exit_code == 2, res.output
        assert res.output.strip().splitlines()[-1] == (
            f"Error: --chrome {node}: cannot write: No space left on device")
        assert stat.S_ISCHR(node.lstat().st_mode)


def test_run_trace_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    res = CliRunner().invoke(cli, ["run", "default", "--duration", "1ms", "--chrome", str(link)])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and json.loads(real.read_text())["traceEvents"]


def test_the_ftrace_file_keeps_its_entry_count_and_leaves_no_scratch(tmp_path: Path) -> None:
    out = tmp_path / "t.txt"
    assert CliRunner().invoke(cli, ["run", "default", "--duration", "1ms", "--trace",
                                    str(out)]).exit_code == 0
    lines = out.read_text().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    assert lines[2] == f"# entries-in-buffer/entries-written: {len(body)}/{len(body)}   #P:2"
    assert list(tmp_path.iterdir()) == [out]


# -- messages are one line off a terminal --------------------------------------------------------
def test_console_never_wraps_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    path = "/tmp/" + "/".join(["a-rather-long-directory-name"] * 12) + "/term.trace"
    message = f"wrote 123 events over 0.31s on 2 CPUs to {path} (stopped by SIGTERM)"
    console().print(message)
    assert capsys.readouterr().err == message + "\n"


# -- stdout that cannot be written -------------------------------------------------------------
STDOUT_COMMANDS = [
    ["run", "default", "--duration", "1ms", "--json"],
    ["run", "default", "--duration", "1ms"],
    ["scenarios"],
    ["validate", "default"],
    ["report", str(REPO / "tests/observe/fixtures/annotated-msix-interrupts.txt")],
    ["triage", str(REPO / "tests/observe/fixtures/annotated-msix-interrupts.txt")],
    ["--help"],
    ["--version"],
]


@pytest.mark.parametrize("args", STDOUT_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_stdout_on_a_full_disk_is_one_line_exit_2(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        res = irqlab(*args, stdout=full.fileno())
    assert res.returncode == 2, res.stderr
    assert res.stderr == "Error: stdout: cannot write: No space left on device\n"


@pytest.mark.parametrize("args", STDOUT_COMMANDS[:3], ids=lambda a: " ".join(a[:2]))
def test_stdout_to_a_closed_pipe_ends_quietly_with_141(args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader has gone: every write is EPIPE
    try:
        res = irqlab(*args, stdout=write)
    finally:
        os.close(write)
    assert (res.returncode, res.stderr) == (141, "")
