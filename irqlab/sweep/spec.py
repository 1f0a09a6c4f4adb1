"""The grid of a sweep: axes of values for scenario fields, and seeds.

An axis is written ``PATH=V1,V2,...`` or ``PATH=START..STOP:step=S`` (both
ends included; a range of durations or rates keeps the unit of START, e.g.
``100k/s..500k/s:step=100k/s``); a single value is a fixed ``--set`` for every
point.  The grid is the product of the axes, or with ``zip`` their pairing.
Seeds are ``A..B``, ``A,B,...`` or one number.  A scenario's ``[sweep]`` table
says the same: ``seeds``, ``zip`` and ``[sweep.set]`` whose (dotted) keys are
paths and whose values are arrays, ``{ start, stop, step }`` tables, or strings
in the ``--set`` syntax.  Its ``zip`` may also be a list of groups of paths
(``zip = [["A", "B"]]``): the axes of a group are paired, and the groups and
the other axes crossed, as ``pytest.mark.parametrize("a,b", ...)`` would.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from irqlab.scenario.override import Override, OverrideError, parse_assignment, parse_value
from irqlab.units import UnitError, parse_duration, parse_rate

MAX_POINTS = 1_000_000
"""More runs than this is a typo (``..`` with a tiny step), not a sweep."""

_RANGE_RE = re.compile(r"^(?P<start>.+?)\.\.(?P<stop>[^:]+?)(?::step=(?P<step>.+))?$")
_RATE_UNIT_RE = re.compile(r"^\s*[0-9.eE+-]+\s*([kKMG]?)\s*/\s*(s|ms|us|µs|ns)\s*$")
_DURATION_UNIT_RE = re.compile(r"^\s*[0-9.eE+-]+\s*(ns|us|µs|ms|s)\s*$")


class SweepError(ValueError):
    """A sweep spec that cannot be used; the message names the --set or the field."""


@dataclass(frozen=True)
class Axis:
    """One swept field: its path (the results column), its values, and where
    it was written for errors (``sweep.set.PATH``; ``""``: ``--set PATH``)."""

    path: str
    values: tuple[Any, ...]
    where: str = ""


@dataclass(frozen=True)
class Grid:
    axes: tuple[Axis, ...]
    fixed: tuple[Override, ...]
    seeds: tuple[int, ...]
    #: indices into ``axes`` of the axes paired with each other; the groups are
    #: crossed in the order of their first axis
    groups: tuple[tuple[int, ...], ...] = ()

    def points(self) -> list[tuple[Override, ...]]:
        """Each point as the overrides of its axis values (in axis order), in
        grid order."""
        groups = self.groups or tuple((i,) for i in range(len(self.axes)))
        paired = [list(zip(*([Override(self.axes[i].path, v, self.axes[i].where)
                                for v in self.axes[i].values] for i in group), strict=True))
                  for group in groups]
        position = {i: n for n, i in enumerate(i for group in groups for i in group)}
        order = [position[i] for i in range(len(self.axes))]
        out = []
        for combo in itertools.product(*paired):
            flat = [ov for values in combo for ov in values]
            out.append(tuple(flat[n] for n in order))
        return out


def split_values(text: str) -> list[str]:
    """``V1,V2`` split at commas outside quotes, brackets and braces."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_values(text: str, where: str) -> tuple[Any, ...]:
    """The values of ``V1,V2,...`` or ``START..STOP:step=S``."""
    match = _RANGE_RE.match(text.strip())
    if match and not text.strip().startswith(("[", "{", '"', "'")):
        step = match["step"]
        return expand_range(parse_value(match["start"]), parse_value(match["stop"]),
                            None if step is None else parse_value(step), where)
    parts = split_values(text)
    if any(not p.strip() for p in parts):
        raise SweepError(f"{where}: empty value in {text!r}")
    return tuple(parse_value(p) for p in parts)


def expand_range(lo: Any, hi: Any, delta: Any, where: str) -> tuple[Any, ...]:
    """Inclusive ``lo..hi`` by ``delta`` (TOML values; None: 1 for numbers):
    plain numbers, durations or rates."""
    start, stop, step = (v if isinstance(v, str) or v is None else json.dumps(v)
                         for v in (lo, hi, delta))
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lo, hi)):
        if delta is None:
            delta = 1
        if not isinstance(delta, int | float) or isinstance(delta, bool):
            raise SweepError(f"{where}: step {step!r} is not a number like {start!r}")
        values = _steps(lo, hi, delta, where)
        if all(isinstance(v, int) for v in (lo, hi, delta)):
            return tuple(lo + i * delta for i in range(len(values)))  # exact
        return tuple(float(f"{v:.12g}") for v in values)
    if not all(isinstance(v, str) for v in (lo, hi, delta) if v is not None):
        written = f"{start}..{stop}" + (f":step={step}" if step is not None else "")
        raise SweepError(f"{where}: {written} mixes numbers and quantities")
    if delta is None:
        raise SweepError(f"{where}: a range of durations or rates needs ':step=', "
                         f"e.g. {start}..{stop}:step={start}")
    duration = _DURATION_UNIT_RE.match(lo)
    if duration:
        unit = duration.group(1)
        try:
            ns = [parse_duration(v) for v in (lo, hi, delta)]
        except UnitError as exc:
            raise SweepError(f"{where}: {exc}") from None
        ns_per_unit = parse_duration(f"1{unit}")
        return tuple(f"{v / ns_per_unit:.12g}{unit}"
                     for v in _steps(ns[0], ns[1], ns[2], where))
    rate = _RATE_UNIT_RE.match(lo)
    if rate:
        try:
            scale = parse_rate(f"1{rate.group(1)}/{rate.group(2)}")
            per_s = [parse_rate(v) for v in (lo, hi, delta)]
        except UnitError as exc:
            raise SweepError(f"{where}: {exc}") from None
        return tuple(f"{v / scale:.12g}{rate.group(1)}/{rate.group(2)}"
                     for v in _steps(per_s[0], per_s[1], per_s[2], where))
    raise SweepError(f"{where}: {start!r} is not a number, a duration (10us) or a rate (100k/s)")


def _steps(lo: float, hi: float, step: float, where: str) -> list[float]:
    if not all(math.isfinite(v) for v in (lo, hi, step)):
        raise SweepError(f"{where}: a range needs finite ends and step (no inf or nan)")
    if not step > 0:
        raise SweepError(f"{where}: step must be above zero")
    if hi < lo:
        raise SweepError(f"{where}: the range ends before it starts")
    span = (hi - lo) / step
    if not math.isfinite(span):  # overflowed
        raise SweepError(f"{where}: more than {MAX_POINTS} values")
    count = math.floor(span * (1 + 1e-12) + 1e-9) + 1
    if count > MAX_POINTS:
        raise SweepError(f"{where}: {count} values (at most {MAX_POINTS})")
    return [lo + i * step for i in range(count)]


def parse_seeds(text: str, where: str = "--seeds") -> tuple[int, ...]:
    """``1..5``, ``1,3,7`` or ``4``: distinct non-negative seeds, in order."""
    return _check_seeds(parse_values(text, where), where)


def _check_seeds(values: Sequence[Any], where: str) -> tuple[int, ...]:
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                             for v in values):
        raise SweepError(f"{where}: expected whole numbers >= 0 such as 1..5 or 1,2,3")
    if len(set(values)) != len(values):
        raise SweepError(f"{where}: a seed is given twice")
    return tuple(values)


def cli_axes(assignments: Sequence[str]) -> list[Axis]:
    """``--set`` options as ``(path, values)``."""
    out = []
    for text in assignments:
        try:
            path, value = parse_assignment(text)
        except OverrideError as exc:
            raise SweepError(str(exc)) from None
        out.append(Axis(path, parse_values(value, f"--set {path}")))
    return out


Zip = bool | tuple[tuple[str, ...], ...]
"""``True`` pairs every axis, ``False`` crosses them, groups of paths pair
the axes of each group."""


def table_axes(table: object, where: str) -> tuple[list[Axis], tuple[int, ...] | None, Zip]:
    """A scenario's ``[sweep]`` table as ``(axes, seeds, zip)``; ``where``
    names the file in errors."""
    if not isinstance(table, dict):
        raise SweepError(f"{where}: sweep: expected a table")
    unknown = sorted(set(table) - {"set", "seeds", "zip"})
    if unknown:
        raise SweepError(f"{where}: sweep.{unknown[0]}: unknown key (expected set, seeds, zip)")
    seeds = None
    if "seeds" in table:
        raw = table["seeds"]
        field = f"{where}: sweep.seeds"
        seeds = parse_seeds(raw, field) if isinstance(raw, str) else _check_seeds(
            raw if isinstance(raw, list) else [raw], field)
    zipped = _zip_groups(table.get("zip", False), f"{where}: sweep.zip")
    axes = []
    settings = table.get("set", {})
    if not isinstance(settings, dict):
        raise SweepError(f"{where}: sweep.set: expected a table of PATH = values")
    for path, raw in _leaves(settings, ""):
        field = f"{where}: sweep.set.{path}"
        if isinstance(raw, list):
            if not raw:
                raise SweepError(f"{field}: no values")
            values = tuple(raw)
        elif isinstance(raw, dict):
            if set(raw) - {"start", "stop", "step"} or not {"start", "stop"} <= set(raw):
                raise SweepError(f"{field}: a range is {{ start, stop, step }}")
            values = expand_range(raw["start"], raw["stop"], raw.get("step"), field)
        elif isinstance(raw, str):
            values = parse_values(raw, field)
        else:
            values = (raw,)
        axes.append(Axis(path, values, f"sweep.set.{path}"))
    return axes, seeds, zipped


def _zip_groups(raw: object, field: str) -> Zip:
    if isinstance(raw, bool):
        return raw
    if (not isinstance(raw, list) or not raw
            or not all(isinstance(g, list) and len(g) >= 2 and all(isinstance(p, str) for p in g)
                       for g in raw)):
        raise SweepError(f"{field}: expected true or false, or groups of paths to pair such as "
                         '[["device.eth0.nic.receive", "device.eth0.nic.rx_usecs"]]')
    seen: set[str] = set()
    for path in (p for g in raw for p in g):
        if path in seen:  # pairing it twice would drop one group or count points twice
            raise SweepError(f"{field}: '{path}' is named twice (a path is in one group only)")
        seen.add(path)
    return tuple(tuple(g) for g in raw)


def _leaves(table: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    """Dotted paths of ``[sweep.set]``: nested tables are path segments, a
    table with ``start``, ``stop`` or ``step`` is a range (no scenario field
    has those names)."""
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and not {"start", "stop", "step"} & set(value):
            yield from _leaves(value, path)
        else:
            yield path, value


def make_grid(axes: Sequence[Axis], seeds: tuple[int, ...], zipped: Zip, source: str = "") -> Grid:
    """The grid of ``axes`` (a later axis of the same path replaces an earlier
    one; single values become fixed overrides) and ``seeds``; ``source`` names
    the file of a ``sweep.zip`` in errors."""
    by_path = {a.path: a for a in axes}
    swept = [a for a in by_path.values() if len(a.values) > 1]
    fixed = tuple(Override(a.path, a.values[0], a.where) for a in by_path.values()
                  if len(a.values) == 1)
    index = {a.path: i for i, a in enumerate(swept)}
    if zipped is True:
        groups = [tuple(range(len(swept)))] if swept else []
        what = "--zip pairs"
    else:
        named = [tuple(index[p] for p in g if p in index) for g in zipped or ()]
        for paths in zipped or ():
            unknown = [p for p in paths if p not in by_path]
            if unknown:
                at = f"{source}: sweep.zip" if source else "sweep.zip"
                raise SweepError(f"{at}: '{unknown[0]}' is not a path of sweep.set or --set")
        grouped = {i for g in named for i in g}
        first = {g[0]: g for g in named if g}
        groups = [first.get(i, (i,)) for i in range(len(swept))
                  if i not in grouped or i in first]
        what = f"{source}: sweep.zip pairs" if source else "sweep.zip pairs"
    for g in groups:
        if len({len(swept[i].values) for i in g}) > 1:
            sizes = ", ".join(f"{swept[i].path} has {len(swept[i].values)}" for i in g)
            raise SweepError(f"{what} axes of equal length: {sizes}")
    points = math.prod(len(swept[g[0]].values) for g in groups)
    if points * len(seeds) > MAX_POINTS:
        raise SweepError(f"{points} points x {len(seeds)} seeds is more than {MAX_POINTS} runs")
    return Grid(tuple(swept), fixed, seeds, tuple(groups))
