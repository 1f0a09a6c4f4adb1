"""Validated scenarios as plain objects (irqlab.scenario.plain): the same
fields, dumps, copies and behaviour as the pydantic models they come from, and
a run from the cache that imports no pydantic."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from irqlab.scenario import plain
from irqlab.scenario.loader import builtin_names, load, load_model, parse, parse_model
from irqlab.scenario.schema import HandlerSpec, NicSpec
from irqlab.sweep.point import scenario_hash


def canonical(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("name", builtin_names())
def test_a_plain_scenario_dumps_as_its_models(name: str) -> None:
    """The sweep's scenario hash reads the loader's plain tree: its JSON must be
    pydantic's, byte for byte."""
    model, _ = load_model(name)
    spec, _ = load(name)
    assert canonical(spec.model_dump(mode="json")) == canonical(model.model_dump(mode="json"))
    assert spec.model_dump() == model.model_dump()
    assert scenario_hash(spec) == scenario_hash(model)


@pytest.mark.parametrize("name", builtin_names())
def test_fields_keep_the_models_order_and_types(name: str) -> None:
    model, _ = load_model(name)
    spec = plain.of(model)

    def walk(m: object, p: object) -> None:
        if isinstance(m, list):
            assert isinstance(p, list) and len(p) == len(m)
            for a, b in zip(m, p, strict=True):
                walk(a, b)
        elif hasattr(type(m), "model_fields"):
            assert type(p).__name__ == type(m).__name__ and isinstance(p, plain.Node)
            assert list(vars(p)) == [*type(m).model_fields, *(m.__pydantic_private__ or {})]  # type: ignore[attr-defined]
            for field in type(m).model_fields:
                walk(getattr(m, field), getattr(p, field))
        else:
            assert type(p) is type(m) and p == m

    walk(model, spec)


def test_copies_are_pydantics() -> None:
    model, _ = load_model("vm-injection")
    spec = plain.of(model)
    update = {"cpus": 7, "iommu": None}
    assert spec.machine.model_copy(update=update) == plain.of(model.machine.model_copy(update=update))
    shallow = spec.model_copy(update={"fault": []})
    assert shallow.device is spec.device and shallow.fault == [] and spec.fault == model.fault == []
    deep = spec.model_copy(deep=True)
    assert deep == spec and deep.device is not spec.device
    deep.device[0].name = "other"
    assert spec.device[0].name == model.device[0].name != "other"


def test_a_node_pickles_compares_and_prints_as_its_model() -> None:
    spec, _ = parse('[[device]]\nname = "eth0"\nkind = "msix"\n[device.nic]\nrps_cpus = [1]\n',
                    "t.toml")
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec and type(again) is type(spec) is plain.kind("Scenario")
    assert spec != plain.of(parse_model("", "empty.toml")[0])
    assert repr(spec.device[0].nic.costs) == ("NicCosts(irq=500, driver=300, protocol=1000, "
                                              "app=700, tx=200)")


def test_the_models_behaviour_is_the_nodes() -> None:
    for table in ({"rps_cpus": [[1], [0, 1]], "rx_usecs": 8}, {"rps_cpus": [1], "rx_frames": 4}):
        model = NicSpec.model_validate(table)
        nic = plain.of(model)
        assert [nic.rps_map(q) for q in (0, 1)] == [model.rps_map(q) for q in (0, 1)]
        assert nic.frames() == model.frames()
    handler = HandlerSpec()
    assert plain.of(handler).code is None
    handler.bind_code(len)
    bound = plain.of(handler)
    assert bound.code is len and bound.model_dump() == handler.model_dump()
    bound.bind_code(abs)
    assert bound.code is abs and handler.code is len


def test_a_plain_tree_passes_through() -> None:
    spec, _ = load("default")
    assert plain.of(spec) is spec


#: what a run of ``default`` (x86, Linux, no IOMMU) from the cache never imports
UNUSED = ("pydantic", "irqlab.scenario.schema", "irqlab.platform.arm64", "irqlab.platform.armv7m",
          "irqlab.os.linux.dmar", "irqlab.os.linux.amd_iommu", "irqlab.os.linux.arm_smmu_v3")


def test_a_cached_run_imports_no_pydantic(tmp_path: Path) -> None:
    """``irqlab run`` from a warm cache: no pydantic, no schema, no platform or
    IOMMU driver the scenario does not name (start-up)."""
    code = ("import sys\n"
            "from irqlab.cli import main\n"
            "try:\n"
            "    main(['run', 'default', '--duration', '1us'])\n"
            "finally:\n"
            f"    print(sorted(m for m in sys.modules if m.startswith({UNUSED!r})),\n"
            "          file=sys.stderr)\n")
    env = {**os.environ, "IRQLAB_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0]
    assert "pydantic" in runs[0].stderr.splitlines()[-1]  # the first run validated
    assert runs[1].stderr.splitlines()[-1] == "[]"
    assert runs[1].stdout == runs[0].stdout
