"""A scenario written back as TOML that :mod:`irqlab.scenario.loader` reads to
the same :class:`~irqlab.scenario.schema.Scenario`: durations as ``"<n>ns"``
and rates as ``"<x>/s"`` (the schema refuses bare numbers), unset optional
fields (None) left out, every other field written so it can be edited.  The
scenario is its pydantic models or the loader's plain tree
(:mod:`irqlab.scenario.plain`)."""

from __future__ import annotations

from typing import Any, get_args

import tomli_w
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from irqlab.scenario import schema
from irqlab.scenario.plain import Node
from irqlab.scenario.schema import Duration, Rate


def _mentions(info: FieldInfo, target: Any) -> bool:
    """Whether the field is of type ``target`` (an ``Annotated`` alias), alone, in
    a list or in a union (pydantic moves a bare field's metadata to ``info``)."""
    def inside(annotation: Any) -> bool:
        return annotation == target or any(inside(a) for a in get_args(annotation))

    return inside(info.annotation) or all(m in info.metadata for m in target.__metadata__)


def _value(value: Any, info: FieldInfo) -> Any:
    if isinstance(value, BaseModel | Node):
        return to_data(value)
    if isinstance(value, list):
        return [_value(v, info) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and _mentions(info, Duration):
        return f"{value}ns"
    if isinstance(value, float) and _mentions(info, Rate):
        return f"{value!r}/s"
    return value


def to_data(model: BaseModel | Node) -> dict[str, Any]:
    """``model``'s fields as TOML-ready data (see the module docstring)."""
    cls = type(model) if isinstance(model, BaseModel) else getattr(schema, type(model).__name__)
    return {name: _value(value, info)
            for name, info in cls.model_fields.items()
            if (value := getattr(model, name)) is not None}


def dumps(model: BaseModel | Node) -> str:
    return tomli_w.dumps(to_data(model))
