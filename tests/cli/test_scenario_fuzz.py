"""Generated bad scenarios: every field given extreme numbers, wrong types and
deep or wide shapes.  ``irqlab validate`` (and a short ``irqlab run``) answer
each with success or one ``Error:`` line naming the file, exit status 2; never
a traceback, never a hang.

A small slice runs in the suite; ``IRQLAB_FUZZ_EXAMPLES=5000`` runs more.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irqlab.cli import cli

EXAMPLES = int(os.environ.get("IRQLAB_FUZZ_EXAMPLES", "60"))

#: Where a value can go: (TOML table header, key); the device has what every
#: fault needs, so each field is tried on its own.
FIELDS = [
    ("[scenario]", k) for k in ("duration", "seed")
] + [
    ("[machine]", k) for k in ("cpus", "hz", "entry_cost", "exit_cost", "save_cost", "restore_cost",
                               "eoi_mode", "clock_mhz", "prigroup", "irq_nesting", "os", "arch")
] + [
    ("[timer]", k) for k in ("cost", "softirq_cost", "enabled")
] + [
    ("[[device]]", k) for k in ("line", "vectors", "cpu", "vector", "priority", "trigger", "kind")
] + [
    ("[device.arrival]", k) for k in ("rate", "period", "phase", "on", "off", "times")
] + [
    ("[device.handler]", k) for k in ("cost", "batch", "softirq_cost", "thread", "tasklet_cost",
                                      "work_cost", "work_sleeps", "python")
] + [
    ("[[fault]]", k) for k in ("at", "rate", "extra", "cpu", "reason", "address")
]

NUMBERS = ["0", "-1", "1", "9223372036854775807", "-9223372036854775809", "18446744073709551616",
           "nan", "inf", "-inf", "1e308", "-0.0", "0.5", "1e-320"]
STRINGS = ['"0ns"', '"-1ns"', '"1e-300/s"', '"1e300/s"', '"9e9s"', '"1e400s"', '"nan"', '"inf s"',
           '"0.4ns"', '"1e-30/ns"', '""', '"x:y"', '"../x.py:f"', '"\\u0000"', '"' + "9" * 400 + 's"']
SHAPES = ["[]", "{}", "[1, 2]", "{ a = 1 }", "true", "1979-05-27T07:32:00Z",
          "[" * 40 + "]" * 40, "{a=" * 40 + "1" + "}" * 40, "[" + ", ".join(['"1us"'] * 5000) + "]"]
VALUES = st.sampled_from(NUMBERS + STRINGS + SHAPES)

ARRIVALS = ["poisson", "periodic", "bursty", "replay"]


DEVICE = '[[device]]\nname = "nic"\nkind = "line"\nline = 10\n'


def _scenario(table: str, key: str, value: str, arrival: str) -> str:
    """A valid scenario with ``key = value`` in ``table`` (replacing its own)."""
    text = {
        "[[device]]": DEVICE,
        "[device.arrival]": DEVICE + f'[device.arrival]\nkind = "{arrival}"\n',
        "[[fault]]": DEVICE + '[[fault]]\nkind = "slow-handler"\ndevice = "nic"\nextra = "1us"\n',
    }.get(table, DEVICE + f"{table}\n")
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
    return "\n".join(lines) + f"\n{key} = {value}\n"


def _check(args: list[str]) -> None:
    res = CliRunner().invoke(cli, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code in (0, 2), res.output
    if res.exit_code == 2:
        lines = res.output.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {args[1]}: "), res.output


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=VALUES, arrival=st.sampled_from(ARRIVALS))
def test_generated_bad_scenarios_are_one_line_or_ok(tmp_path: Path, field: tuple[str, str],
                                                    value: str, arrival: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(_scenario(*field, value, arrival))
    _check(["validate", str(path)])
    _check(["run", str(path), "--duration", "200us"])
