"""Live capture of the ``irq`` and ``irq_vectors`` events from tracefs.

What it does to the system, and how it is undone (``Documentation/trace/ftrace.rst``):

* tracefs: used where mounted (``/proc/mounts``: ``tracefs``, or ``debugfs`` +
  ``/tracing``); otherwise, as root, mounted at ``/sys/kernel/tracing`` and
  unmounted again at the end.  Without root: :class:`TracefsError` saying so.
* an instance of its own, ``instances/irqlab-<pid>`` (``-m`` appended when this
  run mounted tracefs), so the top-level buffer and other tools' instances are
  never touched; removing the directory (``rmdir``) drops its buffers and
  disables its events.  It is removed on normal exit, on exceptions, on Ctrl-C
  and on SIGTERM (the CLI turns SIGTERM into an exception).  A run killed with
  SIGKILL cannot clean up: the next run removes every ``irqlab-<pid>`` whose pid
  is dead, and if that instance had mounted tracefs the next run unmounts it too.
* a spool directory of its own, ``$TMPDIR/irqlab-capture-<pid>-*``, removed on
  the same occasions; after a SIGKILL the next run removes every spool whose pid
  is dead (never one of a capture still running).
* timestamps: the instance's ``trace_clock`` is set to ``mono`` (CLOCK_MONOTONIC,
  the same clock as ``time.monotonic_ns()``, comparable across CPUs) and events
  are read from ``per_cpu/cpuN/trace_pipe_raw`` pages (see
  :mod:`irqlab.observe.ringbuffer`), which carry full ns times; the ``trace`` text
  would print only microseconds for ns clocks (``trace_print_time``).
* a traced command (``irqlab trace -- CMD``, :class:`TracedCommand`): started after
  tracing is on, so the set-up is spent before it runs, and the capture stops
  when it exits, as ``perf record -- CMD`` does.
* lost events: pages flagged ``RB_MISSED_EVENTS`` and the ``overrun`` / ``dropped
  events`` counters of ``per_cpu/cpuN/stats`` are reported, never hidden.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from irqlab.observe.kallsyms import Kallsyms, hex_symbol
from irqlab.observe.ringbuffer import Field, PageDecoder, parse_format
from irqlab.observe.tracefile import MAGIC, TraceHeader, TraceReader, format_event

DEFAULT_MOUNT = Path("/sys/kernel/tracing")
INSTANCE_RE = re.compile(r"irqlab-(\d+)(-m)?")
DEFAULT_EVENTS = ("irq", "irq_vectors")
IRQ_EVENTS = ("irq_handler_entry", "irq_handler_exit", "softirq_raise", "softirq_entry",
              "softirq_exit")
#: the other events a capture decodes (include/trace/events/{irq,sched,workqueue}.h), by
#: system; ``sched`` and ``workqueue`` ask for all of theirs, ``irq:tasklet_entry`` one
TASK_EVENTS = {
    "irq": ("tasklet_entry", "tasklet_exit"),
    "sched": ("sched_switch", "sched_wakeup"),
    "workqueue": ("workqueue_queue_work", "workqueue_execute_start", "workqueue_execute_end"),
}
CLOCK = "mono"
SPOOL_PREFIX = "irqlab-capture-"
SPOOL_RE = re.compile(r"irqlab-capture-(\d+)-\w+")


class TracefsError(RuntimeError):
    """tracefs cannot be used; the message says what is needed."""


def find_tracefs(mounts: str | None = None) -> Path | None:
    """The tracefs root from ``/proc/mounts`` text, or None if not mounted."""
    if mounts is None:
        mounts = Path("/proc/mounts").read_text()
    debugfs = None
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "tracefs":
            return Path(parts[1].replace("\\040", " "))
        if len(parts) >= 3 and parts[2] == "debugfs":
            debugfs = Path(parts[1]) / "tracing"
    return debugfs if debugfs is not None and (debugfs / "trace").exists() else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(root: Path) -> tuple[list[str], bool]:
    """Remove ``instances/irqlab-<pid>`` directories of dead processes.  Returns
    their names and whether one of them had mounted tracefs."""
    removed, owned_mount = [], False
    instances = root / "instances"
    for entry in sorted(instances.iterdir()) if instances.is_dir() else []:
        m = INSTANCE_RE.fullmatch(entry.name)
        if not m or pid_alive(int(m.group(1))):
            continue
        remove_instance(entry)
        removed.append(entry.name)
        owned_mount |= bool(m.group(2))
    return removed, owned_mount


def clean_stale_spools(tmpdir: Path | None = None) -> list[str]:
    """Remove the spool directories (:data:`SPOOL_RE`) of dead processes in
    ``tmpdir`` (default: :func:`tempfile.gettempdir`); returns their names."""
    removed = []
    for entry in sorted(Path(tmpdir or tempfile.gettempdir()).iterdir()):
        m = SPOOL_RE.fullmatch(entry.name)
        if m and entry.is_dir() and not entry.is_symlink() and not pid_alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def remove_instance(path: Path) -> None:
    """``rmdir`` an instance; retried briefly while the kernel still holds it."""
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno != errno.EBUSY:
                raise
            time.sleep(0.02)
    raise TracefsError(f"cannot remove tracefs instance {path}: still busy")


def unmount(root: Path) -> str | None:
    """``umount`` tracefs, retried briefly while the kernel still holds it (the
    files of a just-killed reader are released asynchronously).  Returns None,
    or umount's complaint if it never succeeded."""
    message = None
    for _ in range(50):
        proc = subprocess.run(["umount", str(root)], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return None
        message = proc.stderr.strip() or f"umount exited {proc.returncode}"
        time.sleep(0.02)
    return message


def resolve_events(root: Path, specs: tuple[str, ...] | list[str]) -> list[str]:
    """``system/event`` paths for ``specs``: ``irq`` (the handler and softirq
    events), ``irq_vectors`` (every ``*_entry``/``*_exit`` vector event),
    ``sched`` (``sched_switch``, ``sched_wakeup``), ``workqueue`` (queue, execute
    start and end), or single ``system:event`` names of these (and
    ``irq:tasklet_entry``/``tasklet_exit``)."""
    out: list[str] = []
    for spec in specs:
        system, _, name = spec.partition(":")
        base = root / "events" / system
        if not base.is_dir():
            raise TracefsError(f"--events {spec}: no event system {system!r} in {root}/events")
        if name:
            names = [name]
        elif system == "irq":
            names = list(IRQ_EVENTS)
        elif system == "irq_vectors":
            names = sorted(p.name for p in base.iterdir()
                           if p.is_dir() and re.search(r"_(entry|exit)$", p.name))
        elif system in ("sched", "workqueue"):
            names = list(TASK_EVENTS[system])
        else:
            raise TracefsError(f"--events {spec}: only 'irq', 'irq_vectors', 'sched', "
                               "'workqueue' or system:event")
        for n in names:
            if not (base / n / "format").exists():
                raise TracefsError(f"--events {spec}: no event {system}:{n}")
            if (system == "irq_vectors" and not re.search(r"_(entry|exit)$", n)) or (
                    (system != "irq_vectors"
                    and n not in (*IRQ_EVENTS, *TASK_EVENTS.get(system, ()))) or (
                    system == "irq" and n not in (*IRQ_EVENTS, *TASK_EVENTS["irq"]))):
                raise TracefsError(f"--events {spec}: irqlab does not decode {system}:{n}")
            out.append(f"{system}/{n}")
    return list(dict.fromkeys(out))


def _stats(path: Path) -> dict[str, int]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().isdigit():
            out[key.strip()] = int(value)
    return out


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _unblock_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


class TracedCommand:
    """The command a capture runs around (``perf record -- CMD``): started with
    the caller's stdin, stdout and stderr and signal mask, less SIGINT and
    SIGTERM (the caller may hold them back while it starts the command, so that
    one arriving meanwhile finds the command known and is passed on), and none
    of the capture's file descriptors (they are close-on-exec).  ``status`` is
    the shell's view of how it ended: its exit status, or 128 + N when signal N
    killed it."""

    def __init__(self, argv: list[str]):
        # preexec_fn runs between fork and exec: irqlab has no other thread here
        self.proc = subprocess.Popen(argv, preexec_fn=_unblock_stop_signals)

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds; the exit status, or None while it runs."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.status

    @property
    def status(self) -> int | None:
        code = self.proc.poll()
        return None if code is None else (128 - code if code < 0 else code)

    def stop(self, signum: int, grace_s: float) -> int:
        """Pass ``signum`` on (an interactive Ctrl-C reaches the whole process
        group anyway; SIGTERM or ``kill -INT`` reach only irqlab) and reap the
        command; SIGKILL if it is still running after ``grace_s`` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        if self.wait(grace_s) is None:
            self.proc.kill()
            self.proc.wait()
        status = self.status
        assert status is not None
        return status


STOP_GRACE_S = 5.0
"""How long a command that was passed Ctrl-C or SIGTERM gets to exit before SIGKILL."""


class Capture:
    """A capture session: ``with Capture(...) as cap: cap.start(); cap.poll() ...;
    cap.stop(); cap.write(f)``.  Entering sets the instance up with tracing off;
    :meth:`start` switches it on.

    Events of each CPU are spooled to a temporary file (time-ordered within the
    CPU) and merged into one time-ordered stream by :meth:`write`.
    """

    def __init__(self, events: tuple[str, ...] | list[str] = DEFAULT_EVENTS,
                 buffer_kb: int = 4096, mountpoint: Path = DEFAULT_MOUNT):
        self.specs, self.buffer_kb, self.mountpoint = list(events), buffer_kb, mountpoint
        self.root: Path | None = None
        self.instance: Path | None = None
        self.mounted = False
        self.stale: list[str] = []
        self.stale_spools: list[str] = []
        self.unmount_error: str | None = None
        self.cpus: list[int] = []
        self.count = 0
        self.lost_pages = 0
        self.lost_events = 0
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.stats: dict[int, dict[str, int]] = {}
        self._fds: dict[int, int] = {}
        self._spool: dict[int, IO[str]] = {}
        self._decoder: PageDecoder | None = None
        self._page_size = 4096
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # --- setup / teardown -------------------------------------------------
    def __enter__(self) -> Capture:
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _setup(self) -> None:
        root = find_tracefs()
        if root is None:
            if os.geteuid() != 0:
                raise TracefsError(
                    "tracefs is not mounted and mounting it needs root: run irqlab trace as "
                    f"root, or have root run 'mount -t tracefs nodev {self.mountpoint}'")
            proc = subprocess.run(["mount", "-t", "tracefs", "nodev", str(self.mountpoint)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise TracefsError(f"cannot mount tracefs at {self.mountpoint}: "
                                   f"{proc.stderr.strip() or proc.returncode}")
            root, self.mounted = self.mountpoint, True
        if not os.access(root / "instances", os.W_OK):
            raise TracefsError(f"{root}/instances is not writable: irqlab trace needs root "
                               "(CAP_SYS_ADMIN) to create a tracing instance")
        self.root = root
        self.stale, owned = clean_stale(root)
        self.mounted |= owned
        names = resolve_events(root, self.specs)
        formats: dict[int, tuple[str, dict[str, Field]]] = {}
        for rel in names:
            event_id, name, fields = parse_format((root / "events" / rel / "format").read_text())
            formats[event_id] = (name, fields)
        pointers = any(rel.startswith("workqueue/") or "/tasklet_" in rel for rel in names)
        self._decoder = PageDecoder((root / "events" / "header_page").read_text(), formats,
                                    Kallsyms.read() if pointers else hex_symbol)
        self.instance = root / "instances" / f"irqlab-{os.getpid()}{'-m' if self.mounted else ''}"
        self.instance.mkdir()
        inst = self.instance
        (inst / "tracing_on").write_text("0")
        clocks = (inst / "trace_clock").read_text()
        if CLOCK not in clocks.replace("[", " ").replace("]", " ").split():
            raise TracefsError(f"trace clock {CLOCK!r} not offered by this kernel: {clocks.strip()}")
        (inst / "trace_clock").write_text(CLOCK)
        (inst / "buffer_size_kb").write_text(str(self.buffer_kb))
        subbuf = inst / "buffer_subbuf_size_kb"
        if subbuf.exists():
            self._page_size = int(subbuf.read_text()) * 1024
        for rel in names:
            (inst / "events" / rel / "enable").write_text("1")
        self.cpus = sorted(int(p.name[3:]) for p in (inst / "per_cpu").iterdir()
                           if re.fullmatch(r"cpu\d+", p.name))
        self.stale_spools = clean_stale_spools()
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{SPOOL_PREFIX}{os.getpid()}-")
        for cpu in self.cpus:
            self._fds[cpu] = os.open(inst / "per_cpu" / f"cpu{cpu}" / "trace_pipe_raw",
                                     os.O_RDONLY | os.O_NONBLOCK)
            spool = open(Path(self._tmp.name) / f"cpu{cpu}", "w+")  # noqa: SIM115
            spool.write(f"{MAGIC}\n# cpus: {max(self.cpus) + 1}\n")
            self._spool[cpu] = spool

    def start(self) -> None:
        """Switch tracing on; ``start_ns`` is the clock just before."""
        assert self.instance is not None
        self.start_ns = time.monotonic_ns()
        (self.instance / "tracing_on").write_text("1")

    def close(self) -> None:
        """Undo everything; safe to call more than once and after partial setup."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        try:
            if self.instance is not None:
                with contextlib.suppress(OSError):
                    (self.instance / "tracing_on").write_text("0")
                instance, self.instance = self.instance, None
                remove_instance(instance)
        finally:
            if self.mounted and self.root is not None:
                self.mounted = False
                if not any(INSTANCE_RE.fullmatch(p.name)
                           for p in (self.root / "instances").iterdir()):
                    self.unmount_error = unmount(self.root)
            for f in self._spool.values():
                f.close()
            self._spool.clear()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    # --- capture ------------------------------------------------------------
    def poll(self) -> int:
        """Read every CPU's available pages; returns the number of new events."""
        assert self._decoder is not None
        new = 0
        for cpu, fd in self._fds.items():
            spool = self._spool[cpu]
            while True:
                try:
                    page = os.read(fd, self._page_size)
                except BlockingIOError:
                    break
                if not page:
                    break
                events, lost = self._decoder.decode(page, cpu)
                if lost:
                    self.lost_pages += 1
                    self.lost_events += max(lost, 0)
                    ts = events[0].ts_ns if events else 0
                    spool.write(f"# lost cpu={cpu} count={lost} ts_ns={ts}\n")
                spool.writelines(format_event(ev) + "\n" for ev in events)
                new += len(events)
        self.count += new
        return new

    def stop(self) -> None:
        """Stop tracing, drain the buffers, read the per-CPU statistics."""
        assert self.instance is not None
        (self.instance / "tracing_on").write_text("0")
        self.end_ns = time.monotonic_ns()
        self.poll()
        for cpu in self.cpus:
            self.stats[cpu] = _stats(self.instance / "per_cpu" / f"cpu{cpu}" / "stats")

    def header(self) -> TraceHeader:
        ncpu = max(self.cpus, default=-1) + 1
        per = {k: [self.stats.get(c, {}).get(k, 0) for c in range(ncpu)]
               for k in ("overrun", "dropped events")}
        return TraceHeader(
            cpus=ncpu, clock=CLOCK, start_ns=self.start_ns, end_ns=self.end_ns,
            # The missed-events counts on pages report the same losses as the
            # overrun (overwrite mode) / dropped (no-overwrite) counters: no sum.
            lost_events=max(self.lost_events, sum(per["overrun"]) + sum(per["dropped events"])),
            overrun=per["overrun"], dropped=per["dropped events"],
            source=f"tracefs {os.uname().release} trace_pipe_raw",
            extra={"lost_pages": str(self.lost_pages)} if self.lost_pages else {})

    def write(self, out: IO[str]) -> int:
        """Write the capture as one time-ordered irqlab trace (the per-CPU spools,
        each already in time order, merged); returns the events written."""
        out.write("\n".join(self.header().lines()) + "\n")
        readers = []
        for cpu, f in self._spool.items():
            f.flush()
            f.seek(0)
            readers.append(TraceReader(f, f"cpu{cpu} spool"))
        n = 0
        for ev in heapq.merge(*readers):
            out.write(format_event(ev) + "\n")
            n += 1
        for r in readers:
            out.writelines(f"# lost cpu={c} count={k} ts_ns={t}\n" for c, k, t in r.lost)
        return n
