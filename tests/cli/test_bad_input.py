"""Hostile input to every command: each bad input is one clear error naming the
file, line, field or option, with exit status 2 (130 after Ctrl-C), and never
a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from irqlab.cli import cli
from irqlab.cli import observe as observe_cli
from irqlab.cli import triage as triage_cli
from irqlab.observe.tracefs import TracefsError

REPO = Path(__file__).resolve().parents[2]

MSIX = """
[[device]]
name = "nic"
kind = "msix"
"""

TRACE_HEADER = "# irqlab-trace v1\n# cpus: {cpus}\n# clock: mono\n"
TRACE_EVENTS = "1000 0 irq_entry 24 0 nic\n2000 0 irq_exit 24 1 \n"

FTRACE = """# tracer: nop
#
          <idle>-0       [{cpu}] d.h1.   100.000001: irq_handler_entry: irq=24 name=eth0
          <idle>-0       [{cpu}] d.h1.   100.000002: irq_handler_exit: irq=24 ret=handled
"""

PROC_INTERRUPTS = """           CPU0       CPU1
 24:        100        200   PCI-MSI 524288-edge      eth0
LOC:       1000       1000   Local timer interrupts
"""


def invoke(*args: str) -> Result:
    res = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def scenario(tmp_path: Path, text: str, name: str = "s.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def error(res: Result) -> str:
    """The one ``Error:`` line of a failed command (usage lines aside)."""
    assert res.exit_code == 2, res.output
    [line] = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    return line


# -- scenario files ------------------------------------------------------------------
def test_binary_file_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(b"\x80\xff\x00garbage")
    line = error(invoke("validate", str(path)))
    assert line == f"Error: {path}: not a TOML text file (byte 0x80 at offset 0 is not UTF-8)"


def test_directory_instead_of_a_scenario_file(tmp_path: Path) -> None:
    folder = tmp_path / "d.toml"
    folder.mkdir()
    assert error(invoke("run", str(folder))) == f"Error: {folder}: cannot read: Is a directory"


def test_empty_scenario_name() -> None:
    line = error(invoke("validate", ""))
    assert line.startswith("Error: no scenario given: expected a TOML file or a built-in name (")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("duration", '"1e999s"', "exceeds the 64-bit nanosecond clock"),
    ("duration", '"-5ms"', "got '-5ms'"),
    ("duration", '"0ns"', "expected a time above zero"),
    ("duration", "5", "expected a duration with a unit"),
])
def test_bad_scenario_duration_names_the_field(tmp_path: Path, key: str, value: str,
                                               expected: str) -> None:
    path = scenario(tmp_path, f"[scenario]\n{key} = {value}\n")
    line = error(invoke("validate", path))
    assert line.startswith(f"Error: {path}: scenario.duration: ") and expected in line


def test_zero_rate_names_the_field(tmp_path: Path) -> None:
    path = scenario(tmp_path, MSIX + 'arrival = { kind = "poisson", rate = "0/s" }\n')
    line = error(invoke("validate", path))
    assert line.startswith(f"Error: {path}: device[0].arrival.rate: ") and "'0/s'" in line


def test_whole_scenario_errors_name_the_field_without_a_placeholder(tmp_path: Path) -> None:
    path = scenario(tmp_path, MSIX + "cpu = -1\n")
    assert error(invoke("validate", path)) == \
        f"Error: {path}: device 'nic': cpu -1 is not one of the 2 CPUs"


@pytest.mark.parametrize(("cpus", "count"), [("[]", 0), ("[0, 1, 0]", 3)])
def test_cpu_list_must_give_one_cpu_or_one_per_vector(tmp_path: Path, cpus: str, count: int) -> None:
    path = scenario(tmp_path, MSIX + f"vectors = 2\ncpu = {cpus}\n")
    assert error(invoke("validate", path)) == (
        f"Error: {path}: device[0].cpu: {count} CPUs for 2 vector(s) "
        "(give one CPU, or one per vector)")


def test_uniform_cost_with_min_above_max(tmp_path: Path) -> None:
    path = scenario(tmp_path, MSIX + 'handler = { cost = { dist = "uniform", min = "5us", '
                                     'max = "1us" } }\n')
    assert error(invoke("validate", path)) == f"Error: {path}: device[0].handler.cost: min is above max"


def test_replay_cost_without_values(tmp_path: Path) -> None:
    path = scenario(tmp_path, MSIX + 'handler = { thread = { dist = "replay", values = [] } }\n')
    assert error(invoke("validate", path)) == \
        f"Error: {path}: device[0].handler.thread: replay needs at least one value"


def test_spurious_fault_on_a_cpu_the_machine_lacks(tmp_path: Path) -> None:
    path = scenario(tmp_path, '[[fault]]\nkind = "spurious"\nrate = "1k/s"\ncpu = 7\n')
    assert error(invoke("run", path, "--duration", "1ms")) == \
        f"Error: {path}: fault[0].cpu: CPU 7 is not one of the 2 CPUs"


def test_stuck_line_on_an_msix_device(tmp_path: Path) -> None:
    path = scenario(tmp_path, MSIX + '[[fault]]\nkind = "stuck-line"\ndevice = "nic"\n')
    line = error(invoke("validate", path))
    assert line.startswith(f"Error: {path}: fault[0]: stuck-line needs a line device; 'nic'")


# -- machines the hardware cannot have ---------------------------------------------------
def test_conflicting_vectors(tmp_path: Path) -> None:
    path = scenario(tmp_path, MSIX + "vector = 0x30\n" + MSIX.replace("nic", "disk") + "vector = 0x30\n")
    assert error(invoke("validate", path)) == \
        f"Error: {path}: device 'disk': vector 0x30 on CPU 0 is already in use"


def test_shared_line_with_mismatched_triggers_gives_the_kernels_flags_mismatch(tmp_path: Path) -> None:
    text = "".join(f'[[device]]\nname = "{n}"\nline = 17\nshared = true\ntrigger = "{t}"\n'
                   for n, t in (("a", "level"), ("b", "edge")))
    path = scenario(tmp_path, text)
    assert error(invoke("validate", path)) == (
        f"Error: {path}: device 'b': request_irq(17) failed: -EBUSY: Flags mismatch irq 17. "
        "00200081 (b) vs. 00200084 (a) ('a' is level-triggered and 'b' edge-triggered: "
        "a shared line has one trigger type)")


def test_line_taken_without_shared(tmp_path: Path) -> None:
    text = "".join(f'[[device]]\nname = "{n}"\nline = 17\n' for n in ("a", "b"))
    line = error(invoke("validate", scenario(tmp_path, text)))
    assert line.endswith("Flags mismatch irq 17. 00200004 (b) vs. 00200004 (a) "
                         "(line 17 is also 'a': both need shared = true)")


def test_nvic_with_two_cpus(tmp_path: Path) -> None:
    path = scenario(tmp_path, '[machine]\narch = "armv7m"\ncpus = 2\n')
    assert error(invoke("validate", path)) == f"Error: {path}: machine.cpus: a Cortex-M has one core, got 2"


def test_msix_on_armv7m(tmp_path: Path) -> None:
    path = scenario(tmp_path, '[machine]\narch = "armv7m"\ncpus = 1\n' + MSIX)
    assert error(invoke("validate", path)) == f"Error: {path}: device 'nic': a Cortex-M has no MSI"


@pytest.mark.parametrize("line", [20, 1020])
def test_gic_line_outside_the_spi_range(tmp_path: Path, line: int) -> None:
    path = scenario(tmp_path, f'[machine]\narch = "arm64"\n[[device]]\nname = "n"\nline = {line}\n')
    assert error(invoke("validate", path)) == \
        f"Error: {path}: device 'n': line {line} is not a GIC SPI (32-1019)"


def test_nvic_line_beyond_the_cores_irqs(tmp_path: Path) -> None:
    path = scenario(tmp_path, '[machine]\narch = "armv7m"\ncpus = 1\ncore = "cortex-m0"\n'
                              '[[device]]\nname = "n"\nline = 40\n')
    assert error(invoke("validate", path)) == \
        f"Error: {path}: device 'n': line 40 is not an IRQn of a cortex-m0 (0-31)"


def test_prigroup_on_armv6m(tmp_path: Path) -> None:
    path = scenario(tmp_path, '[machine]\narch = "armv7m"\ncpus = 1\ncore = "cortex-m0"\nprigroup = 3\n')
    assert "machine: NVIC prigroup: cortex-m0 (ARMv6-M) has no PRIGROUP field" in error(invoke("validate", path))


def test_infinite_cortex_m_clock(tmp_path: Path) -> None:
    path = scenario(tmp_path, '[machine]\narch = "armv7m"\ncpus = 1\nclock_mhz = inf\n')
    assert error(invoke("validate", path)) == \
        f"Error: {path}: machine.clock_mhz: expected a finite number, got inf"


# -- numbers and shapes at their extremes -------------------------------------------------
@pytest.mark.parametrize(("arrival", "field", "expected"), [
    # the mean gap (1e309 ns) overflowed the clock: OverflowError
    ('{ kind = "poisson", rate = "1e-300/s" }', "device[0].arrival.rate",
     "slower than one event in 292 years"),
    # a gap beyond 2**63 ns cannot be scheduled either
    ('{ kind = "poisson", rate = "1e-11/s" }', "device[0].arrival.rate",
     "slower than one event in 292 years"),
    # each gap walked through ~1e13 bursts: a hang
    ('{ kind = "bursty", rate = "1e-4/s", on = "1ms", off = "1ms" }', "device[0].arrival",
     "below one arrival per 1,000,000 bursts"),
])
def test_rates_the_clock_cannot_hold(tmp_path: Path, arrival: str, field: str, expected: str) -> None:
    path = scenario(tmp_path, MSIX + f"arrival = {arrival}\n")
    for command in ("validate", "run"):
        line = error(invoke(command, path))
        assert line.startswith(f"Error: {path}: {field}: ") and expected in line


def test_spurious_fault_rate_the_clock_cannot_hold(tmp_path: Path) -> None:
    path = scenario(tmp_path, '[[fault]]\nkind = "spurious"\nrate = "1e-300/s"\n')
    line = error(invoke("run", path))
    assert line.startswith(f"Error: {path}: fault[0].rate: ")


@pytest.mark.parametrize("kind", ["{ a = 1 }", "[1, 2]", "3"])
def test_experiment_kind_that_is_not_a_name(tmp_path: Path, kind: str) -> None:
    path = scenario(tmp_path, f"[experiment]\nkind = {kind}\n")
    for command in ("validate", "run"):
        line = error(invoke(command, path))
        assert "experiment.kind: expected one of 'receive-livelock', 'moderation', 'vm-injection', got" in line


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a=" * 3000 + "1" + "}" * 3000])
def test_deep_nesting_is_refused_by_validate_and_run(tmp_path: Path, value: str) -> None:
    path = scenario(tmp_path, f"x = {value}\n")
    for command in ("validate", "run"):
        assert error(invoke(command, path)) == \
            f"Error: {path}: not valid TOML: arrays or tables nested more than 32 deep"


def test_an_integer_of_thousands_of_digits_is_refused(tmp_path: Path) -> None:
    """tomllib hands the digits to int(), which refuses more than 4,300 of them."""
    path = scenario(tmp_path, "x = " + "9" * 5000 + "\n")
    for command in ("validate", "run"):
        assert error(invoke(command, path)) == \
            f"Error: {path}: not valid TOML: an integer far outside TOML's 64-bit range"


def test_nesting_the_parser_survives_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = scenario(tmp_path, MSIX + "handler = " + "{a=" * 40 + "1" + "}" * 40 + "\n")
    line = error(invoke("validate", path))
    assert line.startswith(f"Error: {path}: device[0].handler.a.a.a.")
    assert line.endswith(": arrays or tables nested more than 32 deep")


def test_drop_eoi_on_a_cortex_m_is_refused_with_the_reason(tmp_path: Path) -> None:
    """The NVIC has no EOI register: the exception return ends the interrupt."""
    path = scenario(tmp_path, '[machine]\narch = "armv7m"\ncpus = 1\n[[device]]\nname = "uart"\n'
                              'line = 3\n[[fault]]\nkind = "drop-eoi"\ndevice = "uart"\n')
    for command in ("validate", "run"):
        line = error(invoke(command, path))
        assert line.startswith(f"Error: {path}: fault[0]: drop-eoi has no meaning on a Cortex-M")
        assert "exception return" in line


@pytest.mark.parametrize(("text", "expected"), [
    # several problems: one line, each named
    ('[machine]\nsave_cost = -1\nrestore_cost = "nan"\n',
     "machine.save_cost: expected a duration with a unit such as '1.5us' or '10ms', got -1; "
     "machine.restore_cost: expected a duration with a unit (ns, us, ms, s) such as '1.5us', got 'nan'"),
    # an int-or-list field complains once
    (MSIX + "cpu = nan\n", "device[0].cpu: Input should be a finite number, got nan"),
    (MSIX + "vector = 1.5\n", "device[0].vector: Input should be a valid integer, got a number "
                              "with a fractional part, got 1.5"),
])
def test_every_problem_on_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = scenario(tmp_path, text)
    res = invoke("validate", path)
    assert res.output == f"Error: {path}: {expected}\n"


def test_many_problems_are_counted_not_listed(tmp_path: Path) -> None:
    path = scenario(tmp_path, "".join(f'[[device]]\nname = "d{i}"\nkind = "msix"\nvectors = 0\n'
                                      for i in range(10)))
    line = error(invoke("validate", path))
    assert line.count("vectors: Input should be greater than or equal to 1") == 3
    assert line.endswith(" (and 7 more)")


@pytest.mark.parametrize(("text", "field"), [
    ("[scenario]\nduration = \"1e30s\"\n", "scenario.duration"),
    ("[machine]\ncpus = 9223372036854775808\n", "machine.cpus"),
    (MSIX + "vectors = 9223372036854775807\n", "device[0].vectors"),
    (MSIX + 'arrival = { kind = "periodic", period = "0ns" }\n', "device 'nic': arrival: period"),
    (MSIX + 'arrival = { kind = "replay", times = ["-1ns"] }\n', "device[0].arrival.times[0]"),
    (MSIX + "handler = { batch = -1 }\n", "device[0].handler.batch"),
    ('[machine]\narch = "armv7m"\ncpus = 1\nclock_mhz = 1e308\n', "machine.clock_mhz"),
])
def test_numeric_extremes_are_errors(tmp_path: Path, text: str, field: str) -> None:
    path = scenario(tmp_path, text)
    line = error(invoke("run", path, "--duration", "1ms"))
    assert line.startswith(f"Error: {path}: {field}")


# -- Python handlers: run only with consent, only from the scenario's folder ----------------
MARKER_DRIVER = """\
import pathlib
pathlib.Path(__file__).with_suffix(".imported").write_text("imported")

def isr(ctx):
    return 1
"""


def driver_scenario(tmp_path: Path, ref: str = "irqlab_test_driver:isr", extra: str = "") -> str:
    """A scenario naming ``ref``, and the driver file, which leaves a mark when executed."""
    (tmp_path / "irqlab_test_driver.py").write_text(MARKER_DRIVER)
    return scenario(tmp_path, MSIX + f'handler = {{ python = "{ref}" }}\n' + extra)


def test_validate_checks_the_handler_file_without_importing_it(tmp_path: Path) -> None:
    path = driver_scenario(tmp_path)
    res = invoke("validate", path)
    assert res.output == (f"{path}: ok (x86, 2 CPU(s), 1 device(s), 0 fault(s), 1 Python handler(s): "
                          "run with --allow-code)\n")
    assert not (tmp_path / "irqlab_test_driver.imported").exists()


def test_validate_never_imports_an_installed_module(tmp_path: Path) -> None:
    """``this:s`` used to import the standard library's ``this`` (printing the Zen of Python)."""
    path = scenario(tmp_path, MSIX + 'handler = { python = "this:s" }\n')
    res = invoke("validate", path)
    assert "Beautiful is better" not in res.output
    assert error(res) == f"Error: {path}: device[0].handler.python: 'this:s': no file {tmp_path / 'this.py'}"


def test_run_without_consent_names_file_field_and_flag(tmp_path: Path) -> None:
    path = driver_scenario(tmp_path)
    line = error(invoke("run", path, "--duration", "1ms"))
    assert line == (f"Error: {path}: device[0].handler.python: 'irqlab_test_driver:isr' runs code "
                    f"from {tmp_path / 'irqlab_test_driver.py'}; pass --allow-code (or set "
                    "IRQLAB_ALLOW_CODE=1) to run it")
    assert not (tmp_path / "irqlab_test_driver.imported").exists()


@pytest.fixture(autouse=True)
def _no_consent_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRQLAB_ALLOW_CODE", raising=False)


def test_run_with_consent_loads_the_file_and_leaves_sys_path_alone(tmp_path: Path) -> None:
    path = driver_scenario(tmp_path)
    before = list(sys.path)
    res = invoke("run", path, "--duration", "1ms", "--allow-code")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "irqlab_test_driver.imported").exists()
    assert sys.path == before
    assert "irqlab_test_driver" not in sys.modules


def test_consent_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRQLAB_ALLOW_CODE", "1")
    res = invoke("run", driver_scenario(tmp_path), "--duration", "1ms")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "irqlab_test_driver.imported").exists()


def test_consent_variable_other_than_a_boolean_is_refused(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRQLAB_ALLOW_CODE", "maybe")
    line = error(invoke("run", driver_scenario(tmp_path), "--duration", "1ms"))
    assert "IRQLAB_ALLOW_CODE" in line and "'maybe'" in line
    assert not (tmp_path / "irqlab_test_driver.imported").exists()


def test_handler_file_in_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "drivers").mkdir()
    (tmp_path / "drivers" / "nic.py").write_text("def isr(ctx):\n    return 1\n")
    path = scenario(tmp_path, MSIX + 'handler = { python = "drivers/nic.py:isr" }\n')
    assert invoke("validate", path).exit_code == 0
    res = invoke("run", path, "--duration", "1ms", "--allow-code")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(("ref", "expected"), [
    ("../outside.py:isr", "the file must be in the scenario's folder or below it"),
    ("/etc/passwd.py:isr", "the file must be in the scenario's folder or below it"),
    ("os.path:join", "expected 'file:function'"),
    ("irqlab_test_driver", "expected 'file:function'"),
])
def test_handler_reference_outside_the_folder_or_malformed(tmp_path: Path, ref: str,
                                                          expected: str) -> None:
    path = driver_scenario(tmp_path, ref)
    for args in (["validate", path], ["run", path, "--allow-code"]):
        line = error(invoke(*args))
        assert line.startswith(f"Error: {path}: device[0].handler.python: ") and expected in line


def test_handler_function_missing_from_its_file(tmp_path: Path) -> None:
    path = driver_scenario(tmp_path, "irqlab_test_driver:nosuch")
    line = error(invoke("run", path, "--allow-code"))
    assert line == (f"Error: {path}: device[0].handler.python: 'irqlab_test_driver:nosuch': "
                    f"{tmp_path / 'irqlab_test_driver.py'} has no function 'nosuch'")


def test_handler_file_that_fails_to_load_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def isr(ctx:\n    return 1\n")
    path = scenario(tmp_path, MSIX + 'handler = { python = "broken:isr" }\n')
    line = error(invoke("run", path, "--allow-code"))
    assert line.startswith(f"Error: {path}: device[0].handler.python: {tmp_path / 'broken.py'}: "
                           "cannot load: SyntaxError")


def test_replay_on_a_scenario_with_code_needs_consent(tmp_path: Path) -> None:
    trace = tmp_path / "t.txt"
    trace.write_text(FTRACE.format(cpu="000"))
    path = driver_scenario(tmp_path, extra="")
    line = error(invoke("replay", str(trace), "--scenario", path))
    assert line.startswith(f"Error: {path}: device[0].handler.python: ") and "--allow-code" in line
    res = invoke("replay", str(trace), "--scenario", path, "--allow-code")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "irqlab_test_driver.imported").exists()


def test_experiment_with_a_python_handler_needs_consent(tmp_path: Path) -> None:
    """An experiment builds many machines, each running the scenario's code."""
    (tmp_path / "irqlab_test_driver.py").write_text(MARKER_DRIVER)
    text = (REPO / "irqlab/scenario/builtin/moderation.toml").read_text()
    path = scenario(tmp_path, text.replace("[experiment]", '[[device]]\nname = "disk"\nkind = "msix"\n'
                                           'handler = { python = "irqlab_test_driver:isr" }\n\n'
                                           "[experiment]", 1))
    for command in ("validate", "run"):
        res = invoke(command, path)
        assert not (tmp_path / "irqlab_test_driver.imported").exists()
    line = error(res)
    assert line.startswith(f"Error: {path}: device[1].handler.python: ") and "--allow-code" in line


def test_python_handler_that_raises_is_a_run_warning(tmp_path: Path) -> None:
    (tmp_path / "irqlab_test_raising_driver.py").write_text(
        "def isr(ctx):\n    raise ValueError('driver bug')\n")
    path = scenario(tmp_path, MSIX + 'handler = { python = "irqlab_test_raising_driver:isr" }\n'
                                     'arrival = { kind = "periodic", period = "100us" }\n')
    res = invoke("run", path, "--duration", "1ms", "--json", "--allow-code")
    assert res.exit_code == 0, res.output
    kinds = {w["kind"]: w["message"] for w in json.loads(res.output)["warnings"]}
    assert "raised ValueError: driver bug" in kinds["handler-exception"]


# -- irqlab run options ------------------------------------------------------------------
def test_events_zero() -> None:
    assert "'--events': 0 is not in the range x>=1" in error(invoke("run", "--events", "0"))


def test_negative_seed_is_a_reproducible_seed() -> None:
    a = invoke("run", "--seed", "-1", "--duration", "2ms", "--json")
    b = invoke("run", "--seed", "-1", "--duration", "2ms", "--json")
    assert a.exit_code == 0 and json.loads(a.output)["seed"] == -1
    assert a.output == b.output


@pytest.mark.parametrize(("value", "expected"), [
    ("0ns", "expected a time above zero, got '0ns'"),
    ("1e999s", "exceeds the 64-bit nanosecond clock"),
    ("-5ms", "got '-5ms'"),
    ("0/s", "got '0/s'"),
])
def test_bad_run_duration(value: str, expected: str) -> None:
    line = error(invoke("run", "--duration", value))
    assert line.startswith("Error: --duration: ") and expected in line


def test_trace_into_a_missing_directory_fails_before_the_run(tmp_path: Path) -> None:
    target = tmp_path / "nodir" / "x"
    line = error(invoke("run", "--trace", str(target)))
    assert f"cannot write {target}: directory {target.parent} does not exist" in line


def test_chrome_into_an_unwritable_file_names_the_option(tmp_path: Path) -> None:
    line = error(invoke("run", "--duration", "1ms", "--chrome", "/proc/version"))
    assert "--chrome" in line and "/proc/version" in line


def test_output_to_a_directory() -> None:
    assert "is a directory" in error(invoke("run", "--chrome", "/"))


def test_experiment_refuses_single_machine_options(tmp_path: Path) -> None:
    line = error(invoke("run", "receive-livelock", "--trace", str(tmp_path / "t")))
    assert line == ("Error: receive-livelock is an experiment of many runs: --trace applies to "
                    "a single machine")


def test_bad_experiment_table_is_found_by_validate(tmp_path: Path) -> None:
    text = (REPO / "irqlab/scenario/builtin/moderation.toml").read_text()
    path = scenario(tmp_path, text.replace("[experiment]\n", "[experiment]\nbogus = 1\n"))
    line = error(invoke("validate", path))
    assert line.startswith(f"Error: {path}: ") and "experiment.bogus: unknown key" in line


def test_experiment_shorter_than_its_warmup(tmp_path: Path) -> None:
    line = error(invoke("run", "receive-livelock", "--duration", "1ms"))
    assert "device 'eth0': nic.warmup" in line and "not shorter than the run" in line


def test_ctrl_c_stops_a_long_run_with_status_130(tmp_path: Path) -> None:
    chrome = tmp_path / "run.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "irqlab", "run", "--duration", "100s", "--chrome", str(chrome)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:  # the run has started
        time.sleep(0.05)  # (writing the chrome trace to a temporary file, renamed when complete)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert out == "" and "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("Interrupted: stopped by Ctrl-C at ") and line.endswith(
        " of 100s simulated time")
    assert json.loads(chrome.read_text())["traceEvents"]  # closed: a complete document


# -- irqlab replay --------------------------------------------------------------------------
def test_replay_on_an_experiment(tmp_path: Path) -> None:
    trace = scenario(tmp_path, FTRACE.format(cpu="000"), "t.txt")
    assert error(invoke("replay", trace, "--scenario", "moderation")) == \
        "Error: --scenario moderation: is an experiment of many runs, not one machine to replay on"


def test_replay_of_more_cpus_than_the_simulator_has(tmp_path: Path) -> None:
    trace = scenario(tmp_path, FTRACE.format(cpu="299"), "t.txt")
    line = error(invoke("replay", trace))
    assert line.startswith(f"Error: {trace}: cannot replay: machine.cpus: ") and "got 300" in line


def test_replay_of_a_malformed_trace_names_the_line(tmp_path: Path) -> None:
    """A damaged line is skipped (issue 10 section 6), named in one stderr line."""
    trace = scenario(tmp_path, TRACE_HEADER.format(cpus=1) + TRACE_EVENTS + "garbage\n", "t.trace")
    res = invoke("replay", trace)
    assert res.exit_code == 0
    assert res.stderr == f"irqlab: {trace}: skipped 1 damaged line (first: line 6, expected " \
        "'ts_ns cpu kind irq value name', got 'garbage')\n"


def test_replay_on_a_binary_scenario(tmp_path: Path) -> None:
    trace = scenario(tmp_path, FTRACE.format(cpu="000"), "t.txt")
    bad = tmp_path / "s.toml"
    bad.write_bytes(b"\xff\xfe")
    assert "not a TOML text file" in error(invoke("replay", trace, "--scenario", str(bad)))


# -- irqlab report ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf"])
def test_report_interval_must_be_finite(tmp_path: Path, value: str) -> None:
    snap = scenario(tmp_path, PROC_INTERRUPTS, "a.txt")
    assert "expected a finite number" in error(invoke("report", snap, snap, "--interval", value))


def test_trace_header_with_absurd_cpu_count(tmp_path: Path) -> None:
    trace = scenario(tmp_path, TRACE_HEADER.format(cpus=99999999999) + TRACE_EVENTS, "t.trace")
    assert error(invoke("report", trace)) == (
        f"Error: {trace}: 99999999999 CPUs: more than any kernel has (NR_CPUS is at most 8192)")


def test_trace_event_on_an_absurd_cpu(tmp_path: Path) -> None:
    trace = scenario(tmp_path, TRACE_HEADER.format(cpus=2) + "1000 99999 irq_entry 24 0 nic\n",
                     "t.trace")
    assert "an event on CPU 99999" in error(invoke("report", trace))


def test_ftrace_with_an_absurd_cpu(tmp_path: Path) -> None:
    trace = scenario(tmp_path, FTRACE.format(cpu="99999999999"), "t.txt")
    assert "100000000000 CPUs: more than any kernel has" in error(invoke("report", trace))


def test_report_chrome_write_error_names_the_option(tmp_path: Path) -> None:
    trace = scenario(tmp_path, TRACE_HEADER.format(cpus=1) + TRACE_EVENTS, "t.trace")
    line = error(invoke("report", trace, "--chrome", "/proc/version"))
    assert "--chrome" in line and "/proc/version" in line and "cannot read" not in line


def test_same_trace_twice_names_the_second(tmp_path: Path) -> None:
    trace = scenario(tmp_path, TRACE_HEADER.format(cpus=1) + TRACE_EVENTS, "t.trace")
    assert error(invoke("report", trace, trace)).endswith(f"also given: {trace}")


# -- irqlab top and trace -----------------------------------------------------------------------
@pytest.mark.parametrize(("option", "value"), [("--interval", "nan"), ("--interval", "inf"),
                                               ("--threshold", "nan")])
def test_top_numbers_must_be_finite(option: str, value: str) -> None:
    assert "expected a finite number" in error(invoke("top", "--once", option, value))


@pytest.mark.parametrize("cpus", ["5-2", "0-99999999999"])
def test_top_cpu_list_out_of_order_or_beyond_nr_cpus(cpus: str) -> None:
    assert "expected CPUs in increasing order, below 8192" in error(invoke("top", "--once", "-c", cpus))


def test_top_cpu_the_machine_lacks(tmp_path: Path) -> None:
    (tmp_path / "interrupts").write_text(PROC_INTERRUPTS)
    res = invoke("top", "--once", "-d", "0.01", "--proc", str(tmp_path), "-c", "7")
    assert error(res) == f"Error: --cpu: CPU 7 is not in {tmp_path / 'interrupts'} (CPUs 0-1)"


def test_trace_duration_must_be_finite(tmp_path: Path) -> None:
    res = invoke("trace", "--duration", "nan", "-o", str(tmp_path / "t"))
    assert "expected a finite number" in error(res)


def test_trace_to_a_directory() -> None:
    assert "is a directory" in error(invoke("trace", "-o", "/"))


class _RefusedCapture:
    """A tracefs capture failing at setup as the kernel would."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __enter__(self) -> None:
        raise self.error

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(("refusal", "expected"), [
    (TracefsError("--events bogus: no event system 'bogus' in /sys/kernel/tracing/events"),
     "Error: --events bogus: no event system 'bogus' in /sys/kernel/tracing/events"),
    (OSError(12, "Cannot allocate memory"),
     "Error: --buffer-kb: the kernel cannot allocate 99999999 KiB per CPU: Cannot allocate memory"),
])
def test_trace_input_refused_by_tracefs_is_an_input_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: Exception, expected: str) -> None:
    monkeypatch.setattr(observe_cli, "Capture", lambda *a, **kw: _RefusedCapture(refusal))
    res = invoke("trace", "--duration", "0.1", "--buffer-kb", "99999999", "-o", str(tmp_path / "t"))
    assert error(res) == expected


# -- irqlab triage -----------------------------------------------------------------------------
def test_triage_of_a_directory(tmp_path: Path) -> None:
    res = invoke("triage", str(tmp_path))
    assert res.exit_code == 2 and f"Error: {tmp_path}: cannot read: Is a directory" in res.output


def test_ctrl_c_while_triage_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: object, path: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(triage_cli.Triage, "scan_path", interrupted)
    res = invoke("triage", "-")
    assert res.exit_code == 130
    assert res.output.strip().splitlines()[-1] == "Interrupted: stopped by Ctrl-C"
