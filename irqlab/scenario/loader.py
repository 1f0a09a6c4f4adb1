"""Finding, reading and validating scenarios (built-in names or TOML files).

A scenario is validated by the pydantic models of :mod:`irqlab.scenario.schema`
and returned as plain objects (:mod:`irqlab.scenario.plain`), kept so in the
cache: a run from the cache imports no pydantic.  :func:`load_model` gives the
validated models themselves, to edit and validate again."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from irqlab.scenario import cache, plain
from irqlab.scenario.names import ARCHES, INJECTION_MODES, MAX_DEVICES
from irqlab.scenario.override import Override, OverrideError, apply, blame

if TYPE_CHECKING:
    from pydantic import ValidationError

    from irqlab.scenario.schema import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names file and field."""


#: the built-in scenarios, package data beside this module (a plain folder: the
#: compiled core cannot run from a zip, and importlib.resources costs a start ~3 ms)
BUILTIN = Path(__file__).with_name("builtin")


def builtin_names() -> list[str]:
    return sorted(name[:-5] for name in os.listdir(BUILTIN) if name.endswith(".toml"))


def builtin_descriptions() -> dict[str, str]:
    out = {}
    for name in builtin_names():
        data = tomllib.loads(_builtin_text(name))
        out[name] = str(data.get("scenario", {}).get("description", ""))
    return out


def _builtin_text(name: str) -> str:
    return (BUILTIN / f"{name}.toml").read_text(encoding="utf-8")


def load(ref: str, overrides: Sequence[Override] = ()) -> tuple[Scenario, dict[str, object]]:
    """Load a scenario by built-in name or path, with ``--set`` overrides
    applied to its table before validation; returns the model and the raw
    TOML tables of extensions (``[experiment]``, ``[sweep]``).  A valid
    scenario is kept for the next load of the same table
    (:mod:`irqlab.scenario.cache`)."""
    return parse(*read(ref), overrides, cached=True)


def load_model(ref: str, overrides: Sequence[Override] = ()) -> tuple[Scenario, dict[str, object]]:
    """:func:`load`, as the validated pydantic models (never cached)."""
    return parse_model(*read(ref), overrides)


def read(ref: str) -> tuple[str, str]:
    """The TOML text of a built-in name or path, and its name for errors."""
    if not ref:
        raise ScenarioError(f"no scenario given: expected a TOML file or a built-in name "
                            f"({', '.join(builtin_names())})")
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{ref}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(f"{ref}: not a TOML text file (byte {exc.object[exc.start]:#04x} "
                                f"at offset {exc.start} is not UTF-8)") from None
        source = str(path)
    elif ref in builtin_names():
        text = _builtin_text(ref)
        source = f"<builtin {ref}>"
    else:
        raise ScenarioError(
            f"{ref}: no such file and no built-in scenario of that name "
            f"(built-in: {', '.join(builtin_names())})")
    return text, source


#: Deepest nesting of arrays and tables a scenario may use (its schema needs 5:
#: ``device[0].handler.cost.values[0]``); deeper is a damaged or hostile file.
MAX_NESTING = 32


def parse(text: str, source: str, overrides: Sequence[Override] = (),
          cached: bool = False) -> tuple[Scenario, dict[str, object]]:
    """The scenario of TOML ``text`` (``source`` names it in errors) as plain
    objects, and its extension tables; ``cached``: look for it in, and keep it
    in, the cache of validated scenarios."""
    data, extras, applied = _table(text, source, overrides)
    k = cache.key(data) if cached else b""
    kept = cache.get(k) if cached else None
    if isinstance(kept, plain.kind("Scenario")):
        return kept, extras  # type: ignore[return-value]  # the plain stand-in
    scenario = plain.of(_validate(data, source, applied))
    if cached:
        cache.put(k, scenario)
    return scenario, extras


def parse_model(text: str, source: str, overrides: Sequence[Override] = ()
                ) -> tuple[Scenario, dict[str, object]]:
    """:func:`parse`, as the validated pydantic models (never cached)."""
    data, extras, applied = _table(text, source, overrides)
    return _validate(data, source, applied), extras


def _table(text: str, source: str, overrides: Sequence[Override]
           ) -> tuple[dict[str, object], dict[str, object], dict[str, Override]]:
    """The scenario's table after ``overrides``, its extension tables, and the
    overrides by the path they set (to blame in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ScenarioError(f"{source}: not valid TOML: arrays or tables nested more than "
                            f"{MAX_NESTING} deep") from None
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise ScenarioError(f"{source}: not valid TOML: an integer far outside TOML's 64-bit "
                            "range") from None
    too_deep = _deeper_than(data, MAX_NESTING)
    if too_deep:
        raise ScenarioError(f"{source}: {too_deep}: arrays or tables nested more than "
                            f"{MAX_NESTING} deep")
    devices = data.get("device")
    if isinstance(devices, list) and len(devices) > MAX_DEVICES:
        raise ScenarioError(f"{source}: device: {len(devices):,} devices; a machine holds at most "
                            f"{MAX_DEVICES:,} (the PCI requester ids bus:dev.fn of one segment, "
                            "which its IOMMU tells apart)")
    extras: dict[str, object] = {k: data.pop(k) for k in ("experiment", "sweep") if k in data}
    applied: dict[str, Override] = {}
    for ov in overrides:
        try:
            applied[apply(data, ov)] = ov
        except OverrideError as exc:  # a [sweep] value's error names the file too
            raise ScenarioError(f"{source}: {exc}" if ov.where else str(exc)) from None
    return data, extras, applied


def _validate(data: dict[str, object], source: str, applied: dict[str, Override]) -> Scenario:
    """The scenario model of ``data``, checked as a whole."""
    from pydantic import ValidationError

    from irqlab.scenario.schema import Scenario

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(one_line(source, blame(field_errors(exc), applied))) from None
    problems = consistency_errors(scenario)
    if problems:
        raise ScenarioError(one_line(source, blame(problems, applied)))
    return scenario


#: Problems one error line lists before it counts the rest.
SHOWN_ERRORS = 3


def one_line(source: str, problems: list[str]) -> str:
    """``source: problem; problem; ... (and N more)``: a scenario's problems as
    the one error line every command prints."""
    shown = "; ".join(problems[:SHOWN_ERRORS])
    more = len(problems) - SHOWN_ERRORS
    return f"{source}: {shown}" + (f" (and {more} more)" if more > 0 else "")


def format_errors(source: str, exc: ValidationError, prefix: str = "") -> str:
    """Pydantic's errors as one line (:func:`field_errors`)."""
    return one_line(source, field_errors(exc, prefix))


def field_errors(exc: ValidationError, prefix: str = "") -> list[str]:
    """Pydantic's errors, each as ``field: what was expected`` (``prefix`` goes
    before each field; the alternatives of a union, such as ``cpu`` = an int
    or a list, are one field with its first complaint)."""
    by_field: dict[str, str] = {}
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            if isinstance(part, int):
                loc += f"[{part}]"
            elif "function-" in str(part) or str(part) in _UNION_TAGS:
                continue
            elif loc == "machine" and part in ARCHES:
                continue  # the tag of the machine's variant: the field is the same in each
            else:
                loc += ("." if loc else "") + str(part)
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if err["type"] == "invalid_arch":
            loc += ".arch"
            arch = err["input"].get("arch") if isinstance(err["input"], dict) else None
            msg = f"{msg}, got {arch!r}" if arch is not None else "expected a table"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key (not allowed here)"
        elif err["type"] == "literal_error":
            msg = f"expected {err['ctx']['expected']}, got {err['input']!r}"
        elif err["type"] == "missing":
            msg = "required field missing"
        elif err["type"] != "value_error" and isinstance(err["input"], str | int | float):
            msg = f"{msg}, got {err['input']!r}"
        # a check of the whole scenario names its fields in the message
        by_field.setdefault(prefix + loc if loc else "", msg)
    return [f"{loc}: {msg}" if loc else msg for loc, msg in by_field.items()]


#: How pydantic names the members of the schema's unions in an error's location.
_UNION_TAGS = {"int", "list[int]", "str", "float", "bool"}


def _deeper_than(data: dict[str, object], limit: int) -> str:
    """The field where ``data`` nests deeper than ``limit`` ('' if nowhere),
    found without recursion."""
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > limit:
            return path
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
    return ""


def consistency_errors(spec: Scenario) -> list[str]:
    """What each field allows but the scenario as a whole does not, as
    ``field: problem`` (runs would otherwise fail or quietly ignore them)."""
    out: list[str] = []
    if spec.scenario.duration <= 0:
        out.append("scenario.duration: expected a time above zero")
    cpus = spec.machine.cpus
    for i, dev in enumerate(spec.device):
        if isinstance(dev.cpu, list) and len(dev.cpu) not in (1, dev.vectors):
            out.append(f"device[{i}].cpu: {len(dev.cpu)} CPUs for {dev.vectors} vector(s) "
                       "(give one CPU, or one per vector)")
        for part, cost in (("cost", dev.handler.cost), ("thread", dev.handler.thread)):
            if cost is None:
                continue
            field = f"device[{i}].handler.{part}"
            if cost.dist == "uniform" and (cost.min or 0) > (cost.max or 0):
                out.append(f"{field}: min is above max")
            if cost.dist == "replay" and not cost.values:
                out.append(f"{field}: replay needs at least one value")
    out += vm_errors(spec)
    kinds = {d.name: d.kind for d in spec.device}
    for i, fault in enumerate(spec.fault):
        if not 0 <= fault.cpu < cpus:
            out.append(f"fault[{i}].cpu: CPU {fault.cpu} is not one of the {cpus} CPUs")
        if fault.kind == "drop-eoi" and spec.machine.arch == "armv7m":
            out.append(f"fault[{i}]: drop-eoi has no meaning on a Cortex-M: the NVIC's end of "
                       "interrupt is the exception return (EXC_RETURN), which the core performs "
                       "itself (ARMv7-M ARM B1.5.8); a handler that never returns is slow-handler")
        if fault.kind == "stuck-line" and kinds.get(fault.device or "") == "msix":
            out.append(f"fault[{i}]: stuck-line needs a line device; '{fault.device}' is "
                       "message-signalled (MSI-X has no wire to stick)")
    return out + _action_errors(spec)


def _action_errors(spec: Scenario) -> list[str]:
    """Actions naming CPUs, devices or queues the machine does not have."""
    out: list[str] = []
    cpus = spec.machine.cpus
    devices = {d.name: d for d in spec.device}
    for i, a in enumerate(spec.action):
        where = f"action[{i}]"
        for field, cpu in [("cpus", c) for c in a.cpus or []] + [("cpu", a.cpu)]:
            if cpu is not None and cpu >= cpus:
                out.append(f"{where}.{field}: CPU {cpu} does not exist (machine has {cpus})")
                break
        dev = devices.get(a.device or "")
        if a.device is not None and dev is None:
            out.append(f"{where}.device: no device named '{a.device}'")
        elif dev is not None:
            if a.queue is not None and a.queue >= dev.vectors:
                out.append(f"{where}.queue: '{dev.name}' has {dev.vectors} queue(s) (0-{dev.vectors - 1})")
            if a.kind == "set-affinity" and dev.managed:
                out.append(f"{where}.device: '{dev.name}' is managed: the kernel sets its affinity "
                           "(writing smp_affinity_list fails with -EIO)")
            if a.kind == "coalesce" and dev.nic is None:
                out.append(f"{where}.device: '{dev.name}' is not a NIC (no [device.nic] table): "
                           "ethtool -C has nothing to set")
            elif a.kind == "coalesce" and a.adaptive and dev.nic is not None \
                    and dev.nic.receive != "napi":
                out.append(f"{where}.adaptive: '{dev.name}' receives per packet; adaptive needs "
                           "receive = 'napi' (net DIM samples in the NAPI poll)")
            if a.kind == "rate" and dev.arrival.kind in ("replay", "none"):
                out.append(f"{where}.device: '{dev.name}' has arrival kind '{dev.arrival.kind}', "
                           "which has no rate")
    return out


def vm_errors(spec: Scenario) -> list[str]:
    """What the guests (``[[vm]]``) and the devices assigned to them need of
    the machine: KVM on a Linux host of an architecture with virtualization
    extensions, an injection mode of that architecture, one host CPU of its
    own for each vCPU, MSI-X devices whose ``cpu`` names the guest's vCPUs."""
    out: list[str] = []
    ms = spec.machine
    vms = {vm.name: vm for vm in spec.vm}
    if spec.vm:
        if ms.arch not in INJECTION_MODES:
            return [f"vm: machine.arch '{ms.arch}' has no virtualization extensions "
                    f"(guests run on {' or '.join(INJECTION_MODES)})"]
        if ms.os != "linux":
            out.append(f"vm: the host is KVM, a Linux hypervisor: needs machine.os = 'linux', "
                       f"got {ms.os!r}")
    modes = INJECTION_MODES.get(ms.arch, ())
    taken: dict[int, str] = {}
    for i, vm in enumerate(spec.vm):
        if [v.name for v in spec.vm].index(vm.name) != i:
            out.append(f"vm[{i}].name: '{vm.name}' is already a VM's name")
        if vm.injection not in modes:
            out.append(f"vm[{i}].injection: {vm.injection!r} is not an {ms.arch} injection mode "
                       f"(expected {', '.join(modes)})")
        if vm.pin is None:
            continue
        if len(vm.pin) != vm.vcpus:
            out.append(f"vm[{i}].pin: {len(vm.pin)} CPUs for {vm.vcpus} vCPU(s) (one host CPU per vCPU)")
        for cpu in vm.pin:
            if not 0 <= cpu < ms.cpus:
                out.append(f"vm[{i}].pin: CPU {cpu} is not one of the {ms.cpus} host CPUs")
            elif cpu in taken:
                out.append(f"vm[{i}].pin: CPU {cpu} already runs a vCPU of '{taken[cpu]}' "
                           "(each vCPU has a host CPU of its own)")
            else:
                taken[cpu] = vm.name
    placed = sum(vm.vcpus for vm in spec.vm if vm.pin is None)
    free = sum(1 for c in range(1, ms.cpus) if c not in taken)
    if placed > free:
        out.append(f"vm: {placed} vCPU(s) to place but only {free} free host CPU(s) (CPU 0 stays "
                   "the host's; raise machine.cpus or pin them)")
    for i, dev in enumerate(spec.device):
        if dev.assign is None:
            continue
        target = vms.get(dev.assign)
        if target is None:
            out.append(f"device[{i}].assign: no VM named '{dev.assign}'"
                       + (f" (VMs: {', '.join(vms)})" if vms else " (no [[vm]] in the scenario)"))
            continue
        if dev.kind != "msix":
            out.append(f"device[{i}].assign: only MSI-X functions (SR-IOV VFs) are passed through, "
                       f"'{dev.name}' is a line device")
        cpus = dev.cpu if isinstance(dev.cpu, list) else [dev.cpu]
        bad = [c for c in cpus if not 0 <= c < target.vcpus]
        if bad:
            out.append(f"device[{i}].cpu: vCPU {bad[0]} is not one of the {target.vcpus} vCPU(s) of "
                       f"'{target.name}' (an assigned device's cpu names the guest's vCPUs)")
    assigned = {d.name: d.assign for d in spec.device if d.assign is not None}
    for i, fault in enumerate(spec.fault):
        if fault.device in assigned:
            out.append(f"fault[{i}].device: '{fault.device}' is assigned to '{assigned[fault.device]}'; "
                       "faults act on the host's devices")
    return out
