"""The ``irq_check`` pytest fixture (registered as a ``pytest11`` plugin), so
a driver's own test suite runs the battery::

    def test_rx(irq_check):
        assert irq_check("drv.py").passed

``irq_check(driver, **options)`` takes the options of
:func:`irqlab.check.run_battery` (``platform``, ``os``, ``scenario`` (a
file), ``budget`` as a string or :class:`irqlab.check.Budget`, ``seed``) and
returns the :class:`irqlab.check.Checklist`.  Relative paths are looked up
from the current directory, then next to the test file.  Naming the driver in
one's own test is the consent to run its code (and the scenario's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from irqlab.check import Budget, Checklist


@pytest.fixture
def irq_check(request: pytest.FixtureRequest) -> Callable[..., Checklist]:
    """Run the battery on a driver file; returns its checklist."""
    from irqlab.check import parse_budget, run_battery  # loaded when used, not with every pytest

    here = Path(request.path).parent

    def near(name: str | Path) -> Path:
        path = Path(name)
        return here / path if not path.is_absolute() and not path.exists() else path

    def check(driver: str | Path, budget: Budget | str | None = None,
              scenario: str | Path | None = None, **options: Any) -> Checklist:
        limits = parse_budget(budget) if isinstance(budget, str) or budget is None else budget
        return run_battery(near(driver), budget=limits, allow_code=True,
                           scenario=None if scenario is None else near(scenario), **options)

    return check
