"""Each example driver gets its expected verdict: the correct one passes, each
classic bug fails exactly the checks that catch it, with its evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from irqlab.check import CHECKS
from tests.check.conftest import EXAMPLES, battery

EXPECTED_FAILS = {
    "good_rx": set(),
    "level_no_clear": {"level-ack", "flood"},
    "deaf_level": {"level-ack", "flood", "shared-line"},
    "sleeps_in_irq": {"sleep-in-atomic"},
    "shared_liar": {"shared-line", "spurious-call"},
    "fat_top_half": {"top-half-budget", "deferral", "flood", "nesting"},
    "threaded_no_oneshot": {"threaded-oneshot"},
    "racy_stats": {"concurrency"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILS))
def test_example_fails_exactly_its_checks(name: str) -> None:
    cl = battery(name)
    assert [c.name for c in cl.checks] == list(CHECKS)
    assert {c.name for c in cl.checks if c.status == "fail"} == EXPECTED_FAILS[name]
    assert cl.passed == (not EXPECTED_FAILS[name])


def _line_of(name: str, text: str) -> str:
    path = EXAMPLES / f"{name}.py"
    lines = path.read_text().splitlines()
    return f"{path.resolve()}:{next(i for i, line in enumerate(lines, 1) if text in line)}"


def test_level_handler_that_never_clears_shows_the_storm_and_where_to_clear() -> None:
    c = battery("level_no_clear")["level-ack"]
    assert c.evidence["clear_expected_in"] == _line_of("level_no_clear", "def handler")
    assert c.evidence["calls_per_request"] >= 10
    assert "interrupt storm" in c.verdict
    assert c.evidence["nobody_cared"] is False  # it says IRQ_HANDLED: Linux never disables it
    assert "99,900 of 100,000" in c.verdict


def test_level_handler_that_never_claims_its_interrupt_is_disabled_by_the_kernel() -> None:
    c = battery("deaf_level")["level-ack"]
    assert c.status == "fail" and c.evidence["nobody_cared"] is True
    assert 'irq 16: nobody cared (try booting with the "irqpoll" option)' in c.evidence["log"][0]
    assert c.evidence["log"][-1].endswith("Disabling IRQ #16")
    assert any(line.endswith("] handler [deaf_level]") for line in c.evidence["log"])
    assert c.evidence["calls"] >= 100_000  # spurious.c's full window
    assert "the kernel disabled the line" in c.verdict


def test_sleep_in_irq_names_the_call_and_its_line() -> None:
    c = battery("sleeps_in_irq")["sleep-in-atomic"]
    site = _line_of("sleeps_in_irq", "ctx.mutex_lock()")
    assert site in c.verdict and c.verdict.startswith("mutex_lock")
    assert list(c.evidence["sites"]) == [f"mutex_lock at {site} in handler"]
    assert c.evidence["count"] > 1000  # every call sleeps: the rate-limited ones are counted too


def test_shared_line_liar_is_caught_claiming_the_other_devices_interrupts() -> None:
    c = battery("shared_liar")["shared-line"]
    assert c.evidence["not_its_device"] > 100
    assert c.evidence["claimed_not_its_device"] == c.evidence["not_its_device"]
    good = battery("good_rx")["shared-line"]
    assert good.evidence["claimed_not_its_device"] == 0 and good.evidence["not_its_device"] > 100


def test_fat_top_half_is_over_budget_and_defers_nothing() -> None:
    cl = battery("fat_top_half")
    assert cl["top-half-budget"].evidence["p99_ns"] > cl["top-half-budget"].evidence["budget_ns"]
    assert cl["deferral"].evidence["top_share"] == 1.0
    assert battery("good_rx")["deferral"].evidence["top_share"] < 0.5


def test_threaded_handler_without_oneshot_is_refused_as_the_kernel_refuses_it() -> None:
    c = battery("threaded_no_oneshot")["threaded-oneshot"]
    assert "-EINVAL" in c.verdict
    assert "Threaded irq requested with handler=NULL and !ONESHOT" in c.verdict


def test_threaded_handler_with_oneshot_runs(tmp_path: Path) -> None:
    text = (EXAMPLES / "threaded_no_oneshot.py").read_text()
    fixed = tmp_path / "threaded_oneshot.py"
    fixed.write_text(text.replace("from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE",
                                  "from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE, IRQF_ONESHOT\n"
                                  "FLAGS = IRQF_ONESHOT"))
    from irqlab.check import run_battery

    cl = run_battery(fixed, allow_code=True)
    assert cl["threaded-oneshot"].status == "pass"
    assert cl["level-ack"].status == "pass"
    assert cl["deferral"].evidence["bottom_half_ns"] > 0  # the thread did the work


def test_unlocked_bottom_half_access_is_a_race_with_both_sites() -> None:
    c = battery("racy_stats")["concurrency"]
    assert c.verdict.startswith("race on rx_stats")
    assert _line_of("racy_stats", "stats.touch(ctx)  # BUG") in c.verdict
    good = battery("good_rx")["concurrency"]
    assert good.status == "pass" and good.evidence["affinity_moves"] > 0
    assert good.evidence["races"] == []


@pytest.mark.parametrize("platform", ["arm64", "armv7m"])
def test_correct_driver_passes_on_other_platforms(platform: str) -> None:
    cl = battery("good_rx", platform)
    assert cl.passed, [c.to_json() for c in cl.checks if c.status == "fail"]
    assert cl.platform == platform


PRIMARY = """
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE, IRQ_WAKE_THREAD, IRQF_ONESHOT
FLAGS = {flags}
def handler(ctx):
    if not ctx.device.status:
        return IRQ_NONE
    return IRQ_WAKE_THREAD  # the device is left asserted for the thread
def thread_fn(ctx):
    dev = ctx.device
    ctx.spend(10_000)
    dev.service(dev.status)
    return IRQ_HANDLED
"""


@pytest.mark.parametrize(("flags", "status"), [("IRQF_ONESHOT", "pass"), ("0", "fail")])
def test_primary_waking_its_thread_needs_oneshot_on_a_level_line(tmp_path: Path, flags: str,
                                                                 status: str) -> None:
    from irqlab.check.budget import Budget
    from irqlab.check.driver import load_driver
    from irqlab.check.harness import Rig
    from irqlab.check.protocol import threaded_oneshot

    path = tmp_path / "drv.py"
    path.write_text(PRIMARY.format(flags=flags))
    c = threaded_oneshot(Rig(load_driver(path, True), "x86", "linux", 1), Budget())
    assert c.status == status, c.verdict
    if status == "fail":
        assert c.evidence["woke_with_source_asserted"] > 0 and "IRQF_ONESHOT" in c.verdict


@pytest.mark.parametrize(("platform", "blocked"), [
    ("x86", "vector 0x21 (irq 16) is still in service"),
    ("arm64", "INTID 48 (irq 2) stays active"),
])
def test_lost_eoi_blocks_until_a_late_eoi(platform: str, blocked: str) -> None:
    c = battery("good_rx", platform)["lost-eoi"]
    assert c.status == "warn"
    assert blocked in c.evidence["lost"]["blocked_at_end"][0]
    assert c.evidence["lost"]["handled_second_half"] == 0
    assert blocked in c.evidence["late"]["blocked_meanwhile"][0]
    assert c.evidence["late"]["handled_after_late_eoi"] > 100
    assert c.evidence["late"]["max_latency_ns"] > c.evidence["late_eoi_after_ns"] // 2


def test_lost_eoi_on_the_nvic_cannot_happen() -> None:
    c = battery("good_rx", "armv7m")["lost-eoi"]  # the exception return is the EOI
    assert c.status == "pass" and c.verdict.startswith("n/a") and "exception return" in c.verdict


SLEEPY = """
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
DEVICE = {{"kind": "msix"}}
def handler(ctx):
    dev = ctx.device
    if not dev.status:
        return IRQ_NONE
    {call}
    dev.service(dev.status)
    return IRQ_HANDLED
"""


@pytest.mark.parametrize(("call", "sleeps"), [
    ("ctx.kmalloc(2048)", "kmalloc(GFP_KERNEL)"),
    ("ctx.kmalloc(2048, 'GFP_ATOMIC')", None),
    ("ctx.msleep(1)", "msleep"),
    ("ctx.wait_for_completion()", "wait_for_completion"),
])
def test_every_sleeping_call_in_the_top_half_is_caught(tmp_path: Path, call: str,
                                                      sleeps: str | None) -> None:
    from irqlab.check.budget import Budget
    from irqlab.check.driver import load_driver
    from irqlab.check.harness import Rig
    from irqlab.check.protocol import sleep_in_atomic

    path = tmp_path / "drv.py"
    path.write_text(SLEEPY.format(call=call))
    c = sleep_in_atomic(Rig(load_driver(path, True), "x86", "linux", 1), Budget())
    if sleeps is None:
        assert c.status == "pass", c.verdict
    else:
        assert c.status == "fail" and c.verdict.startswith(f"{sleeps} in atomic context at {path}:8")


MULTI = """
from irqlab.kernel.flags import IRQ_HANDLED, IRQ_NONE
DEVICE = {"kind": "msix", "vectors": 4, "arrival": {"kind": "poisson", "rate": "20k/s"}}
def handler(ctx):
    dev = ctx.device
    if not dev.status:
        return IRQ_NONE
    ctx.spend(800)
    dev.service(dev.status)
    return IRQ_HANDLED
"""


def test_a_multi_vector_device_recovers_from_late_eois_and_keeps_its_class(tmp_path: Path) -> None:
    from irqlab.check.budget import Budget
    from irqlab.check.driver import load_driver
    from irqlab.check.harness import Rig
    from irqlab.check.protocol import lost_eoi

    path = tmp_path / "drv.py"
    path.write_text(MULTI)
    c = lost_eoi(Rig(load_driver(path, True), "x86", "linux", 1), Budget())
    assert c.status == "warn", c.verdict  # each of its 4 vectors lost an EOI, each came late
    assert c.evidence["late"]["handled_after_late_eoi"] > 100


def test_a_load_too_light_to_judge_is_said_not_passed(tmp_path: Path) -> None:
    from irqlab.check import run_battery

    path = tmp_path / "slow.py"
    path.write_text((EXAMPLES / "good_rx.py").read_text().replace('"20k/s"', '"1/s"'))
    cl = run_battery(path, allow_code=True)
    judged = {"flood", "spurious-call", "concurrency", "threaded-oneshot", "response-time-bound"}
    for c in cl.checks:
        if c.name not in judged:
            assert c.status == "warn" and c.verdict.startswith("not judged"), c.to_json()
