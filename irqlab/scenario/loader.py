"""Finding, reading and validating scenarios (built-in names or TOML files)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from irqlab.scenario.schema import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names file and field."""


def builtin_names() -> list[str]:
    root = resources.files("irqlab.scenario") / "builtin"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def builtin_descriptions() -> dict[str, str]:
    out = {}
    for name in builtin_names():
        data = tomllib.loads(_builtin_text(name))
        out[name] = str(data.get("scenario", {}).get("description", ""))
    return out


def _builtin_text(name: str) -> str:
    return (resources.files("irqlab.scenario") / "builtin" / f"{name}.toml").read_text()


def load(ref: str) -> tuple[Scenario, dict[str, object]]:
    """Load a scenario by built-in name or path; returns the model and the raw
    TOML table (extensions such as ``[experiment]`` are read from it)."""
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text()
        except OSError as exc:
            raise ScenarioError(f"{ref}: cannot read: {exc.strerror or exc}") from None
        source = str(path)
    elif ref in builtin_names():
        text = _builtin_text(ref)
        source = f"<builtin {ref}>"
    else:
        raise ScenarioError(
            f"{ref}: no such file and no built-in scenario of that name "
            f"(built-in: {', '.join(builtin_names())})")
    return parse(text, source)


def parse(text: str, source: str) -> tuple[Scenario, dict[str, object]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    experiment = data.pop("experiment", None)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_errors(source, exc)) from None
    extras: dict[str, object] = {}
    if experiment is not None:
        extras["experiment"] = experiment
    return scenario, extras


def format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            if isinstance(part, int):
                loc += f"[{part}]"
            elif part in ("function-after[_check()]", "function-after[_needs()]") or "function-before" in str(part) or "function-after" in str(part):
                continue
            else:
                loc += ("." if loc else "") + str(part)
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not allowed here)"
        elif err["type"] == "literal_error":
            msg = f"expected {err['ctx']['expected']}, got {err['input']!r}"
        elif err["type"] == "missing":
            msg = "required field missing"
        elif err["type"] != "value_error" and isinstance(err["input"], str | int | float):
            msg = f"{msg}, got {err['input']!r}"
        lines.append(f"{source}: {loc or '(top level)'}: {msg}")
    return "\n".join(lines)
