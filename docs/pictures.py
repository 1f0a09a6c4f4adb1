"""Regenerate the README's pictures (docs/img/*.png) from the built-in default
scenario: ``python docs/pictures.py`` after ``pip install -e '.[test]'``, with
Debian's ``chromium`` on PATH.

* ``html-report.png``: the top of ``irqlab run --html`` as headless Chromium
  draws it.
* ``vcd-waveform.png``: the signals of ``irqlab run --vcd`` around the first
  interrupt of the shared level line (with the IRR and ISR bits of its vector
  in its CPU's local APIC), drawn the way a logic analyser shows them (read
  back with vcdvcd, as the tests do).
* ``perfetto-timeline.png``: the ``Irq Cpu N`` / ``SoftIrq Cpu N`` tracks of
  ``irqlab run --perfetto`` (its ftrace bundles read back with the protobuf
  classes), drawn as ui.perfetto.dev lays them out.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from matplotlib.figure import Figure
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
from PIL import Image
from vcdvcd import VCDVCD

from irqlab.events import SOFTIRQ_NAMES
from irqlab.machine.build import build
from irqlab.scenario.loader import load

IMG = Path(__file__).resolve().parent / "img"
RUN = ["default", "--duration", "5ms", "--seed", "1"]
WIDTH = 760  # px of the pictures in the README
WINDOW_NS = (-20_000, 60_000)  # around the first assert of irq 16


def signals() -> tuple[str, ...]:
    """The pins drawn: irq 16 and 24 with their vectors' IRR/ISR bits, CPU 0's context."""
    machine = build(load(RUN[0])[0], int(RUN[-1]))
    bits = []
    for irq in (16, 24):
        desc = machine.kernel.descs[irq]
        vec = f"cpu{desc.affinity}.vec{desc.vector}"
        bits.append((f"irq{irq}.line", f"{vec}_irr", f"{vec}_isr", f"irq{irq}.handler"))
    return (*bits[0], *bits[1], "cpu0.context")


SIGNALS = signals()
def irqlab(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "irqlab", *args], check=True, stdout=subprocess.DEVNULL)


def screenshot(page: Path, png: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--screenshot={png}", "--window-size=1000,1250", page.as_uri()],
            check=True, capture_output=True)


def small(src: Path, dest: Path) -> None:
    """Scale to WIDTH and store as a 256-colour palette PNG (a few tens of kB)."""
    img = Image.open(src).convert("RGB")
    img = img.resize((WIDTH, round(img.height * WIDTH / img.width)), Image.LANCZOS)
    img.quantize(256, method=Image.Quantize.MAXCOVERAGE).save(dest, optimize=True)


def _name(signal: str) -> str:
    scope, var = signal.split(".")
    return f"irqlab.{scope}.{scope}_{var}"


def waveform(vcd_path: Path, dest: Path) -> None:
    vcd = VCDVCD(str(vcd_path))
    start = next(int(t) for t, v in vcd[_name("irq16.line")].tv if v == "1")
    lo, hi = start + WINDOW_NS[0], start + WINDOW_NS[1]
    fig = Figure(figsize=(WIDTH / 100, 0.42 * len(SIGNALS) + 0.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for row, name in enumerate(SIGNALS):
        signal = vcd[_name(name)]
        width = int(signal.size)
        xs, ys = [], []
        value = 0
        for t, v in signal.tv:
            if t > hi:
                break
            if t >= lo:
                xs.append((t - start) / 1000)
                ys.append(value)
            value = int(v, 2)
            if t >= lo:
                xs.append((t - start) / 1000)
                ys.append(value)
        xs = [(lo - start) / 1000, *xs, (hi - start) / 1000]
        first = ys[0] if ys else value
        ys = [first, *ys, value]
        top = (1 << width) - 1
        base = len(SIGNALS) - 1 - row
        ax.plot(xs, [base + 0.75 * y / top for y in ys], drawstyle="steps-post", linewidth=1.2)
    ax.set_yticks(range(len(SIGNALS)), [s.replace(".", " ") for s in reversed(SIGNALS)],
                  fontsize="small")
    ax.set_xlim((lo - start) / 1000, (hi - start) / 1000)
    ax.set_xlabel("us from the assert of irq 16 (cpu0 context: 0 task, 1 softirq, 2 hardirq)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("irqlab run default --vcd (as a logic analyser shows it)")
    fig.savefig(dest, metadata={"Software": None})


def slices(trace_path: Path) -> dict[str, list[tuple[int, int, str]]]:
    """Per Perfetto track name, the (start, end, name) of each IRQ or softirq slice."""
    trace = pb.Trace.FromString(trace_path.read_bytes())
    out: dict[str, list[tuple[int, int, str]]] = {}
    for packet in trace.packet:
        if not packet.HasField("ftrace_events"):
            continue
        cpu = packet.ftrace_events.cpu
        for ev in packet.ftrace_events.event:
            kind = ev.WhichOneof("event")
            if kind == "irq_handler_entry":
                out.setdefault(f"Irq Cpu {cpu}", []).append(
                    (ev.timestamp, -1, f"IRQ ({ev.irq_handler_entry.name})"))
            elif kind == "softirq_entry":
                out.setdefault(f"SoftIrq Cpu {cpu}", []).append(
                    (ev.timestamp, -1, SOFTIRQ_NAMES[ev.softirq_entry.vec]))
            elif kind in ("irq_handler_exit", "softirq_exit"):
                track = f"{'Irq' if kind == 'irq_handler_exit' else 'SoftIrq'} Cpu {cpu}"
                start, _, name = out[track][-1]
                out[track][-1] = (start, ev.timestamp, name)
    return out


def timeline(trace_path: Path, dest: Path) -> None:
    tracks = slices(trace_path)
    names = sorted(tracks, key=lambda t: (t.split()[-1], t.startswith("Soft")))
    start = min(s for s, _, n in tracks["Irq Cpu 0"] if "uhci" in n)
    lo, hi = start - 10_000, start + 50_000
    fig = Figure(figsize=(WIDTH / 100, 0.55 * len(names) + 0.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    colours = {}
    for row, track in enumerate(reversed(names)):
        for s, e, name in tracks[track]:
            if e < lo or s > hi:
                continue
            first = name not in colours
            colour = colours.setdefault(name, f"C{len(colours) % 10}")
            ax.broken_barh([((s - start) / 1000, max(e - s, 200) / 1000)], (row + 0.1, 0.8),
                           color=colour, label=name if first else None)
    ax.set_yticks([r + 0.5 for r in range(len(names))], list(reversed(names)), fontsize="small")
    ax.set_xlim((lo - start) / 1000, (hi - start) / 1000)
    ax.set_xlabel("us")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title("irqlab run default --perfetto: Perfetto's Irq and SoftIrq tracks")
    fig.savefig(dest, metadata={"Software": None})


def main() -> None:
    IMG.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        irqlab("run", *RUN, "--html", str(work / "report.html"), "--vcd", str(work / "run.vcd"),
               "--perfetto", str(work / "run.pftrace"))
        screenshot(work / "report.html", work / "shot.png")
        small(work / "shot.png", IMG / "html-report.png")
        waveform(work / "run.vcd", work / "wave.png")
        small(work / "wave.png", IMG / "vcd-waveform.png")
        timeline(work / "run.pftrace", work / "timeline.png")
        small(work / "timeline.png", IMG / "perfetto-timeline.png")
    for png in sorted(IMG.glob("*.png")):
        print(f"{png.relative_to(IMG.parent.parent)}: {png.stat().st_size // 1024} kB")


if __name__ == "__main__":
    main()
