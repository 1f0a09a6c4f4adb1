"""The FreeRTOS personality as a scenario choice: ``irqlab run freertos-uart``
reports in FreeRTOS's and CMSIS's terms, tasks run only after PendSV, and
what the personality refuses is one line naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.events import IRQ_ENTRY, IRQ_EXIT, VECTOR_ENTRY, VECTOR_EXIT
from irqlab.machine.build import build
from irqlab.os.freertos import FreeRtosOs
from irqlab.scenario.loader import load
from tests.kernel.rig import machine, run


@pytest.fixture(scope="module")
def report() -> dict:
    res = CliRunner().invoke(cli, ["run", "freertos-uart", "--duration", "30ms", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_isrs_and_system_exceptions_carry_cmsis_handler_names(report: dict) -> None:
    rows = report["counters"]
    names = {r["name"] for key, r in rows.items() if key.isdigit()}
    assert names == {"USART1_IRQHandler", "ADC_IRQHandler", "TIM1_UP_TIM10_IRQHandler",
                     "EXTI0_IRQHandler"}
    assert rows["SysTick"]["name"] == "SysTick_Handler" and rows["SysTick"]["total"] == 30
    assert rows["PendSV"]["name"] == "PendSV_Handler" and rows["PendSV"]["total"] > 0


def test_tasks_report_gives_from_isr_and_switches(report: dict) -> None:
    rows = report["counters"]
    tasks = {r["task"]: r for r in report["results"]}
    assert set(tasks) == {"IDLE", "uart_rx", "adc_filter", "button"}
    # every request an ISR cleared was given to its task, and the task took it
    for task, irq in (("uart_rx", "37"), ("adc_filter", "18")):
        t = tasks[task]
        assert t["xSemaphoreGiveFromISR"] >= rows[irq]["total"] > 0
        assert t["errQUEUE_FULL"] == 0
        assert t["xSemaphoreGiveFromISR"] - t["taken"] in (0, 1)  # at most one in flight
        assert t["switched_in"] > 0 and t["runtime_us"] > 0
    assert tasks["adc_filter"]["priority"] < tasks["uart_rx"]["priority"]


def test_an_isr_above_max_syscall_priority_calling_the_api_is_reported(report: dict) -> None:
    asserts = [w for w in report["warnings"] if w["kind"] == "freertos-priority"]
    assert asserts and all(w["irq"] == 6 for w in asserts)
    assert "xQueueGiveFromISR" in asserts[0]["message"]
    assert "configMAX_SYSCALL_INTERRUPT_PRIORITY (0xb0)" in asserts[0]["message"]


def test_a_task_runs_only_once_pendsv_has_switched_to_it() -> None:
    spec, _ = load("freertos-uart")
    m = build(spec)
    rec = run(m, 20_000_000)
    depth = 0
    for _, _, kind, _, _, name in rec.events:
        if kind in (IRQ_ENTRY, VECTOR_ENTRY):
            if name == "PendSV_Handler":
                assert depth == 0, "PendSV is taken only when every ISR has returned"
            depth += 1
        elif kind in (IRQ_EXIT, VECTOR_EXIT):
            depth -= 1
    assert isinstance(m.os, FreeRtosOs)
    uart = m.os.tasks["uart_rx"][0]
    assert uart.switched_in == sum(1 for _, _, to in m.os.rtos.switches if to == "uart_rx")


@pytest.mark.parametrize(("toml", "message"), [
    ('[machine]\narch = "x86"\nos = "freertos"\n', "machine.os: expected 'linux' or 'windows'"),
    ('[machine]\narch = "armv7m"\n[[machine.task]]\nname = "t"\npriority = 1\ncost = "1us"\n',
     "machine.task needs machine.os = 'freertos'"),
    ('[machine]\narch = "armv7m"\nos = "freertos"\n[[device]]\nname = "U"\nline = 3\n'
     'handler = { give = "nobody" }\n', "handler.give: no task named 'nobody'"),
    ('[machine]\narch = "armv7m"\nos = "freertos"\n[[device]]\nname = "U"\nline = 3\n'
     'handler = { softirq = "NET_RX" }\n', "under machine.os = 'freertos' use handler.give"),
])
def test_bad_freertos_scenarios_are_one_line_naming_the_field(tmp_path: Path, toml: str,
                                                              message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(toml)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2
    assert message in res.output and str(path) in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_freertos_without_tasks_is_a_cortex_m_with_no_softirqs() -> None:
    m = machine('[machine]\narch = "armv7m"\nos = "freertos"\n[[device]]\nname = "U"\nline = 3\n'
                'arrival = { kind = "periodic", period = "100us" }\n')
    run(m, 5_000_000)
    assert not any(any(per_cpu) for per_cpu in m.kernel.softirqs.counts)
    assert m.kernel.snapshot().rows["3"].name == "U_IRQHandler"
