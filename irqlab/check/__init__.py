"""``irqlab check``: a driver's interrupt handler through a standard battery
of twelve checks on the simulator, with a checklist verdict.

``run_battery(path, ...)`` returns a :class:`Checklist`; ``irqlab.testing``
wraps it as a pytest fixture, ``irqlab.cli.check`` as a command.
"""

from irqlab.check.battery import CHECKS, run_battery
from irqlab.check.budget import Budget, parse_budget
from irqlab.check.driver import CheckError
from irqlab.check.result import Checklist, CheckResult
from irqlab.check.shared import Shared
from irqlab.kernel.spinlock import SpinLock

__all__ = ["CHECKS", "Budget", "CheckError", "CheckResult", "Checklist", "Shared", "SpinLock",
           "parse_budget", "run_battery"]
