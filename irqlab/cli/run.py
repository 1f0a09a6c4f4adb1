"""``irqlab run``, ``irqlab validate`` and ``irqlab scenarios``."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from irqlab.cli.errors import InputError
from irqlab.units import UnitError, parse_duration


def _load(ref: str) -> tuple[Any, dict[str, object]]:
    from irqlab.scenario.loader import ScenarioError, load

    try:
        return load(ref)
    except ScenarioError as exc:
        raise InputError(str(exc)) from None


def _build(ref: str, spec: Any, seed: int | None) -> Any:
    from irqlab.machine.build import BuildError, build
    from irqlab.machine.driver import HandlerLoadError

    try:
        return build(spec, seed)
    except (BuildError, HandlerLoadError) as exc:
        raise InputError(str(exc), source=ref) from None


@click.command()
@click.argument("scenario", default="default")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--duration", "duration", default=None, help="Simulated time, e.g. 50ms (default: the scenario's).")
@click.option("--events", "max_events", type=click.IntRange(min=1), default=None,
              help="Stop after this many simulator events.")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the event trace in ftrace text format.")
@click.option("--chrome", "chrome_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write a Chrome trace-event JSON (opens in ui.perfetto.dev).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def run(scenario: str, seed: int | None, duration: str | None, max_events: int | None,
        trace_path: str | None, chrome_path: str | None, as_json: bool) -> None:
    """Simulate SCENARIO (a built-in name or a TOML file; default: 'default')."""
    from irqlab.analysis.irqstats import IrqStats
    from irqlab.machine.run import simulate
    from irqlab.report.text import render_text
    from irqlab.runner import simulation_report
    from irqlab.sim.progress import run_progress

    spec, extras = _load(scenario)
    try:
        duration_ns = parse_duration(duration) if duration is not None else spec.scenario.duration
    except UnitError as exc:
        raise InputError(f"--duration: {exc}") from None
    if "experiment" in extras:
        from irqlab.experiments import run_experiment

        report = run_experiment(spec, extras["experiment"], seed, duration_ns)
    else:
        machine = _build(scenario, spec, seed)
        stats = IrqStats(spec.machine.cpus)
        sinks: list[Any] = [stats]
        with ExitStack() as stack:
            try:
                if trace_path:
                    from irqlab.report.ftrace import FtraceTextWriter

                    sinks.append(stack.enter_context(_closing(FtraceTextWriter(trace_path, spec.machine.cpus))))
                if chrome_path:
                    from irqlab.report.chrome import ChromeTraceWriter

                    sinks.append(stack.enter_context(_closing(ChromeTraceWriter(chrome_path, spec.machine.cpus))))
            except OSError as exc:
                raise InputError(f"cannot write {exc.filename}: {exc.strerror}") from None
            with run_progress(duration_ns) as progress:
                simulate(machine, duration_ns, sinks, max_events=max_events, progress=progress)
        report = simulation_report(machine, stats)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=False))
    else:
        click.echo(render_text(report))


class _closing:
    """Context manager closing a trace writer even when the run fails."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def __enter__(self) -> Any:
        return self.writer

    def __exit__(self, *exc: object) -> None:
        self.writer.close()


@click.command()
@click.argument("scenario")
def validate(scenario: str) -> None:
    """Check SCENARIO without running it."""
    spec, extras = _load(scenario)
    if "experiment" not in extras:
        _build(scenario, spec, None)
    click.echo(f"{scenario}: ok ({spec.machine.arch}, {spec.machine.cpus} CPU(s), "
               f"{len(spec.device)} device(s), {len(spec.fault)} fault(s))")


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
@click.option("--chrome", "chrome_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write a Chrome trace-event JSON of the replayed run.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def replay(trace_file: Path, scenario_ref: str | None, seed: int | None, chrome_path: str | None,
           as_json: bool) -> None:
    """Drive the simulator with the arrivals and handler costs of a real trace."""
    from irqlab.analysis.arrivals import arrivals
    from irqlab.analysis.irqstats import IrqStats
    from irqlab.analysis.report import Report
    from irqlab.cli.report import detect, trace_events
    from irqlab.machine.run import simulate
    from irqlab.observe.tracefile import FTRACE, IRQLAB_TRACE
    from irqlab.report.text import render_text
    from irqlab.runner import simulation_report
    from irqlab.scenario.replay import replay_scenario

    fmt = detect(trace_file)
    if fmt not in (FTRACE, IRQLAB_TRACE):
        raise InputError(f"{trace_file}: is a {fmt} snapshot, not a trace (use irqlab trace or ftrace text)")
    scratch = Report(source="trace", cpus=1)
    cpus, events = trace_events(trace_file, fmt, scratch)
    traced = arrivals(events)
    if not any(label.isdigit() and a.times_ns for label, a in traced.items()):
        raise InputError(f"{trace_file}: no device interrupts (irq_handler_entry) to replay")
    base = _load(scenario_ref)[0] if scenario_ref else None
    spec = replay_scenario(base, traced, cpus, str(trace_file))
    machine = _build(scenario_ref or str(trace_file), spec, seed)
    stats = IrqStats(spec.machine.cpus)
    sinks: list[Any] = [stats]
    with ExitStack() as stack:
        if chrome_path:
            from irqlab.report.chrome import ChromeTraceWriter

            sinks.append(stack.enter_context(_closing(ChromeTraceWriter(chrome_path, spec.machine.cpus))))
        simulate(machine, spec.scenario.duration, sinks)
    report = simulation_report(machine, stats)
    report.warnings.extend(scratch.warnings)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_text(report))


COMMANDS.append(replay)
