"""Validated scenarios as plain objects, without pydantic: what the loader
returns, keeps in its cache (:mod:`irqlab.scenario.cache`) and the machine is
built from, so a run from the cache imports no pydantic.

:func:`of` turns a validated pydantic tree into :class:`Node` objects: one
class per model name (made once, from :class:`Node` and the model's behaviour
mixin below, which the schema's model also inherits), its fields as
attributes in the model's field order, its private attributes (a handler's
bound code) kept.  For typing a node is its model: a structural stand-in with
the same fields, methods and ``model_copy`` / ``model_dump``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")


class Node:
    """A validated model's fields as attributes (see the module docstring)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, as the models

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k[0] != "_")
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Callable[[str, dict[str, Any]], Node], tuple[str, dict[str, Any]]]:
        return _node, (type(self).__name__, self.__dict__)

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        """A copy (``deep``: of the whole tree) with ``update``'s fields, as
        pydantic's ``model_copy``."""
        new = copy.deepcopy(self) if deep else _node(type(self).__name__, dict(self.__dict__))
        if update:
            new.__dict__.update(update)
        return new

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        """The fields as plain data, as pydantic's ``model_dump`` (``mode="json"``:
        tuples as lists)."""
        return {k: _dump(v, mode == "json") for k, v in self.__dict__.items() if k[0] != "_"}


def _dump(value: Any, json: bool) -> Any:
    if isinstance(value, Node):
        return value.model_dump(mode="json" if json else "python")
    if isinstance(value, list) or (json and isinstance(value, tuple)):
        return [_dump(v, json) for v in value]
    if isinstance(value, tuple):
        return tuple(_dump(v, json) for v in value)
    if isinstance(value, dict):
        return {k: _dump(v, json) for k, v in value.items()}
    return value


class HandlerCode:
    """``HandlerSpec``'s code: the function ``python`` names, once bound."""

    _code: Callable[[Any], int] | None  # a private attribute of the model

    @property
    def code(self) -> Callable[[Any], int] | None:
        """The loaded function ``python`` names (None until bound)."""
        return self._code

    def bind_code(self, fn: Callable[[Any], int]) -> None:
        self._code = fn


class _Nic(Protocol):
    rx_usecs: int
    rx_frames: int | None
    rps_cpus: list[int] | list[list[int]]


class NicQueues:
    """``NicSpec``'s per-queue settings as the NIC is programmed."""

    def rps_map(self: _Nic, queue: int) -> list[int]:
        m = self.rps_cpus
        if m and isinstance(m[0], list):
            return list(m[queue])
        return list(m)  # type: ignore[arg-type]

    def frames(self: _Nic) -> int:
        """rx-frames as the NIC is programmed."""
        if self.rx_frames is not None:
            return self.rx_frames
        return 0 if self.rx_usecs else 1


#: the behaviour of each model that has some, by model name
MIXINS: dict[str, type] = {"HandlerSpec": HandlerCode, "NicSpec": NicQueues}
_KINDS: dict[str, type[Node]] = {}


def kind(name: str) -> type[Node]:
    """The plain class of the model named ``name``."""
    cls = _KINDS.get(name)
    if cls is None:
        bases = (Node, MIXINS[name]) if name in MIXINS else (Node,)
        cls = _KINDS[name] = type(name, bases, {"__module__": __name__})
    return cls


def _node(name: str, fields: dict[str, Any]) -> Node:
    node = object.__new__(kind(name))
    node.__dict__.update(fields)
    return node


_ATOMS = frozenset({int, float, str, bool, type(None)})


def of(model: T) -> T:
    """``model`` (a validated pydantic model, or a list, dict or tuple of them)
    as plain nodes; a plain tree is returned as it is."""
    return cast(T, _plain(model))


def _plain(value: Any) -> Any:
    cls = type(value)
    if cls in _ATOMS or isinstance(value, Node):
        return value
    if hasattr(cls, "__pydantic_fields__"):
        fields = {k: _plain(v) for k, v in value.__dict__.items()}
        fields.update(value.__pydantic_private__ or {})
        return _node(cls.__name__, fields)
    if cls is list:
        return [_plain(v) for v in value]
    if cls is tuple:
        return tuple(_plain(v) for v in value)
    if cls is dict:
        return {k: _plain(v) for k, v in value.items()}
    return value
