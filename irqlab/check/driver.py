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

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from irqlab.check.shared import Shared
from irqlab.kernel.action import Handler
from irqlab.kernel.flags import IRQF_ONESHOT, IRQF_SHARED, IRQF_TRIGGER_MASK
from irqlab.scenario.loader import ScenarioError, format_errors
from irqlab.scenario.loader import load_model as load_scenario
from irqlab.scenario.schema import DeviceSpec, Scenario
from irqlab.usercode import UserCodeError, bind_scenario_code, load_module

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


def load_driver(path: str | Path, allow_code: bool) -> Driver:
    """Load DRIVER (only with consent) and check what it declares."""
    path = Path(path)
    if not path.is_file():
        raise CheckError(f"{path}: no such driver file")
    if path.suffix == ".toml":
        return _from_scenario(path, allow_code)
    try:
        return _declared(path, load_module(path, allowed=allow_code))
    except UserCodeError as exc:
        raise CheckError(str(exc)) from None
    except SystemExit as exc:  # the file called sys.exit() at import: not a driver
        raise CheckError(f"{path}: cannot load: it called sys.exit({exc.code!r})") from None


def _read_scenario(path: Path) -> Scenario:
    try:
        spec, extras = load_scenario(str(path))
    except ScenarioError as exc:
        raise CheckError(str(exc).splitlines()[0]) from None
    if "experiment" in extras:
        raise CheckError(f"{path}: an experiment of many runs, not one machine to check on")
    return spec


def _bind(spec: Scenario, path: Path, allow_code: bool) -> None:
    """Load the code ``spec``'s devices name, from its folder (with consent)."""
    try:
        bind_scenario_code(spec, path.parent, allowed=allow_code)
    except UserCodeError as exc:
        raise CheckError(f"{path}: {exc}") from None


def load_machine(path: str | Path, allow_code: bool) -> Scenario:
    """A scenario to check a driver on (``--scenario``): its machine and its
    other devices, the code they name loaded with the same consent."""
    spec = _read_scenario(Path(path))
    _bind(spec, Path(path), allow_code)
    return spec


def _from_scenario(path: Path, allow_code: bool) -> Driver:
    """The device of scenario ``path`` that names its handler, and that handler."""
    spec = _read_scenario(path)
    dut = next((d for d in spec.device if d.handler.python), None)
    if dut is None:
        raise CheckError(f"{path}: no device names its handler (handler.python = "
                         "\"module:function\"): nothing to check")
    if dut.handler.thread is not None:
        raise CheckError(f"{path}: device '{dut.name}': handler.thread is a cost model; to check a "
                         "threaded handler, write thread_fn(ctx) in a driver file")
    _bind(spec, path, allow_code)
    handler = dut.handler.code
    assert handler is not None  # bound above
    module = sys.modules[handler.__module__]  # the file, as usercode executed it
    source = Path(module.__file__ or path)
    shared = [v for v in vars(module).values() if isinstance(v, Shared)]
    return Driver(source, handler, None, IRQF_ONESHOT if dut.handler.oneshot else 0,
                  dut, shared, spec)


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
