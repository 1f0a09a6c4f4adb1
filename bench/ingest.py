"""Trace ingestion speed: irqlab's ftrace reader against a naive per-line parser
and against ``grep -c`` on the same file.

Generates an ftrace text file (default 5,000,000 event lines from a busy 4-CPU
machine traced with ``-e irq -e irq_vectors -e sched``: 2/3 IRQ-family lines
(device IRQ entry/exit, softirq raise/entry/exit, local-timer vectors), 1/3
scheduler lines: ``sched_switch`` and ``sched_wakeup``, which the readers read,
and ``sched_waking``, which they skip) in a temporary directory, reads it with
:class:`irqlab.observe.ftrace.FtraceReader` and with a ``re.match`` per line that
builds the same events, checks that both find the expected number of events of
each kind and the very same events in the same order, runs
``grep -c irq_handler_entry`` (what a user types to count interrupts) and
``irqlab report FILE --json`` on the file, and prints a last line of JSON::

    {"lines", "irqlab_lines_per_s", "naive_lines_per_s", "ratio", "peak_rss_mb",
     "grep_c_s", "columns_s", "grep_c_ratio", "events_grep_c_ratio", "report_s",
     "report_grep_c_ratio", "compiled"}

Times are CPU seconds (user + system: the machine is shared, and wall time there
measures the other load), ``grep -c`` the least of 5 runs: ``grep_c_ratio`` is the reader's
time over ``grep -c``'s (issue 12 target: <= 5) reading the events as columns
(:meth:`FtraceReader.columns`, what ``irqlab report`` reads), ``events_grep_c_ratio``
the same building an ``Event`` record per event (what ``ratio`` compares),
``report_grep_c_ratio`` the whole ``irqlab report`` command's (start-up, reading,
analysis, JSON) over ``grep -c``'s (target: <= 8).  ``peak_rss_mb`` is the peak
resident set of this process (ru_maxrss) after the irqlab pass, i.e. with memory
bounded by the reader's chunk size, not the file.

    python3 bench/ingest.py [--lines N]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from irqlab._compiled import compiled
from irqlab.events import TASK_REPORT_MAX, TASK_STATE_LETTERS, Event, Kind
from irqlab.observe.ftrace import FtraceReader

HEADER = """# tracer: nop
#
# entries-in-buffer/entries-written: {n}/{n}   #P:4
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
"""

# A cycle of lines: (flags, event text, the kind of event it is or None when the
# readers skip it); {irq}/{name}/{cpu} filled per CPU.  IRQ-family events
# interleaved with the scheduler events a capture with ``-e irq -e irq_vectors
# -e sched`` records between them (irqlab reads sched_switch and sched_wakeup).
PATTERN = (
    ("d.h1.", "irq_handler_entry: irq={irq} name={name}", Kind.IRQ_ENTRY),
    ("d.h3.", "softirq_raise: vec=3 [action=NET_RX]", Kind.SOFTIRQ_RAISE),
    ("d.h1.", "irq_handler_exit: irq={irq} ret=handled", Kind.IRQ_EXIT),
    ("..s1.", "softirq_entry: vec=3 [action=NET_RX]", Kind.SOFTIRQ_ENTRY),
    ("d.s4.", "sched_waking: comm=fio pid=3021 prio=120 target_cpu={cpu:03d}", None),
    ("..s1.", "softirq_exit: vec=3 [action=NET_RX]", Kind.SOFTIRQ_EXIT),
    ("d..2.", "sched_switch: prev_comm=swapper/{cpu} prev_pid=0 prev_prio=120 prev_state=R"
              " ==> next_comm=fio next_pid=3021 next_prio=120", Kind.SCHED_SWITCH),
    ("d.h..", "local_timer_entry: vector=236", Kind.VECTOR_ENTRY),
    ("d.h..", "softirq_raise: vec=1 [action=TIMER]", Kind.SOFTIRQ_RAISE),
    ("d.h..", "local_timer_exit: vector=236", Kind.VECTOR_EXIT),
    ("d..2.", "sched_switch: prev_comm=fio prev_pid=3021 prev_prio=120 prev_state=S"
              " ==> next_comm=swapper/{cpu} next_pid=0 next_prio=120", Kind.SCHED_SWITCH),
    ("dN.2.", "sched_wakeup: comm=kworker/{cpu}:1H pid=214 prio=100 target_cpu={cpu:03d}",
     Kind.SCHED_WAKEUP),
)
_STATE_BITS = {letter: bit for bit, letter in TASK_STATE_LETTERS}

NAIVE_RE = re.compile(
    r"^\s*(.+)-(\d+)\s+\[(\d+)\]\s+(\S+\s+)?(\d+)\.(\d+):\s+(\w+):\s+(.*)$"
)


def generate(path: Path, lines: int) -> None:
    tasks = ("<idle>-0", "kworker/1:1H-214", "fio-3021", "ksoftirqd/2-27")
    with path.open("w") as f:
        f.write(HEADER.format(n=lines))
        ts_us = 102_000_000
        out = []
        for i in range(lines):
            cpu = (i // len(PATTERN)) % 4
            flags, text, _ = PATTERN[i % len(PATTERN)]
            text = text.format(irq=40 + cpu, name=f"eth0-TxRx-{cpu}", cpu=cpu)
            ts_us += 3
            out.append(f"{tasks[cpu]:>16}     [{cpu:03d}] {flags} {ts_us // 1_000_000:6d}."
                       f"{ts_us % 1_000_000:06d}: {text}\n")
            if len(out) == 100_000:
                f.writelines(out)
                out.clear()
        f.writelines(out)


def naive(path: Path) -> Iterator[Event]:
    """The straightforward parser: one regex match and a field split per line."""
    with path.open() as f:
        for line in f:
            m = NAIVE_RE.match(line)
            if not m:
                continue
            cpu, ts = int(m.group(3)), int(m.group(5)) * 10**9 + int(m.group(6)) * 1000
            event, args = m.group(7), dict(kv.split("=", 1) for kv in m.group(8).split()
                                           if "=" in kv)
            if event == "irq_handler_entry":
                yield Event(ts, cpu, Kind.IRQ_ENTRY, int(args["irq"]), 0, args["name"])
            elif event == "irq_handler_exit":
                yield Event(ts, cpu, Kind.IRQ_EXIT, int(args["irq"]), int(args["ret"] == "handled"))
            elif event.startswith("softirq_"):
                kind = {"softirq_raise": Kind.SOFTIRQ_RAISE, "softirq_entry": Kind.SOFTIRQ_ENTRY,
                        "softirq_exit": Kind.SOFTIRQ_EXIT}[event]
                yield Event(ts, cpu, kind, -1, int(args["vec"]))
            elif "vector" in args:
                kind = Kind.VECTOR_ENTRY if event.endswith("_entry") else Kind.VECTOR_EXIT
                yield Event(ts, cpu, kind, -1, int(args["vector"]), event.rsplit("_", 1)[0])
            elif event == "sched_switch":
                state = args["prev_state"]
                bits = TASK_REPORT_MAX if state.endswith("+") else 0
                for letter in state.rstrip("+").split("|"):
                    bits |= _STATE_BITS.get(letter, 0)  # "R" has no bit
                yield Event(ts, cpu, Kind.SCHED_SWITCH, int(args["next_pid"]), bits,
                            args["next_comm"])
            elif event == "sched_wakeup":
                yield Event(ts, cpu, Kind.SCHED_WAKEUP, int(args["pid"]), int(args["prio"]),
                            args["comm"])


def check_events(path: Path, lines: int, columns_n: int, events_n: int) -> None:
    """Exit with a message unless the naive parser finds the expected events of
    each kind and the reader the very same events (untimed: a pass of each)."""
    cycles, rest = divmod(lines, len(PATTERN))
    expected = Counter({kind: 0 for _, _, kind in PATTERN if kind is not None})
    for i, (_, _, kind) in enumerate(PATTERN):
        if kind is not None:
            expected[kind] += cycles + (i < rest)
    total = sum(expected.values())
    if columns_n != total or events_n != total:
        sys.exit(f"event counts disagree: irqlab columns {columns_n}, events {events_n}, "
                 f"expected {total}")
    found: Counter[int] = Counter()
    with path.open("rb") as f:
        for n, (mine, theirs) in enumerate(zip_longest(naive(path), FtraceReader(f)), 1):
            if mine != theirs:
                sys.exit(f"event {n} differs: naive {mine}, irqlab {theirs}")
            found[mine.kind] += 1
    if found != expected:
        sys.exit("events per kind disagree: " + ", ".join(
            f"{Kind(k).name} naive/irqlab {found[k]}, expected {expected[k]}"
            for k in sorted(expected.keys() | found.keys()) if found[k] != expected[k]))


def cpu_s(argv: list[str]) -> tuple[float, bytes]:
    """CPU seconds (user + system) and output of a child process run to completion.
    Output goes to a pipe: GNU grep stops at the first match when stdout is /dev/null."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=5_000_000, help="event lines to generate")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="irqlab-bench-") as tmp:
        path = Path(tmp) / "trace.txt"
        t0 = time.process_time()
        generate(path, args.lines)
        print(f"generated {args.lines} lines ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.process_time() - t0:.1f}s", file=sys.stderr)

        grep = [cpu_s(["grep", "-c", "irq_handler_entry", str(path)]) for _ in range(5)]
        grep_s = min(t for t, _ in grep)
        t0 = time.process_time()
        with path.open("rb") as f:
            reader = FtraceReader(f)
            deque(reader.columns(), maxlen=0)  # what irqlab report reads: columns
            columns_n = reader.count
        columns_s = time.process_time() - t0
        t0 = time.process_time()
        with path.open("rb") as f:
            reader = FtraceReader(f)
            deque(reader, maxlen=0)  # consume every Event at C speed
            fast_n = reader.count
        fast_s = time.process_time() - t0
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        report_s, report = cpu_s([sys.executable, "-m", "irqlab", "report", str(path), "--json"])
        t0 = time.process_time()
        deque(naive(path), maxlen=0)
        naive_s = time.process_time() - t0
        check_events(path, args.lines, columns_n, fast_n)
        entries = sum(PATTERN[i % len(PATTERN)][2] == Kind.IRQ_ENTRY for i in range(args.lines))
        reported = sum(row["total"] for label, row in json.loads(report)["counters"].items()
                       if label.isdigit())
        if int(grep[0][1]) != entries or reported != entries:
            sys.exit(f"interrupt counts disagree: grep -c {int(grep[0][1])}, irqlab report "
                     f"{reported}, expected {entries}")
    fast, slow = args.lines / fast_s, args.lines / naive_s
    print(json.dumps({
        "lines": args.lines,
        "irqlab_lines_per_s": round(fast),
        "naive_lines_per_s": round(slow),
        "ratio": round(fast / slow, 2),
        "peak_rss_mb": round(rss_mb, 1),
        "grep_c_s": round(grep_s, 3),
        "columns_s": round(columns_s, 3),
        "grep_c_ratio": round(columns_s / grep_s, 1),
        "events_grep_c_ratio": round(fast_s / grep_s, 1),
        "report_s": round(report_s, 2),
        "report_grep_c_ratio": round(report_s / grep_s, 1),
        "compiled": compiled(),
    }))


if __name__ == "__main__":
    main()
