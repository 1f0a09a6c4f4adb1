"""``--set PATH=VALUE``: change one field of a scenario's TOML table before it
is validated, so an overridden value is read exactly as the same value in the
file would be.

``PATH`` is dotted: ``machine.cpus``, ``scenario.duration``; an array of tables
is indexed (``device[1].handler.cost``) or, for devices, named
(``device.eth0.arrival.rate``, ``device.ahci[0000:00:1f.2].handler.cost``: the
longest device name that fits).  ``VALUE`` is a TOML value (``8``, ``true``,
``"x"``, ``[0, 1]``, ``{ dist = "fixed", value = "2us" }``); anything that is
not TOML is taken as a bare string, so ``300k/s`` and ``2us`` need no quotes.
Missing tables on the way are created; unknown keys are left for validation
to refuse, naming the ``--set``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

_INDEX_RE = re.compile(r"^([A-Za-z_][\w-]*)\[(\d+)\]$")
_KEY_RE = re.compile(r"^[A-Za-z_][\w-]*$")


class OverrideError(ValueError):
    """A ``--set`` that cannot be applied; the message starts with ``--set PATH:``."""


@dataclass(frozen=True)
class Override:
    """One ``PATH=VALUE``; ``value`` is already a TOML value; ``where`` names
    it in errors when it is not a ``--set`` (``sweep.set.PATH``, a field of the
    scenario's ``[sweep]``)."""

    path: str
    value: Any
    where: str = ""

    @property
    def label(self) -> str:
        return self.where or f"--set {self.path}"


def parse_value(text: str) -> Any:
    """The TOML value written as ``text``; a bare string when it is not TOML."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        # RecursionError: tomllib recurses into nesting; ValueError: int() refuses
        # more than sys.get_int_max_str_digits() digits
        return text.strip()


def parse_assignment(text: str) -> tuple[str, str]:
    """``"PATH=VALUE"`` -> ``(PATH, VALUE text)``; OverrideError when malformed."""
    path, sep, value = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise OverrideError(f"--set {text}: expected PATH=VALUE, e.g. machine.cpus=4")
    if not value.strip():
        raise OverrideError(f"--set {path}: no value after '='")
    return path, value


def parse_override(text: str) -> Override:
    path, value = parse_assignment(text)
    return Override(path, parse_value(value))


def apply(data: dict[str, Any], override: Override) -> str:
    """Set ``override`` in the raw scenario table ``data`` (in place); return
    the field's canonical location as validation errors name it
    (``device[0].arrival.rate``)."""
    table, key, loc = _resolve(data, override)
    table[key] = override.value
    return loc


def _resolve(data: dict[str, Any], ov: Override) -> tuple[dict[str, Any], str, str]:
    """The table holding the last key of ``ov.path``, that key, and its location."""
    rest = ov.path
    table: dict[str, Any] = data
    loc = ""
    while True:
        head, dot, tail = rest.partition(".")
        indexed = _INDEX_RE.match(head)
        if indexed:
            name, index = indexed.group(1), int(indexed.group(2))
            items = _array(table, name, loc, ov)
            if index >= len(items):
                raise OverrideError(f"{ov.label}: {_join(loc, name)} has {len(items)} entr"
                                    f"{'y' if len(items) == 1 else 'ies'}, no [{index}]")
            loc = f"{_join(loc, name)}[{index}]"
            table = items[index]
            if not dot:
                raise OverrideError(f"{ov.label}: name a field of {loc}, e.g. {loc}.name")
            rest = tail
            continue
        if not _KEY_RE.match(head):
            raise OverrideError(f"{ov.label}: '{head}' is not a field name")
        if isinstance(table.get(head), list) and dot and not _INDEX_RE.match(tail):
            loc, table, rest = _by_name(table, head, tail, loc, ov)
            continue
        if not dot:
            return table, head, _join(loc, head)
        child = table.setdefault(head, {})
        if not isinstance(child, dict):
            raise OverrideError(f"{ov.label}: {_join(loc, head)} is a value, not a table")
        table, loc, rest = child, _join(loc, head), tail


def _by_name(table: dict[str, Any], key: str, rest: str, loc: str,
             ov: Override) -> tuple[str, dict[str, Any], str]:
    """``device.NAME.field``: the entry of ``table[key]`` whose ``name`` is the
    longest that ``rest`` starts with (names may hold dots)."""
    items = _array(table, key, loc, ov)
    best = -1
    for i, item in enumerate(items):
        name = item.get("name")
        if isinstance(name, str) and rest.startswith(name + ".") and (
                best < 0 or len(name) > len(items[best]["name"])):
            best = i
    if best < 0:
        if any(isinstance(item.get("name"), str) and item["name"] == rest for item in items):
            raise OverrideError(f"{ov.label}: name a field of {key} '{rest}', "
                                f"e.g. {key}.{rest}.name")
        wanted = rest.split(".", 1)[0]
        raise OverrideError(f"{ov.label}: no {key} named {wanted}")
    return (f"{_join(loc, key)}[{best}]", items[best],
            rest[len(items[best]["name"]) + 1:])


def _array(table: dict[str, Any], key: str, loc: str, ov: Override) -> list[dict[str, Any]]:
    items = table.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise OverrideError(f"{ov.label}: {_join(loc, key)} is not an array of tables")
    return items


def _join(loc: str, key: str) -> str:
    return f"{loc}.{key}" if loc else key


def blame(problems: list[str], applied: dict[str, Override]) -> list[str]:
    """Validation problems (``LOC: problem``) at or under a field an override
    set, named by that override instead (``--set PATH: problem``); the others
    say which overrides they follow."""
    if not applied:
        return problems
    after = ", ".join(ov.label for ov in applied.values())
    out = []
    for problem in problems:
        for loc, ov in applied.items():
            if problem.startswith(loc + ": "):
                out.append(f"{ov.label}: {problem[len(loc) + 2:]}")
                break
            if problem.startswith((loc + ".", loc + "[")):
                out.append(f"{ov.label}: {problem[len(loc):].lstrip('.')}")
                break
        else:
            out.append(f"{problem} (after {after})")
    return out
