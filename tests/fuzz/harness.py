"""Fuzz harness (issue 10): generated bad inputs through every reader (ftrace
text, irqlab trace files, /proc snapshots, crash logs), the scenario loader and
the CLI's outputs, counting tracebacks and hangs.

    python tests/fuzz/harness.py                      # 5,000 inputs, 2 workers
    python tests/fuzz/harness.py --n 20000 --seed 7 --save /tmp/fuzz-failures

A failure is a traceback (an exception escaping a command, or "Traceback (most
recent call last)" in its output), an exit status other than 0/1/2/130/143, or
a hang (no answer within ``--timeout`` seconds).  Inputs are made from real
seeds (a simulated run's ftrace text and dmesg, the built-in scenarios, the
/proc fixtures and crash-log fixtures) by mutations: truncation, flipped bytes,
binary junk, lines of 1 MB and more, deep nesting, numeric extremes, swapped
types; outputs go to a full device, directories, missing directories, symlink
loops, over-long names; a sample of commands runs as a subprocess with stdout
on /dev/full.  Commands run in-process (click's runner) in forked workers, so
a hang is killed without stopping the run.  The same ``--seed`` gives the same
inputs.  Prints one line per failure, a summary, and a last line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

from irqlab.scenario.cache import CACHE_ENV

REPO = Path(__file__).resolve().parents[2]
OK_STATUS = {0, 1, 2, 130, 143}
MEMORY_LIMIT = 2 << 30
"""Address-space limit of a worker: a case that would take the machine's memory
fails with MemoryError (counted as a traceback) instead."""
FULL = (1, 7)  # major/minor of /dev/full (Documentation/admin-guide/devices.txt)


@dataclass
class Case:
    """One input: files to write in a scratch directory ``{d}``, then
    ``irqlab *argv`` (``{d}`` replaced by that directory)."""

    area: str
    what: str
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    stdout_full: bool = False


@dataclass
class Outcome:
    case: Case
    status: int | None  # None: hang
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status is None or self.status not in OK_STATUS or bool(self.detail)


# -- seeds ----------------------------------------------------------------------------------
@dataclass
class Seeds:
    ftrace: bytes
    irqlab_trace: bytes
    dmesg: bytes
    interrupts: list[bytes]
    softirqs: list[bytes]
    logs: list[bytes]
    scenarios: list[bytes]


def make_seeds(tmp: Path) -> Seeds:
    """Valid inputs of every kind, made by irqlab itself or taken from fixtures."""
    from click.testing import CliRunner

    from irqlab.cli import cli
    from irqlab.observe.ftrace import FtraceReader
    from irqlab.observe.tracefile import TraceHeader, write_trace

    ftrace, dmesg = tmp / "seed.ftrace", tmp / "seed.dmesg"
    for argv in (["run", "default", "--duration", "3ms", "--trace", str(ftrace)],
                 ["run", "dmar-fault", "--duration", "60ms", "--dmesg", str(dmesg)]):
        res = CliRunner().invoke(cli, argv)
        if res.exit_code != 0:
            sys.exit(f"cannot make the seeds: irqlab {' '.join(argv)}: {res.output}")
    with open(ftrace, "rb") as f:
        events = [ev for batch in FtraceReader(f).batches() for ev in batch]
    text = tmp / "seed.trace"
    with open(text, "w") as f:
        write_trace(f, TraceHeader(cpus=2, clock="mono", start_ns=events[0].ts_ns,
                                   end_ns=events[-1].ts_ns, lost_events=0, overrun=[0, 0],
                                   dropped=[0, 0], source="fuzz seed"), events)
    fixtures = REPO / "tests" / "observe" / "fixtures"
    proc = [Path("/proc/interrupts"), Path("/proc/softirqs")]
    return Seeds(
        ftrace=ftrace.read_bytes(), irqlab_trace=text.read_bytes(), dmesg=dmesg.read_bytes(),
        interrupts=[p.read_bytes() for p in sorted(fixtures.glob("*interrupts.txt"))]
        + [p.read_bytes() for p in proc[:1] if p.exists()],
        softirqs=[p.read_bytes() for p in proc[1:] if p.exists()]
        or [b"                    CPU0       CPU1\n          HI:          0          0\n"],
        logs=[p.read_bytes() for p in sorted((REPO / "tests/triage/fixtures").glob("*.txt"))],
        scenarios=[p.read_bytes() for p in
                   sorted((REPO / "irqlab/scenario/builtin").glob("*.toml"))])


# -- mutations ------------------------------------------------------------------------------
EXTREMES = [b"0", b"-1", b"-0", b"99999999999999999999999999999", b"1e308", b"1e-300", b"nan",
            b"inf", b"-inf", b"0x7fffffffffffffff", b"18446744073709551616",
            b"-9223372036854775809", b"x3", b"", b"1_000", "\u0663".encode(), b"1e999",
            b"4294967296", b"-2147483649", b"0.0000001", b"9" * 5000]
TOML_VALUES = [b"{ a = 1 }", b"[1, 2]", b"[]", b"{}", b'"x"', b"true", b"1e308", b"-1",
               b'"1e-300/s"', b'"-5us"', b'"nan us"', b'"1e400s"', b'"0s"', b"nan", b"inf",
               b"99999999999999999999", b'"' + b"9" * 4000 + b'us"', b"0x7fffffffffffffff",
               b"1979-05-27T07:32:00Z", b'"\\u0000"']
HUGE = 1 << 20
BIG = {"on": True}
"""Whether the largest inputs are made (10 MB lines, 200,000 lines, 40,000
devices); the suite's slice leaves them to the full run."""
INTERVALS = ["0", "-1", "nan", "inf", "-inf", "1e308", "1e999", "1e-300", "", "x3", "0.0000001",
             "99999999999999999999", "1e10"]
"""``top -d`` values that are wrong or tiny (a long valid interval is a long wait, not a hang)."""


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def flip(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data or b"\0")
    for _ in range(rng.randint(1, 20)):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def junk(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.randbytes(rng.randint(1, 4096)) + data[at:]


def shuffle_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    for _ in range(rng.randint(1, 10)):
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        op = rng.randrange(3)
        if op == 0:
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 1:
            lines.insert(i, lines[j])
        elif len(lines) > 1:
            del lines[i]
    return b"\n".join(lines)


def extreme_number(rng: random.Random, data: bytes) -> bytes:
    import re

    spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?", data[:200_000])]
    if not spans:
        return data + rng.choice(EXTREMES)
    for _ in range(rng.randint(1, 5)):
        a, b = rng.choice(spans)
        data = data[:a] + rng.choice(EXTREMES) + data[b:]
        spans = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?", data[:200_000])] or [(0, 0)]
    return data


def huge_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    base = lines[i][:rng.randrange(len(lines[i]) + 1)]
    n = rng.choice([HUGE, HUGE + 7, 2 * HUGE, 10 * HUGE if BIG["on"] else HUGE])
    filler = rng.choice([b"a", b"9", b" ", b"[", b"x=", b"\t", b"0x", b"ff", b"DMAR: "])
    lines.insert(i, base + (filler * (n // len(filler) + 1))[:n])
    return b"\n".join(lines)


def encoding(rng: random.Random, data: bytes) -> bytes:
    op = rng.randrange(5)
    if op == 0:
        return b"\xef\xbb\xbf" + data  # BOM
    if op == 1:
        return data.replace(b"\n", b"\r\n")
    if op == 2:
        return data.replace(b"\n", b"\r")
    if op == 3:
        at = rng.randrange(len(data) + 1)
        return data[:at] + b"\x00" * rng.randint(1, 64) + data[at:]
    return data.decode("latin-1").encode("utf-16")


def empty(rng: random.Random, data: bytes) -> bytes:
    return rng.choice([b"", b"\n", b"\n" * 1000, b" ", b"\x00"])


def binary(rng: random.Random, data: bytes) -> bytes:
    return rng.randbytes(rng.choice([1, 100, 10_000, 300_000]))


def many_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    line = rng.choice(lines)[:200]
    return b"\n".join(lines + [line] * rng.choice([10_000, 200_000 if BIG["on"] else 10_000]))


MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    truncate, truncate, flip, flip, junk, shuffle_lines, shuffle_lines, extreme_number,
    extreme_number, extreme_number, huge_line, encoding, empty, binary, many_lines]


MAX_INPUT = 24 << 20
"""Inputs are cut to 24 MB (stacked mutations could otherwise grow without bound)."""


def mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    names = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        m = rng.choice(MUTATIONS)
        data = m(rng, data)[:MAX_INPUT]
        names.append(m.__name__)
    return "+".join(names), data


def toml_mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """Swap values for other types and extremes, nest deeply, or mutate bytes."""
    import re

    op = rng.randrange(6)
    if op == 0:
        depth = rng.choice([100, 1000, 5000, 20000])
        return f"nest-array-{depth}", data + b"\nzz = " + b"[" * depth + b"]" * depth + b"\n"
    if op == 1:
        depth = rng.choice([100, 1000, 3000, 10000])
        return f"nest-table-{depth}", data + b"\nzz = " + b"{a=" * depth + b"1" + b"}" * depth
    if op == 2:
        count = rng.choice([1000, 40_000 if BIG["on"] else 1000])
        dev = b'\n[[device]]\nname = "d%d"\nkind = "generic"\n'
        return f"devices-{count}", data + b"".join(dev % i for i in range(count))
    if op in (3, 4):
        spans = [m.span(1) for m in re.finditer(rb"^\s*[\w-]+\s*=\s*(.+)$", data, re.M)]
        names = []
        for _ in range(rng.randint(1, 4)):
            if not spans:
                break
            a, b = rng.choice(spans)
            value = rng.choice(TOML_VALUES)
            names.append(value[:20].decode(errors="replace"))
            data = data[:a] + value + data[b:]
            spans = [m.span(1) for m in re.finditer(rb"^\s*[\w-]+\s*=\s*(.+)$", data, re.M)]
        return "values:" + "|".join(names), data
    return mutate(rng, data)


# -- cases ----------------------------------------------------------------------------------
def _output_targets(root: bool) -> list[tuple[str, dict[str, bytes], Callable[[Path], None] | None]]:
    """(path under {d}, files, set-up) of outputs that cannot or must not be replaced."""

    def full(d: Path) -> None:
        os.mknod(d / "full", 0o666 | stat.S_IFCHR, os.makedev(*FULL))

    def loop(d: Path) -> None:
        (d / "loop").symlink_to(d / "loop")

    def dangling(d: Path) -> None:
        (d / "dangling").symlink_to(d / "missing" / "x")

    def fulllink(d: Path) -> None:
        full(d)
        (d / "fulllink").symlink_to(d / "full")

    targets: list[tuple[str, dict[str, bytes], Callable[[Path], None] | None]] = [
        ("", {}, None), ("no/such/dir/out", {}, None), ("loop", {}, loop),
        ("dangling", {}, dangling), ("x" * 300, {}, None), ("sub", {"sub/f": b""}, None)]
    if root:
        targets += [("full", {}, full), ("fulllink", {}, fulllink)]
    return targets


SETUPS: dict[str, Callable[[Path], None]] = {}


def cases(seed: int, seeds: Seeds, n: int, root: bool, big: bool = True) -> Iterator[Case]:
    """``n`` cases, the same for the same ``seed`` (and ``big``)."""
    rng = random.Random(seed)
    BIG["on"] = big
    targets = _output_targets(root)
    for name, _, setup in targets:
        if setup is not None:
            SETUPS[name] = setup
    areas = ["ftrace", "irqlab-trace", "procfs", "triage", "scenario", "outputs", "options"]
    weights = [20, 14, 16, 18, 20, 6, 6]
    for i in range(n):
        area = rng.choices(areas, weights)[0]
        case = _case(rng, area, seeds, targets)
        case.stdout_full = i % 97 == 0  # a sample runs as a subprocess, stdout on /dev/full
        yield case


def _case(rng: random.Random, area: str, seeds: Seeds,
          targets: list[tuple[str, dict[str, bytes], Callable[[Path], None] | None]]) -> Case:
    if area in ("ftrace", "irqlab-trace"):
        what, data = mutate(rng, seeds.ftrace if area == "ftrace" else seeds.irqlab_trace)
        argv = rng.choice([["report", "{d}/t"], ["report", "--json", "{d}/t"],
                           ["report", "{d}/t", "--chrome", "{d}/out.json"], ["replay", "{d}/t"]])
        return Case(area, what, argv, {"t": data})
    if area == "procfs":
        soft = rng.random() < 0.3
        what, data = mutate(rng, rng.choice(seeds.softirqs if soft else seeds.interrupts))
        name = "softirqs" if soft else "interrupts"
        form = rng.randrange(3)
        if form == 0:
            return Case(area, what, ["report", f"{{d}}/proc/{name}"], {f"proc/{name}": data})
        if form == 1:
            later = mutate(rng, data)[1] if rng.random() < 0.5 else data
            return Case(area, what, ["report", "--interval", "1", f"{{d}}/proc/{name}",
                                     f"{{d}}/later/{name}"],
                        {f"proc/{name}": data, f"later/{name}": later})
        return Case(area, what, ["top", "--once", "-d", "0.001", "--proc", "{d}/proc",
                                 *(["-S"] if soft else [])], {f"proc/{name}": data})
    if area == "triage":
        what, data = mutate(rng, rng.choice([*seeds.logs, seeds.dmesg]))
        return Case(area, what, rng.choice([["triage", "{d}/log"], ["triage", "--json", "{d}/log"]]),
                    {"log": data})
    if area == "scenario":
        what, data = toml_mutate(rng, rng.choice(seeds.scenarios))
        argv = rng.choice([["validate", "{d}/s.toml"],
                           ["run", "{d}/s.toml", "--duration", "1ms", "--events", "20000"]])
        return Case(area, what, argv, {"s.toml": data})
    if area == "outputs":
        name, files, _ = rng.choice(targets)
        option = rng.choice(["--trace", "--chrome", "--dmesg", "report --chrome"])
        path = f"{{d}}/{name}" if name else "{d}"
        if option == "report --chrome":
            return Case(area, f"report --chrome {name or '<dir>'}",
                        ["report", "{d}/t", "--chrome", path], {**files, "t": seeds.ftrace})
        return Case(area, f"{option} {name or '<dir>'}",
                    ["run", "dmar-fault", "--duration", "60ms", option, path], dict(files))
    # options: extreme values for every command's options
    value = rng.choice([*EXTREMES, b"1e308s", b"-1ms", b"1e-300s", b"99999999999h", b"nan s",
                        b"0-99999", b"3-1", b"a", b"0,,1"]).decode()
    argv = rng.choice([["run", "default", "--duration", value, "--events", "20000"],
                       ["run", "default", "--duration", "1ms", "--seed", value],
                       ["run", "default", "--duration", "1ms", "--events", value],
                       ["top", "--once", "-d", rng.choice(INTERVALS), "--proc", "/proc"],
                       ["top", "--once", "-d", "0.001", "-c", value],
                       ["top", "--once", "-d", "0.001", "-t", value],
                       ["report", "--interval", value, "/proc/interrupts", "/proc/interrupts"]])
    return Case("options", f"value {value[:30]!r}", argv)


# -- running --------------------------------------------------------------------------------
def _prepare(case: Case, d: Path) -> list[str]:
    for rel, data in case.files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    for arg in case.argv:
        for name, setup in SETUPS.items():
            if arg.endswith("/" + name) and not (d / name).exists() and not (d / name).is_symlink():
                setup(d)
    return [a.replace("{d}", str(d)) for a in case.argv]


def run_case(case: Case, scratch: Path, timeout: float) -> Outcome:
    """Run one case in this process (or a subprocess for stdout on /dev/full)."""
    d = Path(tempfile.mkdtemp(dir=scratch))
    try:
        argv = _prepare(case, d)
        if case.stdout_full:
            with open("/dev/full", "w") as full:
                try:
                    proc = subprocess.run([sys.executable, "-m", "irqlab", *argv], cwd=REPO,
                                          stdout=full, stderr=subprocess.PIPE, text=True,
                                          timeout=timeout, check=False)
                except subprocess.TimeoutExpired:
                    return Outcome(case, None, f"no answer in {timeout:g}s")
            tb = "Traceback (most recent call last)" in proc.stderr
            return Outcome(case, proc.returncode, proc.stderr[-2000:] if tb else "")
        from click.testing import CliRunner

        from irqlab.cli import cli

        res = CliRunner().invoke(cli, argv)
        detail = ""
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            detail = "".join(traceback.format_exception(res.exception))[-3000:]
        elif "Traceback (most recent call last)" in res.output:
            detail = res.output[-3000:]
        return Outcome(case, res.exit_code, detail)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _worker(conn: Connection, scratch: Path, timeout: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    while True:
        item = conn.recv()
        if item is None:
            return
        index, case = item
        try:
            outcome = run_case(case, scratch, timeout)
        except BaseException as exc:  # the harness's own error: report it as this case's
            outcome = Outcome(case, -1, f"harness: {exc!r}")
        conn.send((index, outcome.status, outcome.detail))


def run_all(all_cases: Iterable[Case], jobs: int, timeout: float,
            report: Callable[[int, Outcome], None] | None = None) -> list[Outcome]:
    """Run the cases, made one at a time as workers free up, in ``jobs`` forked
    workers; a worker silent for ``timeout`` seconds is killed (the case is a
    hang) and replaced.  Outcomes keep the input files of failures only."""
    import irqlab.cli  # noqa: F401  (imported once, before forking)

    ctx = get_context("fork")
    outcomes: dict[int, Outcome] = {}
    todo = enumerate(all_cases)
    with tempfile.TemporaryDirectory(prefix="irqlab-fuzz-") as tmp:
        scratch = Path(tmp)
        workers: dict[Connection, tuple[Any, int, Case, float]] = {}

        def finish(index: int, case: Case, status: int | None, detail: str) -> None:
            outcome = Outcome(case, status, detail)
            if report:
                report(index, outcome)
            if not outcome.failed:
                case.files = {}
            outcomes[index] = outcome

        def start() -> None:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, scratch, timeout), daemon=True)
            proc.start()
            child.close()
            give(parent, proc)

        def give(conn: Connection, proc: Any) -> None:
            item = next(todo, None)
            if item is None:
                conn.send(None)
                proc.join()
                conn.close()
                return
            index, case = item
            conn.send((index, case))
            limit = timeout * (3 if case.stdout_full else 1) + 5
            workers[conn] = (proc, index, case, time.monotonic() + limit)

        for _ in range(jobs):
            start()
        while workers:
            now = time.monotonic()
            ready = wait(list(workers), timeout=max(0.0, min(w[3] for w in workers.values()) - now))
            for conn in cast(list[Connection], ready):
                proc, index, case, _ = workers.pop(conn)
                try:
                    _, status, detail = conn.recv()
                except EOFError:  # the worker died (killed by the kernel, a crash in C)
                    conn.close()
                    finish(index, case, -9, "worker died")
                    start()
                    continue
                finish(index, case, status, detail)
                give(conn, proc)
            now = time.monotonic()
            for conn, (proc, index, case, deadline) in list(workers.items()):
                if now > deadline:
                    proc.kill()
                    proc.join()
                    conn.close()
                    del workers[conn]
                    finish(index, case, None, f"no answer in {timeout:g}s")
                    start()
    return [outcomes[i] for i in sorted(outcomes)]


def save(outcome: Outcome, index: int, where: Path) -> Path:
    """The failing input and its command, to reproduce with ``irqlab``."""
    d = where / f"{index:05d}-{outcome.case.area}"
    d.mkdir(parents=True, exist_ok=True)
    for rel, data in outcome.case.files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(data)
    argv = " ".join(a.replace("{d}", str(d)) for a in outcome.case.argv)
    (d / "command").write_text(f"irqlab {argv}{' > /dev/full' if outcome.case.stdout_full else ''}\n"
                               f"# {outcome.case.what}\n# status {outcome.status}\n{outcome.detail}\n")
    return d


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="inputs to try (default 5000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds before a case counts as a hang (default 20)")
    parser.add_argument("--save", type=Path, help="directory for the failing inputs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="irqlab-fuzz-cache-") as cache:
        os.environ[CACHE_ENV] = cache  # valid scenarios are kept here, not in the user's cache
        return _fuzz(args)


def _fuzz(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="irqlab-fuzz-seeds-") as tmp:
        seeds = make_seeds(Path(tmp))
    start = time.monotonic()

    def report(index: int, outcome: Outcome) -> None:
        if outcome.failed:
            kind = "hang" if outcome.status is None else f"status {outcome.status}"
            last = outcome.detail.strip().splitlines()[-1:] or [""]
            where = f" -> {save(outcome, index, args.save)}" if args.save else ""
            print(f"FAIL #{index} {outcome.case.area} [{outcome.case.what}] irqlab "
                  f"{' '.join(outcome.case.argv)[:120]}: {kind}: {last[0][:200]}{where}", flush=True)

    outcomes = run_all(cases(args.seed, seeds, args.n, os.geteuid() == 0), args.jobs,
                       args.timeout, report)
    failed = [o for o in outcomes if o.failed]
    by_area = Counter(o.case.area for o in outcomes)
    failed_by_area = Counter(o.case.area for o in failed)
    for area in sorted(by_area):
        print(f"{area:14s} {by_area[area]:6d} inputs  {failed_by_area[area]:4d} failures")
    print(json.dumps({
        "inputs": len(outcomes), "failures": len(failed),
        "tracebacks": sum(o.status is not None and bool(o.detail) for o in failed),
        "bad_status": sum(o.status is not None and not o.detail for o in failed),
        "hangs": sum(o.status is None for o in failed),
        "stdout_full_cases": sum(o.case.stdout_full for o in outcomes),
        "by_area": dict(sorted(by_area.items())),
        "failures_by_area": dict(sorted(failed_by_area.items())),
        "seed": args.seed, "seconds": round(time.monotonic() - start, 1)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
