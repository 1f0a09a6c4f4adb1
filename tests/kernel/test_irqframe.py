"""The common interrupt path's state machine (kernel.dispatch.IrqFrame) against
the generator path it stands in for (softirqs on exit included): the same run,
byte for byte.

An interrupt that finds a CPU's frame and its inner frame busy runs through
``ivt_handle_interrupt`` (the deeply nested case), so holding all frames busy
runs the machine on the generator path alone."""

from __future__ import annotations

import io

import pytest

from irqlab.machine.build import build
from irqlab.machine.run import simulate
from irqlab.report.ftrace import FtraceTextWriter
from irqlab.scenario.loader import load


def trace(scenario: str, frames: bool) -> tuple[str, bool, bool]:
    """The ftrace text of 20 ms of ``scenario``, and whether an outer frame and
    whether an inner frame took an interrupt."""
    spec, _ = load(scenario)
    m = build(spec)
    k = m.kernel
    outer = list(k.irq_frames)
    inner = [frame.inner for frame in outer if frame.inner is not None]
    for frame in outer + inner:
        frame.busy = not frames
        frame.vector = -2  # enter() sets the vector taken (or -1 until acknowledged)
    out = io.StringIO()
    writer = FtraceTextWriter(out, spec.machine.cpus)
    simulate(m, 20_000_000, [writer])
    writer.close()
    return (out.getvalue(), any(frame.vector != -2 for frame in outer),
            any(frame.vector != -2 for frame in inner))


@pytest.mark.parametrize("scenario", ["default", "gic-arm64", "shared-line-storm",
                                      "threaded-irq", "softirq-overload", "rss-skew"])
def test_the_frame_and_the_generator_give_the_same_run(scenario: str) -> None:
    framed, used, _ = trace(scenario, frames=True)
    generic, unused, inner_unused = trace(scenario, frames=False)
    assert framed.count("irq_handler_entry") > 20, "the trace must hold a real run"
    assert used and not unused and not inner_unused
    assert framed == generic


def test_an_interrupt_during_softirqs_on_exit_takes_the_inner_frame() -> None:
    """The outer frame runs the softirqs pending on exit with interrupts
    enabled; an interrupt then nests, on the inner frame."""
    framed, used, inner_used = trace("softirq-overload", frames=True)
    assert "softirq_entry" in framed
    assert used and inner_used
