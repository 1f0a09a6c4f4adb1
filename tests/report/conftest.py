"""Fixtures of the export tests."""

from __future__ import annotations

import pytest

from tests.report.runs import Run, simulated


@pytest.fixture(scope="session")
def default_run() -> Run:
    """The default scenario (MSI-X NIC, AHCI, a shared level line, LAPIC tick), 5 ms."""
    return simulated("default", 5_000_000)


@pytest.fixture(scope="session")
def threaded_run() -> Run:
    """threaded-irq (an IRQ thread, a tasklet, a sleeping work item, user threads), 20 ms."""
    return simulated("threaded-irq", 20_000_000)


@pytest.fixture(scope="session")
def dpc_run() -> Run:
    """windows-dpc (ISRs queueing DPCs), 20 ms."""
    return simulated("windows-dpc", 20_000_000)
