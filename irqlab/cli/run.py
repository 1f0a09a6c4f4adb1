"""``irqlab run``, ``irqlab validate`` and ``irqlab scenarios``."""

from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from irqlab.cli.errors import InputError, Interrupted, interruptible, stop_reason
from irqlab.cli.output import open_output
from irqlab.cli.params import allow_code_option, output_files, output_path, scenario_folder
from irqlab.cli.pictures import check_extras, picture_options, write_pictures
from irqlab.cli.show import show, show_options
from irqlab.units import UnitError, format_ns, parse_duration

if TYPE_CHECKING:
    from irqlab.machine.run import Sink


def _load(ref: str, assignments: tuple[str, ...] = (),
          models: bool = False) -> tuple[Any, dict[str, object]]:
    """The scenario ``ref`` with its ``--set PATH=VALUE`` overrides applied
    (``models``: as pydantic models, to edit)."""
    from irqlab.scenario.loader import ScenarioError, load, load_model
    from irqlab.scenario.override import OverrideError, parse_override

    try:
        return (load_model if models else load)(ref, [parse_override(a) for a in assignments])
    except (ScenarioError, OverrideError) as exc:
        raise InputError(str(exc)) from None


def _bind_code(ref: str, spec: Any, allow_code: bool) -> None:
    """Load the code the scenario's handlers name, with the user's consent,
    from the scenario's folder."""
    from irqlab.usercode import UserCodeError, bind_scenario_code

    try:
        bind_scenario_code(spec, scenario_folder(ref), allowed=allow_code)
    except UserCodeError as exc:
        raise InputError(str(exc), source=ref) from None


def _build(ref: str, spec: Any, seed: int | None) -> Any:
    from irqlab.machine.build import BuildError, build

    try:
        return build(spec, seed)
    except BuildError as exc:
        raise InputError(str(exc), source=ref) from None


def _experiment(ref: str, assignments: tuple[str, ...], extras: dict[str, object],
                seed: int | None, duration: str | None, allow_code: bool) -> Any:
    """Run a scenario's ``[experiment]``: the grid of its ``[sweep]``, summarised."""
    from irqlab.experiments import run_experiment
    from irqlab.scenario.loader import ScenarioError, read
    from irqlab.scenario.override import Override, parse_override
    from irqlab.sweep.backend import BackendError
    from irqlab.sweep.point import PointError
    from irqlab.usercode import UserCodeError

    fixed = [parse_override(a) for a in assignments]
    if duration is not None:
        fixed.append(Override("scenario.duration", duration, "--duration"))
    try:
        text, source = read(ref)
        return run_experiment(text, source, extras["experiment"], extras.get("sweep"), fixed,
                              seed, scenario_folder(ref), allow_code)
    except (ScenarioError, PointError, BackendError) as exc:
        raise InputError(str(exc)) from None
    except UserCodeError as exc:
        raise InputError(str(exc), source=ref) from None


def _check_experiment(ref: str, spec: Any, table: object) -> None:
    """``irqlab validate`` of an ``[experiment]`` table (its grid is checked
    as a sweep's)."""
    from irqlab.experiments import validate as validate_experiment
    from irqlab.scenario.loader import ScenarioError

    try:
        validate_experiment(spec, table, ref)
    except ScenarioError as exc:
        raise InputError(str(exc)) from None


def _write_dmesg(path: str, log: Any) -> None:
    """The kernel log as ``dmesg`` prints it: ``[%5lu.%06lu] message``."""
    from irqlab.report.dmesg import dmesg_text

    with open_output(path, option="--dmesg") as f:
        f.write(dmesg_text(log))


def _perfetto(out: IO[bytes], cpus: int) -> Any:
    from irqlab.report.perfetto import PerfettoWriter

    return PerfettoWriter(out, cpus)


# The writers are imported when their option is given (start-up of a plain run).
def _ftrace(out: IO[str], cpus: int, ns: bool) -> Any:
    from irqlab.report.ftrace import FtraceTextWriter

    return FtraceTextWriter(out, cpus, ns=ns)


def _chrome(out: IO[str], cpus: int) -> Any:
    from irqlab.report.chrome import ChromeTraceWriter

    return ChromeTraceWriter(out, cpus)


def _vcd(out: IO[str], cpus: int, machine: Any, title: str) -> Any:
    from irqlab.report.vcd import VcdWriter

    return VcdWriter(out, cpus, level_irqs(machine), title=title, chip=machine.ctrl.name)


def level_irqs(machine: Any) -> set[int]:
    """The IRQs of the machine's level-triggered device lines."""
    return {irq for dev in machine.spec.device if dev.kind == "line" and dev.trigger == "level"
            for irq in machine.irqs.get(dev.name, ())}


def _run_duration(text: str | None, spec: Any) -> int:
    """The run's simulated time: ``--duration`` or the scenario's."""
    if text is None:
        return int(spec.scenario.duration)
    try:
        duration_ns = parse_duration(text)
    except UnitError as exc:
        raise InputError(str(exc), source="--duration") from None
    if duration_ns <= 0:
        raise InputError(f"expected a time above zero, got {text!r}", source="--duration")
    return duration_ns


@click.command()
@click.argument("scenario", default="default")
@click.option("--set", "assignments", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario field, e.g. device.eth0.arrival.rate=300k/s, "
                   "device[1].handler.cost=2us, machine.cpus=8 (repeatable).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--duration", "duration", default=None, help="Simulated time, e.g. 50ms (default: the scenario's).")
@click.option("--events", "max_events", type=click.IntRange(min=1), default=None,
              help="Stop after this many simulator events.")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write the event trace in ftrace text format.")
@click.option("--trace-clock", "trace_clock", type=click.Choice(["us", "ns"]), default="us",
              show_default=True,
              help="Timestamp resolution of --trace: us as tracefs prints, or ns as "
                   "'trace-cmd report -t' does (docs/trace-format.md).")
@click.option("--chrome", "chrome_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write a Chrome trace-event JSON (opens in ui.perfetto.dev).")
@click.option("--perfetto", "perfetto_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write a native Perfetto protobuf trace (needs irqlab[perfetto]).")
@click.option("--vcd", "vcd_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write the IRQ lines, pending/in-service bits and CPU contexts "
                                 "as a VCD waveform (GTKWave, Surfer, PulseView).")
@click.option("--dmesg", "dmesg_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write the simulated kernel log (dmesg format; irqlab triage reads it).")
@picture_options
@show_options
@allow_code_option
@interruptible
def run(scenario: str, assignments: tuple[str, ...], seed: int | None, duration: str | None,
        max_events: int | None, trace_path: str | None, trace_clock: str, chrome_path: str | None,
        perfetto_path: str | None, vcd_path: str | None, dmesg_path: str | None,
        html_path: str | None, png_dir: str | None, as_json: bool, hist: bool,
        hdr_path: str | None, allow_code: bool) -> None:
    """Simulate SCENARIO (a built-in name or a TOML file; default: 'default').

    Ctrl-C (exit status 130) or SIGTERM (143) stops the run; trace files keep what was written."""
    from irqlab.analysis.irqstats import IrqStats
    from irqlab.analysis.rates import RateTimeline
    from irqlab.machine.run import simulate
    from irqlab.progress import run_progress
    from irqlab.runner import guest_stats, simulation_report

    check_extras(html_path, png_dir, perfetto_path)
    spec, extras = _load(scenario, assignments)
    duration_ns = _run_duration(duration, spec)
    _bind_code(scenario, spec, allow_code)
    if "experiment" in extras:
        given = [name for name, value in (("--trace", trace_path), ("--chrome", chrome_path),
                                          ("--perfetto", perfetto_path), ("--vcd", vcd_path),
                                          ("--dmesg", dmesg_path), ("--events", max_events))
                 if value is not None]
        if given:
            raise InputError(f"{scenario} is an experiment of many runs: {', '.join(given)} "
                             "applies to a single machine")
        report = _experiment(scenario, assignments, extras, seed, duration, allow_code)
    else:
        if "sweep" in extras:
            from irqlab.cli.sweep import check_sweep_grid

            check_sweep_grid(scenario)
        machine = _build(scenario, spec, seed)
        cpus = spec.machine.cpus
        stats = IrqStats(cpus)
        guests = guest_stats(machine)
        timeline = RateTimeline() if html_path or png_dir else None
        try:
            with output_files(("--trace", trace_path,
                               lambda f: _ftrace(f, cpus, ns=trace_clock == "ns")),
                              ("--chrome", chrome_path, lambda f: _chrome(f, cpus)),
                              ("--perfetto", perfetto_path, lambda f: _perfetto(f, cpus), True),
                              ("--vcd", vcd_path, lambda f: _vcd(f, cpus, machine,
                                                                 spec.scenario.name)),
                              ) as writers, run_progress(duration_ns) as progress:
                sinks: list[Sink] = [stats, *writers, *([timeline] if timeline else [])]
                simulate(machine, duration_ns, sinks, max_events=max_events, progress=progress,
                         guest_sinks={name: [g] for name, g in guests.items()})
        except KeyboardInterrupt as exc:  # the trace files are complete up to here
            raise Interrupted(f"stopped by {stop_reason(exc)} at "
                              f"{format_ns(machine.engine.now)} of {format_ns(duration_ns)} "
                              "simulated time", signalled=exc) from None
        report = simulation_report(machine, stats, guests=guests)
        report.timeline = timeline
        if dmesg_path:
            _write_dmesg(dmesg_path, machine.kernel.log)
    write_pictures(report, html_path, png_dir)
    show(report, as_json, hist, hdr_path)


@click.command()
@click.argument("scenario")
def validate(scenario: str) -> None:
    """Check SCENARIO without running it (nor any code it names: a handler's
    file must exist, and is not imported)."""
    from irqlab.usercode import UserCodeError, check_scenario_code

    spec, extras = _load(scenario)
    try:
        named = check_scenario_code(spec, scenario_folder(scenario))
    except UserCodeError as exc:
        raise InputError(str(exc), source=scenario) from None
    for handler in named.values():  # built as the built-in driver: validate runs no code
        handler.python = None
    if "experiment" in extras:
        _check_experiment(scenario, spec, extras["experiment"])
    else:
        _build(scenario, spec, None)
    code = f", {len(named)} Python handler(s): run with --allow-code" if named else ""
    sweep = ""
    if "sweep" in extras:
        from irqlab.cli.sweep import check_sweep_table

        sweep = f", {check_sweep_table(scenario)}"
    click.echo(f"{scenario}: ok ({spec.machine.arch}, {spec.machine.cpus} CPU(s), "
               f"{len(spec.device)} device(s), {len(spec.fault)} fault(s){code}{sweep})")


@click.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from irqlab.scenario.loader import builtin_descriptions

    items = builtin_descriptions()
    width = max(map(len, items), default=0)
    for name, desc in items.items():
        click.echo(f"{name:<{width}}  {desc}")


COMMANDS: list[click.Command] = [run, validate, scenarios]


@click.command()
@click.argument("trace_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scenario", "scenario_ref", default=None,
              help="Machine and devices to replay on (default: an x86 machine with the trace's CPUs).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--chrome", "chrome_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write a Chrome trace-event JSON of the replayed run.")
@click.option("--perfetto", "perfetto_path", type=click.Path(dir_okay=False), callback=output_path,
              default=None, help="Write a native Perfetto protobuf trace of the replayed run "
                                 "(needs irqlab[perfetto]).")
@click.option("--drop-softirqs", is_flag=True,
              help="Do not replay the softirq work the traced handlers raised.")
@click.option("--drop-vectors", is_flag=True,
              help="Do not replay system vectors (x86 timer LOC and IPIs RES, CAL, TLB...).")
@click.option("--save-scenario", "save_path", type=click.Path(dir_okay=False, path_type=Path),
              callback=output_path, default=None,
              help="Also write the replay scenario as TOML, to edit and run as a what-if.")
@picture_options
@show_options
@allow_code_option
@interruptible
def replay(trace_file: Path, scenario_ref: str | None, seed: int | None, chrome_path: str | None,
           perfetto_path: str | None, drop_softirqs: bool, drop_vectors: bool,
           save_path: Path | None, html_path: str | None, png_dir: str | None,
           as_json: bool, hist: bool, hdr_path: str | None, allow_code: bool) -> None:
    """Drive the simulator with the arrivals and handler costs of a real trace.

    By default the whole captured interrupt load is replayed: device IRQs, the
    softirq work their handlers raised, and the timer and IPI vectors (see
    --drop-softirqs, --drop-vectors).  --save-scenario writes the scenario
    replayed, which `irqlab run FILE` runs to the same result."""
    from pydantic import ValidationError

    from irqlab.analysis.arrivals import arrivals
    from irqlab.analysis.irqstats import IrqStats
    from irqlab.analysis.rates import RateTimeline
    from irqlab.analysis.report import Report, ReportWarning
    from irqlab.cli.traces import detect, trace_events
    from irqlab.events import SOFTIRQ_NAMES
    from irqlab.machine.run import simulate
    from irqlab.observe.tracefile import FTRACE, IRQLAB_TRACE
    from irqlab.runner import simulation_report
    from irqlab.scenario.loader import format_errors
    from irqlab.scenario.replay import replay_scenario

    check_extras(html_path, png_dir, perfetto_path)
    fmt = detect(trace_file)
    if fmt not in (FTRACE, IRQLAB_TRACE):
        raise InputError(f"is a {fmt} snapshot, not a trace (use irqlab trace or ftrace text)",
                         source=str(trace_file))
    scratch = Report(source="trace", cpus=1)
    cpus, columns = trace_events(trace_file, fmt, scratch)
    unraised: dict[int, int] = {}
    traced = arrivals(chain.from_iterable(zip(*cols, strict=True) for cols in columns), unraised)
    if not any(label.isdigit() and a.times_ns for label, a in traced.items()):
        raise InputError("no device interrupts (irq_handler_entry) to replay", source=str(trace_file))
    base = None
    if scenario_ref is not None:
        base, extras = _load(scenario_ref, models=True)
        if "experiment" in extras:
            raise InputError("is an experiment of many runs, not one machine to replay on",
                             source=f"--scenario {scenario_ref}")
        _bind_code(scenario_ref, base, allow_code)
    try:
        spec = replay_scenario(base, traced, cpus, str(trace_file), vectors=not drop_vectors,
                               softirqs=not drop_softirqs)
    except ValidationError as exc:
        raise InputError(format_errors(f"{trace_file}: cannot replay", exc)) from None
    if seed is not None:
        spec.scenario.seed = seed
    if save_path is not None:
        from irqlab.scenario.dump import dumps

        with open_output(save_path, option="--save-scenario") as f:
            f.write(dumps(spec))
    machine = _build(scenario_ref or str(trace_file), spec, seed)
    stats = IrqStats(spec.machine.cpus)
    timeline = RateTimeline() if html_path or png_dir else None
    with output_files(("--chrome", chrome_path, lambda f: _chrome(f, spec.machine.cpus)),
                      ("--perfetto", perfetto_path,
                       lambda f: _perfetto(f, spec.machine.cpus), True)) as writers:
        sinks: list[Sink] = [stats, *writers, *([timeline] if timeline else [])]
        simulate(machine, spec.scenario.duration, sinks)
    report = simulation_report(machine, stats)
    report.timeline = timeline
    report.warnings.extend(scratch.warnings)
    if unraised and not drop_softirqs:
        names = ", ".join(f"{SOFTIRQ_NAMES[v] if 0 <= v < len(SOFTIRQ_NAMES) else v} "
                          f"{ns / 1e3:.1f} us" for v, ns in sorted(unraised.items()))
        report.warnings.append(ReportWarning(
            "softirqs_not_replayed", None, None,
            f"softirq work raised outside any traced hard IRQ is not replayed: {names}"))
    report.skipped_lines = scratch.skipped_lines
    write_pictures(report, html_path, png_dir)
    show(report, as_json, hist, hdr_path)


COMMANDS.append(replay)
