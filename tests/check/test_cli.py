"""``irqlab check``: exit status 0/1/2, consent, --json, --junit, --html, and
every bad input as one line naming the file, field or option."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from irqlab.check import CHECKS
from irqlab.cli import cli
from tests.check.conftest import EXAMPLES

GOOD = str(EXAMPLES / "good_rx.py")
EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:[a-z]+:)?//""", re.I)
BAD = str(EXAMPLES / "shared_liar.py")


def _check(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["check", *args], env=env or {"IRQLAB_ALLOW_CODE": None})


def _one_error_line(res: Result, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    for needle in needles:
        assert needle in lines[0]


def test_correct_driver_exits_0_with_a_checklist() -> None:
    res = _check(GOOD, "--allow-code")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert len(lines) == len(CHECKS) + 2
    for name in CHECKS:
        assert any(f"  {name} " in line for line in lines)
    assert lines[-1].startswith("passed: ")


def test_failing_driver_exits_1_and_json_keeps_the_contract() -> None:
    res = _check(BAD, "--allow-code", "--json")
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["passed"] is False
    assert [c["name"] for c in data["checks"]] == list(CHECKS)
    for c in data["checks"]:
        assert set(c) == {"name", "status", "verdict", "evidence"}
        assert c["status"] in ("pass", "warn", "fail")
        assert "\n" not in c["verdict"]
    assert {c["name"] for c in data["checks"] if c["status"] == "fail"} == {"shared-line", "spurious-call"}


def test_without_consent_the_driver_is_not_run() -> None:
    res = _check(GOOD)
    _one_error_line(res, GOOD, "--allow-code", "IRQLAB_ALLOW_CODE=1")


def test_consent_by_environment(tmp_path: Path) -> None:
    path = tmp_path / "drv.py"
    path.write_text("def handler(ctx:\n")
    _one_error_line(_check(str(path), env={"IRQLAB_ALLOW_CODE": "1"}), "SyntaxError")  # it ran
    _one_error_line(_check(str(path), env={"IRQLAB_ALLOW_CODE": "0"}), "--allow-code")


def test_junit_has_one_testcase_per_check_and_html_draws_the_evidence(tmp_path: Path) -> None:
    junit, page = tmp_path / "check.xml", tmp_path / "check.html"
    res = _check(BAD, "--allow-code", "--junit", str(junit), "--html", str(page))
    assert res.exit_code == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == list(CHECKS)
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["shared-line", "spurious-call"] and suite.get("failures") == "2"
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "shared-line" in text
    assert not EXTERNAL.search(text)  # self-contained: nothing loaded from elsewhere
    assert 'id="chart-hist-latency"' in text  # the nominal run's report follows the checklist


def test_budget_changes_the_verdict() -> None:
    res = _check(GOOD, "--allow-code", "--json", "--budget", "top=500ns")
    data = json.loads(res.output)
    assert res.exit_code == 1
    assert next(c for c in data["checks"] if c["name"] == "top-half-budget")["status"] == "fail"


@pytest.mark.parametrize(("args", "needles"), [
    (["--budget", "top=5"], ["--budget", "top", "'5'"]),
    (["--budget", "speed=5us"], ["--budget", "speed=5us"]),
    (["--budget", "top=0us"], ["--budget", "above zero"]),
    (["--os", "windows", "--platform", "arm64"], ["--os windows: windows runs on --platform x86, not arm64"]),
    (["--platform", "armv7m"], ["a Cortex-M has no MSI"]),  # sleeps_in_irq is MSI-X
    (["--platform", "riscv"], ["--platform: expected one of x86, arm64, armv7m, got 'riscv'"]),
    (["--os", "vxworks"], ["--os: expected one of linux, windows, freertos, got 'vxworks'"]),
])
def test_bad_options_are_one_line(args: list[str], needles: list[str]) -> None:
    driver = str(EXAMPLES / "sleeps_in_irq.py")
    _one_error_line(_check(driver, "--allow-code", *args), *needles)


@pytest.mark.parametrize(("text", "needles"), [
    ("def handler(ctx:\n", ["cannot load: SyntaxError", "line 1"]),
    ("import no_such_module_anywhere\n", ["cannot load: ModuleNotFoundError"]),
    ("x = 1\n", ["defines neither handler(ctx)"]),
    ("raise SystemExit(0)\n", ["cannot load: it called sys.exit(0)"]),
    ("def handler(ctx): return 1\nDEVICE = {'trigger': 'sideways'}\n",
     ["DEVICE: trigger: expected 'edge' or 'level'"]),
    ("def handler(ctx): return 1\nDEVICE = {'line': 3}\n", ["DEVICE.line: set by each check"]),
    ("def handler(ctx): return 1\nDEVICE = {'arrival': {'kind': 'none'}}\n",
     ["DEVICE.arrival: the checks need a nominal load"]),
    ("def handler(ctx): return 1\nFLAGS = 'oneshot'\n", ["FLAGS: expected IRQF_* bits"]),
])
def test_bad_drivers_are_one_line_naming_the_file(tmp_path: Path, text: str,
                                                   needles: list[str]) -> None:
    path = tmp_path / "drv.py"
    path.write_text(text)
    _one_error_line(_check(str(path), "--allow-code"), str(path), *needles)


def test_freertos_is_checked_once_the_simulator_builds_it() -> None:
    from irqlab.check.harness import hosts

    res = _check(GOOD, "--allow-code", "--os", "freertos", "--json")
    if not hosts("freertos"):
        _one_error_line(res, "--os freertos: not available yet")
        return
    assert hosts("freertos") == ["armv7m"]
    data = json.loads(res.output)
    assert res.exit_code == 0 and data["platform"] == "armv7m" and data["os"] == "freertos"
    _one_error_line(_check(GOOD, "--allow-code", "--os", "freertos", "--platform", "x86"),
                    "--os freertos: freertos runs on --platform armv7m, not x86")


def test_missing_driver_file() -> None:
    _one_error_line(_check("no/such/drv.py", "--allow-code"), "no/such/drv.py", "no such driver file")


def test_a_driver_that_raises_is_reported_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "drv.py"
    path.write_text("def handler(ctx):\n    raise KeyError('status')\n")
    res = _check(str(path), "--allow-code", "--json")
    assert res.exit_code == 1
    data = json.loads(res.output)
    spurious = next(c for c in data["checks"] if c["name"] == "spurious-call")
    assert spurious["status"] == "fail" and "KeyError" in spurious["verdict"]


def test_scenario_naming_its_handler_is_checked_on_its_machine() -> None:
    res = _check(str(EXAMPLES.parent / "my-driver.toml"), "--allow-code", "--json")
    assert res.exit_code == 1
    data = json.loads(res.output)
    sleep = next(c for c in data["checks"] if c["name"] == "sleep-in-atomic")
    assert sleep["status"] == "fail" and "my_driver.py:22 in rx_interrupt" in sleep["verdict"]


def test_scenario_machine_for_a_driver_and_its_contradictions() -> None:
    scenario = str(EXAMPLES.parent / "my-driver.toml")
    res = _check(GOOD, "--allow-code", "--json", "--scenario", scenario)
    data = json.loads(res.output)
    # the scenario's own sleeping driver is not the checked driver's bug
    assert next(c for c in data["checks"] if c["name"] == "sleep-in-atomic")["status"] == "pass"
    _one_error_line(_check(GOOD, "--allow-code", "--scenario", scenario, "--platform", "arm64"),
                    scenario, "--platform arm64 contradicts")


def test_same_seed_same_checklist() -> None:
    first = _check(GOOD, "--allow-code", "--json").output
    assert _check(GOOD, "--allow-code", "--json").output == first


class _Rows(HTMLParser):
    """Per row of the checklist table: its check name (the <code>) and svg count."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []
        self._code = False
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._in = ("class", "checklist") in attrs
        elif not self._in:
            return
        elif tag == "tr":
            self.rows.append({"name": "", "svg": 0})
        elif tag == "code":
            self._code = True
        elif tag == "svg" and self.rows:
            self.rows[-1]["svg"] = int(str(self.rows[-1]["svg"])) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._code = False
        elif tag == "table":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._code and self.rows:
            self.rows[-1]["name"] = str(self.rows[-1]["name"]) + data


def test_html_page_has_a_row_per_check_and_plots_the_timings(tmp_path: Path) -> None:
    page = tmp_path / "check.html"
    assert _check(str(EXAMPLES / "fat_top_half.py"), "--allow-code", "--html", str(page)).exit_code == 1
    parser = _Rows()
    parser.feed(page.read_text())
    rows = {str(r["name"]): r["svg"] for r in parser.rows}
    assert list(rows) == list(CHECKS)
    assert {name for name, svgs in rows.items() if svgs} == {
        "top-half-budget", "deferral", "flood", "nesting"}


def test_html_page_loads_in_a_browser_with_no_console_message(tmp_path: Path) -> None:
    from tests.report.browser import dump_dom

    page = tmp_path / "check.html"
    assert _check(GOOD, "--allow-code", "--html", str(page)).exit_code == 0
    dom, console = dump_dom(page)
    assert console == []
    parser = _Rows()
    parser.feed(dom)
    assert [r["name"] for r in parser.rows] == list(CHECKS)
