"""A check's outcome and the checklist of the whole battery (the ``--json``
form is a contract: ``passed`` and ``checks`` of ``name``, ``status``,
``verdict``, ``evidence``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from irqlab.analysis.report import Report

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass
class CheckResult:
    """One check: its status, a one-line verdict, and the evidence (times in
    ns, counts, file:line of the offending call, log lines)."""

    name: str
    status: str
    verdict: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "verdict": self.verdict,
                "evidence": self.evidence}


def not_run(name: str, request: str | None) -> CheckResult:
    """A check that could not run: the kernel refused the driver's request."""
    return CheckResult(name, WARN, "not run: the kernel refused the handler (see threaded-oneshot)",
                       {"request": request})


@dataclass
class Checklist:
    """The battery's results for one driver, in the battery's order."""

    driver: str
    platform: str
    os: str
    seed: int
    checks: list[CheckResult]
    #: the report of the driver alone at its nominal load (the HTML page shows it)
    report: Report | None = None

    @property
    def passed(self) -> bool:
        """True when no check failed (warnings do not fail a driver)."""
        return all(c.status != FAIL for c in self.checks)

    def __getitem__(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "driver": self.driver, "platform": self.platform,
                "os": self.os, "seed": self.seed, "checks": [c.to_json() for c in self.checks]}
