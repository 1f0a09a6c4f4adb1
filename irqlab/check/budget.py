"""``--budget top=5us,latency_p99=50us,bottom=200us``: the time limits the
checks hold the driver to."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from irqlab.check.driver import CheckError
from irqlab.units import UnitError, parse_duration


@dataclass(frozen=True)
class Budget:
    """Limits in ns: the top half's p99 time, the interrupt latency p99, the
    bottom-half time per interrupt."""

    top: int = 5_000
    latency_p99: int = 50_000
    bottom: int = 200_000


def parse_budget(text: str | None) -> Budget:
    """``key=time`` pairs separated by commas; keys not given keep their default."""
    budget = Budget()
    if not text:
        return budget
    names = [f.name for f in fields(Budget)]
    values: dict[str, int] = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key not in names:
            raise CheckError(f"--budget: expected key=time with key one of {', '.join(names)}, "
                             f"got {part.strip()!r}")
        try:
            ns = parse_duration(value.strip())
        except UnitError as exc:
            raise CheckError(f"--budget: {key}: {exc}") from None
        if ns <= 0:
            raise CheckError(f"--budget: {key}: expected a time above zero, got {value.strip()!r}")
        values[key] = ns
    return replace(budget, **values)
