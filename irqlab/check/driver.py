"""The driver under check: a Python file loaded with the user's consent.

A DRIVER file defines, as ``request_threaded_irq(irq, handler, thread_fn,
flags, ...)`` takes them:

* ``handler(ctx) -> irqreturn``: the top half (hard-IRQ context).  It may be
  left out when ``thread_fn`` is given: a threaded IRQ with no primary handler.
* ``thread_fn(ctx) -> irqreturn`` (optional): the threaded handler, run in the
  ``irq/N-name`` thread (process context).
* ``FLAGS`` (optional): the ``IRQF_*`` bits the driver passes (``IRQF_ONESHOT``);
  the trigger type and ``IRQF_SHARED`` follow the line each check builds.
* ``DEVICE`` (optional): the hardware, as the fields of a scenario
  ``[[device]]`` table (``docs/scenarios.md``): ``kind``, ``trigger``,
  ``arrival`` (the nominal load), ``priority``.  Default: a level-triggered
  line at 20k/s Poisson.
* State the top and bottom halves share, as :class:`irqlab.check.shared.Shared`
  objects at module level (found by the ``concurrency`` check).

DRIVER may also be a scenario (``.toml``) whose device names its handler
(``handler.python = "module:function"``, the module a file next to the
scenario): that device is the one checked, on the scenario's machine, beside
its other devices.

The handler talks to its device through ``ctx.device``: ``status`` (requests
pending) and ``service(n)`` (clear them), as in ``examples/check/``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from irqlab.check.shared import Shared
from irqlab.kernel.action import Handler
from irqlab.kernel.flags import IRQF_ONESHOT, IRQF_SHARED, IRQF_TRIGGER_MASK
from irqlab.scenario.loader import ScenarioError, format_errors
from irqlab.scenario.loader import load as load_scenario
from irqlab.scenario.schema import DeviceSpec, Scenario

ALLOW_CODE_ENV = "IRQLAB_ALLOW_CODE"
DEFAULT_DEVICE: dict[str, Any] = {
    "kind": "line", "trigger": "level", "arrival": {"kind": "poisson", "rate": "20k/s"},
}


class CheckError(ValueError):
    """A driver or an option that cannot be checked; the message names the
    file, line or field."""


@dataclass
class Driver:
    """What a DRIVER file declares."""

    path: Path
    handler: Handler | None
    thread_fn: Handler | None
    flags: int
    device: DeviceSpec
    shared: list[Shared] = field(default_factory=list)
    #: the scenario DRIVER was, when it was one (its machine and other devices)
    scenario: Scenario | None = None

    @property
    def name(self) -> str:
        """The device's name: the scenario's, or the file's as a device name."""
        if self.scenario is not None:
            return self.device.name
        return re.sub(r"[^\w.\-]", "_", self.path.stem)

    def site(self, fn: Handler | None) -> str:
        """``file:line`` of a driver function's ``def``."""
        code = getattr(fn, "__code__", None)
        return f"{code.co_filename}:{code.co_firstlineno}" if code is not None else str(self.path)


def code_allowed(flag: bool) -> bool:
    """Consent to run the user's code: ``--allow-code`` or ``IRQLAB_ALLOW_CODE=1``."""
    return flag or os.environ.get(ALLOW_CODE_ENV) == "1"


def load_driver(path: str | Path, allow_code: bool) -> Driver:
    """Load DRIVER (only with consent) and check what it declares."""
    path = Path(path)
    if not path.is_file():
        raise CheckError(f"{path}: no such driver file")
    if path.suffix == ".toml":
        return _from_scenario(path, allow_code)
    _consent(path, allow_code)
    return _declared(path, _exec_file(path))


def _consent(path: Path, allow_code: bool) -> None:
    if not code_allowed(allow_code):
        raise CheckError(f"{path}: running a driver executes its code: pass --allow-code "
                         f"(or set {ALLOW_CODE_ENV}=1) to allow it")


def _from_scenario(path: Path, allow_code: bool) -> Driver:
    """The device of scenario ``path`` that names its handler, and that handler."""
    try:
        spec, extras = load_scenario(str(path))
    except ScenarioError as exc:
        raise CheckError(str(exc).splitlines()[0]) from None
    if "experiment" in extras:
        raise CheckError(f"{path}: an experiment of many runs, not one machine to check on")
    dut = next((d for d in spec.device if d.handler.python), None)
    if dut is None:
        raise CheckError(f"{path}: no device names its handler (handler.python = "
                         "\"module:function\"): nothing to check")
    if dut.handler.thread is not None:
        raise CheckError(f"{path}: device '{dut.name}': handler.thread is a cost model; to check a "
                         "threaded handler, write thread_fn(ctx) in a driver file")
    _consent(path, allow_code)
    module_name, _, func = (dut.handler.python or "").partition(":")
    source = path.parent / (module_name.replace(".", "/") + ".py")
    if not source.is_file():
        raise CheckError(f"{path}: device '{dut.name}': handler.python: no file {source}")
    module = _exec_file(source)
    handler = getattr(module, func, None)
    if not callable(handler):
        raise CheckError(f"{source}: no function '{func}' (named by {path}, device '{dut.name}')")
    shared = [v for v in vars(module).values() if isinstance(v, Shared)]
    return Driver(source, handler, None, IRQF_ONESHOT if dut.handler.oneshot else 0,
                  dut, shared, spec)


def _exec_file(path: Path) -> ModuleType:
    """Run the file as a module of its own: never through ``sys.path`` (an
    installed module of the same name is never picked up instead)."""
    name = f"irqlab_driver_{zlib.crc32(str(path.resolve()).encode()):08x}"
    spec = importlib.util.spec_from_file_location(name, path.resolve())
    if spec is None or spec.loader is None:
        raise CheckError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a class's module up here
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise CheckError(f"{path}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    except Exception as exc:
        line = next((f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__))
                     if Path(f.filename) == path), None)
        where = f"{path}:{line}" if line is not None else str(path)
        raise CheckError(f"{where}: loading the driver raised {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    return module


def _declared(path: Path, module: ModuleType) -> Driver:
    handler = getattr(module, "handler", None)
    thread_fn = getattr(module, "thread_fn", None)
    for what, fn in (("handler", handler), ("thread_fn", thread_fn)):
        if fn is not None and not callable(fn):
            raise CheckError(f"{path}: {what}: expected a function of the handler context, "
                             f"got {type(fn).__name__}")
    if handler is None and thread_fn is None:
        raise CheckError(f"{path}: defines neither handler(ctx) (the top half) nor thread_fn(ctx)")
    flags = getattr(module, "FLAGS", 0)
    if not isinstance(flags, int) or isinstance(flags, bool) or flags < 0:
        raise CheckError(f"{path}: FLAGS: expected IRQF_* bits (an int), got {flags!r}")
    if flags & (IRQF_TRIGGER_MASK | IRQF_SHARED):
        raise CheckError(f"{path}: FLAGS: the trigger type and IRQF_SHARED come from DEVICE "
                         "and the checks, not from FLAGS")
    device = getattr(module, "DEVICE", {})
    if not isinstance(device, dict):
        raise CheckError(f"{path}: DEVICE: expected a dict of [[device]] fields, "
                         f"got {type(device).__name__}")
    for key in ("name", "handler", "line", "shared", "cpu", "vector"):
        if key in device:
            raise CheckError(f"{path}: DEVICE.{key}: set by each check, not by the driver")
    try:
        spec = DeviceSpec.model_validate({**DEFAULT_DEVICE, **device, "name": "dut", "line": 0})
    except ValidationError as exc:
        raise CheckError(format_errors(f"{path}: DEVICE", exc).splitlines()[0]) from None
    if spec.arrival.kind == "none":
        raise CheckError(f"{path}: DEVICE.arrival: the checks need a nominal load "
                         "(periodic, poisson, bursty or replay)")
    shared = [v for v in vars(module).values() if isinstance(v, Shared)]
    return Driver(path, handler, thread_fn, flags, spec, shared)
