"""The cache of validated scenarios (irqlab.scenario.cache): a second load of
the same table gives the same plain scenario without validating it (nor
importing pydantic); anything else
(another table, other code, a damaged or foreign entry, no writable folder)
validates as without a cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from irqlab.scenario import cache, plain
from irqlab.scenario.loader import ScenarioError, builtin_names, load, load_model, parse
from irqlab.scenario.override import parse_override
from irqlab.scenario.schema import Scenario


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each call of Scenario.model_validate, recorded."""
    calls: list[object] = []
    validate = Scenario.model_validate

    def counted(data: object) -> Scenario:
        calls.append(data)
        return validate(data)

    monkeypatch.setattr(Scenario, "model_validate", counted)
    return calls


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "scenarios").glob("*.pickle"))


@pytest.mark.parametrize("name", builtin_names())
def test_a_kept_scenario_is_the_validated_one(folder: Path, validations: list[object],
                                             name: str) -> None:
    first, extras = load(name)
    assert len(validations) == 1 and len(entries(folder)) == 1
    second, extras2 = load(name)
    assert len(validations) == 1, "the second load must come from the cache"
    assert second is not first and second == first and extras2 == extras
    model, _ = load_model(name)
    assert isinstance(second, plain.kind("Scenario")) and second == plain.of(model)
    assert second.model_dump() == first.model_dump() == model.model_dump()


def test_another_table_is_another_entry(folder: Path, validations: list[object]) -> None:
    load("default")
    spec, _ = load("default", [parse_override("machine.cpus=4")])
    assert spec.machine.cpus == 4 and len(validations) == 2 and len(entries(folder)) == 2
    load("default", [parse_override("machine.cpus=4")])
    assert len(validations) == 2


def test_changed_code_is_another_entry(folder: Path, validations: list[object],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    load("default")
    monkeypatch.setattr(cache, "_fingerprint", cache.fingerprint() + "\nedited")
    load("default")
    assert len(validations) == 2 and len(entries(folder)) == 2


def stat_line(path: str | Path) -> str:
    st = os.stat(path)
    return f"{path} {st.st_mtime_ns} {st.st_size}"


def test_the_fingerprint_holds_the_loaders_sources_and_the_versions() -> None:
    """MODULES is every irqlab module the loader imports to validate, whose
    code decides what a valid scenario is; each source's stat, and those of
    pydantic's version and pydantic-core's compiled core, are in the
    fingerprint, which imports neither."""
    import pydantic.version
    import pydantic_core._pydantic_core

    code = ("import sys, irqlab.scenario.loader as loader\n"
            "loader.parse('', 'empty.toml')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'irqlab'))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout
    assert loaded.strip() == repr(sorted(cache.MODULES))
    lines = cache.fingerprint().splitlines()
    assert stat_line(Path(cache.__file__).with_name("schema.py")) in lines
    assert stat_line(pydantic.version.__file__) in lines
    assert stat_line(pydantic_core._pydantic_core.__file__ or "") in lines
    code = ("import sys, irqlab.scenario.cache as cache\n"
            "cache.fingerprint()\n"
            "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'irqlab.scenario.'))))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout
    assert loaded.strip() == "['irqlab.scenario.cache']"


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_a_damaged_entry_is_validated_again_and_replaced(folder: Path, validations: list[object],
                                                        damage: bytes | None) -> None:
    good, _ = load("default")
    (path,) = entries(folder)
    text = path.read_bytes()
    path.write_bytes(text[:-40] if damage is None else damage)
    again, _ = load("default")
    assert again == good and len(validations) == 2
    assert path.read_bytes() == text


def test_an_entry_others_may_write_is_not_used(folder: Path, validations: list[object]) -> None:
    load("default")
    (path,) = entries(folder)
    path.chmod(0o622)
    load("default")
    assert len(validations) == 2


def test_without_a_writable_folder_scenarios_still_load(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       validations: list[object]) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocked / "cache"))
    assert load("default")[0] == load("default")[0]
    assert len(validations) == 2
    assert os.listdir(tmp_path) == ["file"]


def test_errors_are_not_kept(folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[machine]\ncpus = 0\n")
    for _ in range(2):
        with pytest.raises(ScenarioError, match=r"machine\.cpus"):
            load(str(bad))
    assert entries(folder) == []


def test_parse_keeps_nothing_unless_asked(folder: Path) -> None:
    """Sweeps and experiments parse many points once each: nothing to keep."""
    parse("[machine]\ncpus = 2\n", "x.toml")
    assert entries(folder) == []
