"""User code named by a scenario (``handler = { python = "my_driver:rx_interrupt" }``)
or a command: loaded only with the user's explicit consent, and only from a
file in the scenario's folder.

A reference is ``FILE:FUNCTION``: ``my_driver:rx_interrupt`` is the function
``rx_interrupt`` of ``my_driver.py``; ``drivers/nic.py:rx`` names the file
itself.  Either is relative to the scenario's folder and may not leave it, so
whoever reviews that folder has seen all the code a scenario can run.
Installed modules are never imported by name, and ``sys.path`` is left alone:
each file is executed under a private module name
(``importlib.util.spec_from_file_location``).
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from irqlab.scenario.schema import HandlerSpec, Scenario

ALLOW_CODE_ENV = "IRQLAB_ALLOW_CODE"
"""Environment variable giving the same consent as ``--allow-code`` (``1``)."""

CONSENT = f"pass --allow-code (or set {ALLOW_CODE_ENV}=1) to run it"

_REF = re.compile(r"^(?P<file>[A-Za-z_]\w*|[^:\x00-\x1f]+\.py):(?P<func>[A-Za-z_]\w*)$")
_serial = itertools.count(1)

Handler = Callable[[Any], int]
R = TypeVar("R")


class UserCodeError(ValueError):
    """A code reference that is malformed, names a missing file or function, or
    whose file fails to load; the message says which."""


class CodeNotAllowed(UserCodeError):
    """Code was named but the user has not consented to running it."""


def parse_ref(ref: str) -> tuple[PurePosixPath, str]:
    """``"my_driver:rx"`` -> (``my_driver.py``, ``"rx"``); the file part stays
    relative and inside its folder."""
    m = _REF.match(ref)
    if m is None:
        raise UserCodeError(f"expected 'file:function' such as 'my_driver:rx_interrupt' or "
                            f"'drivers/nic.py:rx_interrupt', got {ref!r}")
    name = m.group("file")
    rel = PurePosixPath(name if name.endswith(".py") else f"{name}.py")
    if rel.is_absolute() or ".." in rel.parts:
        raise UserCodeError(f"{ref!r}: the file must be in the scenario's folder or below it")
    return rel, m.group("func")


def code_file(ref: str, base_dir: Path | None) -> Path:
    """The file ``ref`` names, checked to exist (nothing is imported)."""
    rel, _ = parse_ref(ref)
    if base_dir is None:
        raise UserCodeError(f"{ref!r}: code is loaded from the scenario's folder, and this "
                            "scenario is not a file")
    path = base_dir / rel
    if not path.is_file():
        raise UserCodeError(f"{ref!r}: no file {path}")
    return path


class CodeLoader:
    """The functions the references of one scenario name, each from its file
    in ``base_dir``; a file named by several is executed once (its module
    state is shared, as a kernel module's is by the devices it drives).
    :meth:`load` raises :class:`CodeNotAllowed` without consent (before
    anything is read) and :class:`UserCodeError` when the file or function
    cannot be had."""

    def __init__(self, base_dir: Path | None, *, allowed: bool) -> None:
        self.base_dir = base_dir
        self.allowed = allowed
        self.modules: dict[Path, ModuleType] = {}

    def load(self, ref: str) -> Handler:
        path = code_file(ref, self.base_dir)
        if not self.allowed:
            raise CodeNotAllowed(f"{ref!r} runs code from {path}; {CONSENT}")
        key = path.resolve()
        if key not in self.modules:
            self.modules[key] = _exec_file(path)
        return _function(self.modules[key], parse_ref(ref)[1], ref)


def load_module(path: Path, *, allowed: bool) -> ModuleType:
    """A whole file of user code, executed as :class:`CodeLoader` executes
    one (``irqlab check`` reads a driver's declarations from it)."""
    if not allowed:
        raise CodeNotAllowed(f"{path} is code; {CONSENT}")
    return _exec_file(path)


def _exec_file(path: Path) -> ModuleType:
    """Execute ``path`` as a fresh module under a private name (registered in
    ``sys.modules`` so dataclasses and pickling find it; ``sys.path`` is not
    touched, so the file cannot import its neighbours by name)."""
    name = f"_irqlab_user_{next(_serial)}_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise UserCodeError(f"{path}: cannot load as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise UserCodeError(f"{path}: cannot load: {detail}") from None
    return module


def _function(module: ModuleType, func: str, ref: str) -> Handler:
    fn = getattr(module, func, None)
    if not callable(fn):
        raise UserCodeError(f"{ref!r}: {module.__file__} has no function '{func}'")
    return fn


def check_scenario_code(spec: Scenario, base_dir: Path | None) -> dict[str, HandlerSpec]:
    """The handlers of ``spec`` that name code, by field
    (``device[2].handler.python``), each reference checked to be well formed
    with its file present; nothing is imported."""
    named = {f"device[{i}].handler.python": dev.handler
             for i, dev in enumerate(spec.device) if dev.handler.python is not None}
    for field, handler in named.items():
        _in_field(field, code_file, handler.python or "", base_dir)
    return named


def bind_scenario_code(spec: Scenario, base_dir: Path | None, *, allowed: bool) -> None:
    """Load the code every ``handler.python`` of ``spec`` names (with consent)
    and bind it to its handler, so that the machine built from ``spec`` runs it."""
    loader = CodeLoader(base_dir, allowed=allowed)
    for field, handler in check_scenario_code(spec, base_dir).items():
        handler.bind_code(_in_field(field, loader.load, handler.python or ""))


def _in_field(field: str, fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)``, its :class:`UserCodeError` prefixed with ``field``."""
    try:
        return fn(*args)
    except UserCodeError as exc:
        raise type(exc)(f"{field}: {exc}") from None
