"""Fixtures of the export tests."""

from __future__ import annotations

import pytest

from tests.report.runs import Run, simulated


@pytest.fixture(scope="session")
def default_run() -> Run:
    """The default scenario (MSI-X NIC, AHCI, a shared level line, LAPIC tick), 5 ms."""
    return simulated("default", 5_000_000)
