"""Triage speed: ``irqlab triage`` against ``grep -c DMAR`` on the same large log.

Writes a synthetic kernel log (default ~150 MB: dmesg lines of a busy machine, with a
few hundred Intel DMAR, AMD-Vi, Arm SMMU and "nobody cared" lines spliced in) in a
temporary directory, then runs, in one command, ``irqlab triage --json`` and
``grep -c DMAR`` on it (best of ``--repeat`` runs each, CPU time of the child process:
user + system, so other load on the machine counts less).  It checks that triage found
every spliced fault, times each parser on 10 MB adversarial lines (issue 10: every
parser linear), and prints a last line of JSON::

    {"size_mb", "irqlab_s", "grep_s", "grep_c_ratio", "irqlab_mb_per_s",
     "peak_rss_mb", "findings", "longest_line_s"}

``grep_c_ratio`` is irqlab seconds / grep seconds; ``peak_rss_mb`` the peak resident
set of the ``irqlab triage`` process (bounded by its block size, not by the file).

    python3 bench/triage.py [--size MB] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOISE = (
    "usb 1-1: new high-speed USB device number {n} using xhci_hcd",
    "e1000e 0000:00:1f.6 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "EXT4-fs (nvme0n1p2): mounted filesystem with ordered data mode. Opts: (null)",
    'audit: type=1400 audit(1600000000.{n}:42): apparmor="STATUS" operation="profile_load"',
    "systemd[1]: Started Session {n} of user root.",
    "pci 0000:00:{n:02x}.0: [8086:9d71] type 00 class 0x040300",
    "Bluetooth: hci0: Firmware revision 0.1 build {n} week 45 2021",
    "CPU{n}: Core temperature above threshold, cpu clock throttled (total events = 1)",
    "nvme nvme0: pci function 0000:3b:00.0",
    "ACPI: Added _OSI(Module Device)",
)
SPLICED = (  # (line, distinct fault it adds or None)
    ("DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7cd80000 "
     "[fault reason 0x06] PTE Read access is not set", "intel"),
    ("nvme 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0000 "
     "address=0xfc189000 flags=0x0000]", "amd"),
    ("arm-smmu 15000000.iommu: Unhandled context fault: fsr=0x402, iova=0x9ffff000, "
     "fsynr=0x200021, cbfrsynra=0x880, cb=3", "arm"),
    ('irq 16: nobody cared (try booting with the "irqpoll" option)', None),
    ("handlers:", None),
    ("[<000000008b4a0b1e>] usb_hcd_irq+0x0/0x68 [usbcore]", None),
    ("Disabling IRQ #16", None),
)
SPLICES = 300


def write_log(path: Path, size: int, seed: int = 1) -> int:
    """Write ~``size`` bytes; return how many faults were spliced in."""
    rnd = random.Random(seed)
    every = max(1, size // 110 // SPLICES)
    faults = 0
    stamp = 0.0
    written = 0
    with path.open("w") as out:
        batch: list[str] = []
        line_no = 0
        while written < size:
            stamp += rnd.random() / 100
            line_no += 1
            if line_no % every == 0:
                for text, vendor in SPLICED:
                    batch.append(f"[{stamp:12.6f}] {text}\n")
                    faults += vendor is not None
            else:
                text = rnd.choice(NOISE).format(n=rnd.randrange(100))
                batch.append(f"[{stamp:12.6f}] {text}\n")
            if len(batch) >= 10_000:
                chunk = "".join(batch)
                out.write(chunk)
                written += len(chunk)
                batch.clear()
        out.write("".join(batch))
    return faults


def cpu_run(argv: list[str]) -> tuple[float, bytes, int]:
    """CPU seconds (user + system) of one child, its stdout, and its peak RSS in kB.
    Exit status 0 or 1 (grep and triage: found / nothing found); any other stops the
    bench naming the command."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)}: exit status {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, out, usage.ru_maxrss


def longest_line_seconds(size: int = 10 << 20) -> float:
    """The slowest single call (normalise, or a parser's incomplete/starts/feed) on a
    10 MB adversarial line (issue 10: under 2 s)."""
    from irqlab.triage import amdvi, dmar, smmu, storm, windows
    from irqlab.triage.text import normalise

    lines = ["arm-smmu 15000000.iommu: Unhandled context fault:" + "a" * size,
             "DMAR: [DMA Read" + " " * size, "A" * size + " (e6)", "irq " + "1" * size,
             "AMD-Vi: Event logged [" * (size // 22), "a" * size + ": FSR"]
    calls = [normalise]
    for make in (windows.WindowsParser, dmar.DmarParser, amdvi.AmdViParser,
                 smmu.SmmuParser, storm.StormParser):
        parser = make()
        calls += [parser.incomplete, parser.starts, parser.feed]
    worst = 0.0
    for line in lines:
        for call in calls:
            start = time.perf_counter()
            call(line)  # type: ignore[operator]
            worst = max(worst, time.perf_counter() - start)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=150, help="log size in MB (default 150)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best taken")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "kern.log"
        faults = write_log(log, args.size << 20)
        size = log.stat().st_size
        irqlab = [sys.executable, "-m", "irqlab", "triage", "--json", str(log)]
        grep = ["grep", "-c", "DMAR", str(log)]
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)  # page cache
        runs_i, runs_g = [], []
        peak = 0
        for _ in range(args.repeat):
            cpu, out, _ = cpu_run(grep)
            runs_g.append(cpu)
            cpu, out, rss = cpu_run(irqlab)
            runs_i.append(cpu)
            peak = max(peak, rss)
            print(f"irqlab {cpu:.3f} s, grep {runs_g[-1]:.3f} s", file=sys.stderr)
        found = json.loads(out)["findings"]
        counted = sum(f["count"] for f in found if f["kind"] == "iommu-fault")
        if counted != faults:
            sys.exit(f"triage counted {counted} faults, {faults} were spliced in")
        best_i, best_g = min(runs_i), min(runs_g)
        print(json.dumps({
            "size_mb": round(size / 1e6, 1),
            "irqlab_s": round(best_i, 3),
            "grep_s": round(best_g, 3),
            "grep_c_ratio": round(best_i / best_g, 1),
            "irqlab_mb_per_s": round(size / 1e6 / best_i, 1),
            "peak_rss_mb": round(peak / 1024, 1),
            "findings": len(found),
            "longest_line_s": round(longest_line_seconds(), 3),
        }))


if __name__ == "__main__":
    main()
