"""Reference model benchmark (issue #2): irqlab's full controller path against
an idiomatic SimPy model of the same system, in one command.

Model: 4 level-triggered devices on IO-APIC pins, each with its own request
queue fed by Poisson arrivals of 300k/s; a device holds its line asserted while
it has requests pending; device d is routed to CPU d % 2; the handler serves
one request in 1 us and clears it; the EOI re-samples the pin before the local
APIC picks its next vector.  Devices 0 and 1 use vector 0x41 and devices 2 and
3 vector 0x40: one priority class, so they are served first but never preempt.
Entry, exit and EOI costs are zero.

Each CPU is then an M/D/1 queue with two non-preemptive priority classes
(lambda = 0.3/us per class, S = 1 us): Cobham's formula gives mean waits
W0 = lambda_tot E[S^2] / 2 = 0.3 us, W(p0) = W0 / (1 - rho0) = 0.4286 us and
W(p1) = W0 / ((1 - rho0)(1 - rho)) = 1.0714 us.

The last line printed is JSON with irqlab_irq_per_s, simpy_irq_per_s, ratio,
wait_p0_us, wait_p1_us and peak_rss_mb.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from irqlab._compiled import compiled
from irqlab.hw.apic import Apic
from irqlab.hw.arrivals import Poisson
from irqlab.hw.device import Device, LevelSignal, Wire
from irqlab.hw.ioapic import IoApic
from irqlab.kernel.action import HandlerContext
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.os.baremetal import BareMetal, ServeOne
from irqlab.scenario.schema import Scenario
from irqlab.sim.engine import Engine, StopSimulation
from irqlab.sim.rng import stream

RATE_PER_S = 300_000
SERVICE_NS = 1_000
ANALYTIC_P0_US = 0.3 / (1 - 0.3)
ANALYTIC_P1_US = 0.3 / ((1 - 0.3) * (1 - 0.6))


def scenario(seed: int) -> Scenario:
    devices = [
        {
            "name": f"dev{d}", "kind": "line", "line": 16 + d, "trigger": "level", "cpu": d % 2,
            "vector": 0x41 if d < 2 else 0x40,
            "arrival": {"kind": "poisson", "rate": f"{RATE_PER_S // 1000}k/s"},
            "handler": {"cost": "0ns"},
        }
        for d in range(4)
    ]
    return Scenario.model_validate({
        "scenario": {"name": "reference-model", "seed": seed, "duration": "10s"},
        "machine": {"arch": "x86", "cpus": 2, "entry_cost": "0ns", "exit_cost": "0ns"},
        "timer": {"enabled": False},
        "device": devices,
    })


def run_irqlab(n: int, seed: int) -> tuple[float, float, float]:
    """The controller path: devices, IO-APIC (Remote IRR, EOI broadcast), local
    APICs (IRR/ISR/TMR/PPR) and a bare-metal core that acknowledges, serves one
    request and EOIs.  Runs in 100 us slices, then event by event, until ``n``
    requests are served.  Served requests per wall second and the two mean
    waits (us), from each device's arrival-to-service sum."""
    engine = Engine()
    apic = Apic(2)
    ioapic = IoApic(apic)
    core = BareMetal(engine, apic, 2)
    devices = []
    for d in range(4):
        pin, cpu, vector = 16 + d, d % 2, 0x41 if d < 2 else 0x40
        ioapic.program(pin, vector, cpu, level=True)
        dev = Device(engine, f"dev{d}", LevelSignal(Wire(ioapic, pin)),
                     Poisson(RATE_PER_S, stream(seed, f"arrivals:dev{d}")), keep_timestamps=True)
        core.install(cpu, vector, ServeOne(dev, SERVICE_NS))
        dev.start()
        devices.append(dev)
    t0 = time.process_time()
    while sum(dev.served for dev in devices) < n - 1_000:
        engine.run(until_ns=engine.now + 100_000)  # about 120 requests
    while sum(dev.served for dev in devices) < n:
        engine.run(max_events=1)
    wall = time.process_time() - t0
    served = sum(dev.served for dev in devices)
    p0 = [sum(dev.waited_ns for dev in devices[:2]), sum(dev.served for dev in devices[:2])]
    p1 = [sum(dev.waited_ns for dev in devices[2:]), sum(dev.served for dev in devices[2:])]
    return served / wall, acc_mean(p0), acc_mean(p1)


def run_irqlab_kernel(n: int, seed: int) -> tuple[float, float, float]:
    """The same model through the Linux interrupt layer (ivt_handle_interrupt,
    fasteoi flow, action chain, spurious detector) built from a scenario."""
    m = build(scenario(seed))
    waits = [[0, 0], [0, 0]]
    served = [0]

    def serve(cls: int):  # the driver's top half for one priority class
        acc = waits[cls]

        def handler(ctx: HandlerContext) -> int:
            dev = ctx.action.dev_id  # type: ignore[union-attr]
            queue = dev.timestamps
            if not queue:
                return IRQ_NONE
            acc[0] += ctx.k.engine.now - queue[0]
            acc[1] += 1
            dev.service(1)
            ctx.cost += SERVICE_NS
            served[0] += 1
            if served[0] >= n:
                raise StopSimulation("served enough")
            return IRQ_HANDLED

        return handler

    for d in range(4):
        m.drivers[f"dev{d}"].python = serve(0 if d < 2 else 1)
        for dev in m.devices[f"dev{d}"]:
            dev.keep_timestamps()
    t0 = time.process_time()
    simulate(m, 10**15)
    wall = time.process_time() - t0
    return served[0] / wall, acc_mean(waits[0]), acc_mean(waits[1])


def acc_mean(acc: list[int]) -> float:
    return acc[0] / acc[1] / 1000 if acc[1] else float("nan")


def run_simpy(n: int, seed: int) -> tuple[float, float, float]:
    """The same system written idiomatically in SimPy: one process per request,
    a PriorityResource per CPU.  Uses the same random streams, so it follows the
    same sample path."""
    import simpy

    env = simpy.Environment()
    cpus = [simpy.PriorityResource(env, capacity=1) for _ in range(2)]
    waits = [[0, 0], [0, 0]]
    served = [0]
    done = env.event()

    def request(cpu: simpy.PriorityResource, prio: int):  # type: ignore[no-untyped-def]
        arrived = env.now
        with cpu.request(priority=prio) as req:
            yield req
            waits[prio][0] += env.now - arrived
            waits[prio][1] += 1
            yield env.timeout(SERVICE_NS)
        served[0] += 1
        if served[0] == n and not done.triggered:
            done.succeed()

    def source(d: int):  # type: ignore[no-untyped-def]
        rng = stream(seed, f"arrivals:dev{d}")
        mean = 1e9 / RATE_PER_S
        while True:
            yield env.timeout(round(rng.expovariate(1.0) * mean))
            env.process(request(cpus[d % 2], 0 if d < 2 else 1))

    for d in range(4):
        env.process(source(d))
    t0 = time.process_time()
    env.run(until=done)
    wall = time.process_time() - t0
    return served[0] / wall, acc_mean(waits[0]), acc_mean(waits[1])


C_SOURCE = Path(__file__).with_name("reference_model.c")


def c_compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def run_c(n: int, seed: int, tmp: Path) -> tuple[float, float, float]:
    """The same model as a C event loop (``reference_model.c``), compiled here
    with ``-O2``; it draws the same arrivals (CPython's MT19937, seeded as
    ``irqlab.sim.rng.stream`` seeds), so its waits equal irqlab's.  Served
    requests per second of its loop (its own CPU clock, start-up
    excluded) and the two mean waits (us)."""
    exe = tmp / "reference_model"
    if not exe.exists():
        subprocess.run([c_compiler() or "cc", "-O2", "-o", str(exe), str(C_SOURCE), "-lm"], check=True)
    keys = []
    for d in range(4):
        word = int.from_bytes(hashlib.sha256(f"{seed}:arrivals:dev{d}".encode()).digest()[:8], "big")
        keys += [str(word & 0xFFFFFFFF), str(word >> 32)]
    out = subprocess.run([str(exe), str(n), str(RATE_PER_S), str(SERVICE_NS), *keys],
                         check=True, capture_output=True, text=True).stdout.split()
    served, loop_ns, w0, n0, w1, n1 = map(int, out)
    return served / (loop_ns / 1e9), acc_mean([w0, n0]), acc_mean([w1, n1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="served requests per run")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    # Warm-up (CPython specialises a long-running first frame late; see
    # tools-and-ecosystem notes 1.4).
    run_irqlab(2_000, args.seed + 1)
    run_irqlab_kernel(2_000, args.seed + 1)
    run_simpy(2_000, args.seed + 1)
    irq_rate, p0, p1 = run_irqlab(args.n, args.seed)
    print(f"irqlab: {irq_rate:,.0f} irq/s  wait p0 {p0:.4f} us  p1 {p1:.4f} us", file=sys.stderr)
    kernel_rate, kp0, kp1 = run_irqlab_kernel(args.n, args.seed)
    print(f"irqlab + Linux irq layer: {kernel_rate:,.0f} irq/s  wait p0 {kp0:.4f} us  p1 {kp1:.4f} us",
          file=sys.stderr)
    simpy_rate, sp0, sp1 = run_simpy(args.n, args.seed)
    print(f"simpy:  {simpy_rate:,.0f} irq/s  wait p0 {sp0:.4f} us  p1 {sp1:.4f} us", file=sys.stderr)
    c_rate = cp0 = cp1 = None
    c_skipped = None
    if c_compiler() is None:
        c_skipped = "no C compiler (cc or gcc) on PATH"
        print(f"C model skipped: {c_skipped}", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run_c(2_000, args.seed + 1, Path(tmp))
            c_rate, cp0, cp1 = run_c(args.n, args.seed, Path(tmp))
        print(f"C:      {c_rate:,.0f} irq/s  wait p0 {cp0:.4f} us  p1 {cp1:.4f} us", file=sys.stderr)
    print(f"analytic M/D/1 priority: p0 {ANALYTIC_P0_US:.4f} us  p1 {ANALYTIC_P1_US:.4f} us",
          file=sys.stderr)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    core = "compiled" if compiled() else "pure Python"
    print(f"irqlab core: {core}", file=sys.stderr)
    print(json.dumps({
        "irqlab_irq_per_s": round(irq_rate),
        "simpy_irq_per_s": round(simpy_rate),
        "ratio": round(irq_rate / simpy_rate, 2),
        "wait_p0_us": round(p0, 4),
        "wait_p1_us": round(p1, 4),
        "kernel_irq_per_s": round(kernel_rate),
        "kernel_ratio": round(kernel_rate / simpy_rate, 2),
        "kernel_wait_p0_us": round(kp0, 4),
        "kernel_wait_p1_us": round(kp1, 4),
        "c_irq_per_s": None if c_rate is None else round(c_rate),
        "c_ratio": None if c_rate is None else round(c_rate / irq_rate, 2),
        "c_kernel_ratio": None if c_rate is None else round(c_rate / kernel_rate, 2),
        "c_wait_p0_us": None if cp0 is None else round(cp0, 4),
        "c_wait_p1_us": None if cp1 is None else round(cp1, 4),
        "c_skipped": c_skipped,
        "simpy_wait_p0_us": round(sp0, 4),
        "simpy_wait_p1_us": round(sp1, 4),
        "analytic_p0_us": round(ANALYTIC_P0_US, 4),
        "analytic_p1_us": round(ANALYTIC_P1_US, 4),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "core": core,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
