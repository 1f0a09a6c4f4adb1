"""The compiled core (mypyc, irqlab/_compiled.py): the same runs as the pure
Python sources, never a stale build, and IRQLAB_PURE_PYTHON to bypass it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from irqlab import _compiled

REPO = Path(__file__).resolve().parents[1]
COMPILED = bool(_compiled.compiled_modules())


def env(pure: bool, pythonpath: Path | None = None) -> dict[str, str]:
    """This process's environment, with the pure switch on or off (and a package copy first)."""
    out = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV}
    if pure:
        out[_compiled.PURE_ENV] = "1"
    if pythonpath is not None:
        out["PYTHONPATH"] = str(pythonpath)
    return out


def run(tmp_path: Path, scenario: str, pure: bool) -> tuple[bytes, str]:
    """The ftrace text of a short run in a fresh interpreter, and whether it ran compiled."""
    out = tmp_path / f"{scenario}-{'pure' if pure else 'compiled'}.txt"
    code = ("import sys; from irqlab.cli import main; from irqlab import _compiled\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('compiled' if _compiled.compiled() else 'pure', file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, "run", scenario, "--duration", "5ms",
                           "--trace", str(out)], cwd=REPO, env=env(pure), check=True,
                          capture_output=True, text=True)
    return out.read_bytes(), proc.stderr.strip().splitlines()[-1]


@pytest.mark.skipif(not COMPILED, reason="this install has no compiled core "
                    "(built with IRQLAB_PURE_PYTHON=1, or installed without the build step)")
@pytest.mark.parametrize("scenario", ["default", "gic-arm64", "nvic-cortex-m4", "threaded-irq"])
def test_compiled_and_pure_runs_are_byte_identical(tmp_path: Path, scenario: str) -> None:
    compiled, mode = run(tmp_path, scenario, pure=False)
    assert mode == "compiled", f"the compiled core is stale ({_compiled.stale()}): rebuild it"
    pure, mode = run(tmp_path, scenario, pure=True)
    assert mode == "pure"
    assert compiled.count(b"irq_handler_entry") > 10, "the trace must hold a real run"
    assert compiled == pure


def test_the_pure_switch_imports_every_hot_module_from_source() -> None:
    code = ("import importlib, irqlab._compiled as c\n"
            "print(all(importlib.import_module(m).__file__.endswith('.py') for m in c.MODULES))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env(True), check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "True"


def built_tree(tmp_path: Path, *modules: str) -> Path:
    """A fake package tree: each module's source and compiled file, and a build record."""
    record = {}
    for module in modules:
        src = _compiled.source(module, tmp_path)
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(f"# {module}\n")
        src.with_name(src.stem + _compiled.EXTENSION_SUFFIXES[0]).write_bytes(b"\x7fELF")
        record[module] = _compiled.digest(src)
    (tmp_path / "irqlab" / _compiled.RECORD).write_text(json.dumps(record))
    return tmp_path


def test_compiled_modules_built_from_the_sources_beside_them_run(tmp_path: Path) -> None:
    root = built_tree(tmp_path, "irqlab.hw.apic", "irqlab.sim.engine")
    assert _compiled.compiled_modules(root) == ["irqlab.hw.apic", "irqlab.sim.engine"]
    assert _compiled.stale(root) == []


def test_a_source_edited_after_the_build_is_stale_until_it_is_restored(tmp_path: Path) -> None:
    root = built_tree(tmp_path, "irqlab.hw.apic", "irqlab.sim.engine")
    src = _compiled.source("irqlab.hw.apic", root)
    text = src.read_text()
    src.write_text(text + "# edited\n")
    assert _compiled.stale(root) == ["irqlab.hw.apic"]
    src.write_text(text)
    os.utime(src)  # a newer file with the same text is not stale
    assert _compiled.stale(root) == []


def test_sources_whose_stat_matches_the_record_are_not_hashed(tmp_path: Path, monkeypatch:
                                                              pytest.MonkeyPatch) -> None:
    """The record's size and mtime of each source spare hashing it at every
    start; a source whose stat changed is hashed, and stale if its text did."""
    root = built_tree(tmp_path, "irqlab.hw.apic", "irqlab.sim.engine")
    path = root / "irqlab" / _compiled.RECORD
    record = json.loads(path.read_text())
    record[_compiled.STAT] = {m: _compiled.fingerprint(_compiled.source(m, root))
                              for m in ("irqlab.hw.apic", "irqlab.sim.engine")}
    path.write_text(json.dumps(record))
    hashed: list[Path] = []
    digest = _compiled.digest
    monkeypatch.setattr(_compiled, "digest", lambda p: hashed.append(p) or digest(p))
    assert _compiled.stale(root) == [] and hashed == []
    src = _compiled.source("irqlab.hw.apic", root)
    src.write_text(src.read_text().upper())  # same size, new text
    os.utime(src, ns=(1, 1))
    assert _compiled.stale(root) == ["irqlab.hw.apic"] and hashed == [src]


def test_a_compiled_module_dropped_from_the_list_is_stale(tmp_path: Path) -> None:
    root = built_tree(tmp_path, "irqlab.hw.apic", "irqlab.hw.oldchip")
    assert _compiled.stale(root) == ["irqlab.hw.oldchip"]


def test_compiled_modules_without_a_build_record_are_stale(tmp_path: Path) -> None:
    root = built_tree(tmp_path, "irqlab.hw.apic")
    (root / "irqlab" / _compiled.RECORD).unlink()
    assert _compiled.stale(root) == ["irqlab.hw.apic"]


def test_a_tree_with_nothing_compiled_is_never_stale(tmp_path: Path) -> None:
    src = _compiled.source("irqlab.hw.apic", tmp_path)
    src.parent.mkdir(parents=True)
    src.write_text("# apic\n")
    assert _compiled.stale(tmp_path) == []


@pytest.mark.skipif(not COMPILED, reason="this install has no compiled core")
def test_an_edited_copy_of_the_compiled_package_runs_pure_python_and_says_so(tmp_path: Path) -> None:
    """The real compiled files, copied with the package: editing one hot source
    makes every hot module run from source, with one line on stderr."""
    import irqlab

    pkg = Path(irqlab.__file__).parent
    shutil.copytree(pkg, tmp_path / "irqlab", ignore=shutil.ignore_patterns("__pycache__"))
    for lib in pkg.parent.glob("*__mypyc*"):  # the shared library of the compiled group
        shutil.copy(lib, tmp_path)
    probe = ("import irqlab._compiled as c, irqlab.hw.device as d, irqlab.hw.apic as a\n"
             "print(c.compiled(), d.__file__, a.__file__)")

    def probe_run() -> tuple[str, str]:
        proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path,
                              env=env(False, tmp_path), check=True, capture_output=True, text=True)
        return proc.stdout.strip(), proc.stderr

    out, err = probe_run()
    assert out.startswith(f"True {tmp_path}") and err == ""
    device = tmp_path / "irqlab" / "hw" / "device.py"
    device.write_text(device.read_text() + "# edited\n")
    out, err = probe_run()
    assert out == f"False {device} {tmp_path / 'irqlab' / 'hw' / 'apic.py'}"
    assert "the compiled irqlab.hw.device was not built from its source" in err


def test_an_install_whose_compiler_failed_says_so_when_it_starts(tmp_path: Path) -> None:
    """setup.py records the failure; irqlab then runs its sources and says why,
    unless pure Python was asked for."""
    import irqlab

    shutil.copytree(Path(irqlab.__file__).parent, tmp_path / "irqlab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", _compiled.RECORD))
    reason = "the C compiler failed: CompileError; `pip install -v` shows it"
    (tmp_path / "irqlab" / _compiled.RECORD).write_text(json.dumps({_compiled.FAILED: reason}))
    assert _compiled.build_failure(tmp_path) == reason
    assert _compiled.stale(tmp_path) == []
    probe = [sys.executable, "-c", "import irqlab.sim.engine as e; print(e.__file__)"]
    proc = subprocess.run(probe, cwd=tmp_path, env=env(False, tmp_path), check=True,
                          capture_output=True, text=True)
    assert proc.stdout.strip() == str(tmp_path / "irqlab" / "sim" / "engine.py")
    assert f"installed without its compiled core ({reason})" in proc.stderr
    proc = subprocess.run(probe, cwd=tmp_path, env=env(True, tmp_path), check=True,
                          capture_output=True, text=True)
    assert proc.stderr == "", "asked for pure Python: no note"


@pytest.mark.parametrize("pure", [False, True])
def test_version_says_how_the_core_runs(pure: bool) -> None:
    if not pure and not COMPILED:
        pytest.skip("this install has no compiled core")
    out = subprocess.run([sys.executable, "-m", "irqlab", "--version"], cwd=REPO, env=env(pure),
                         check=True, capture_output=True, text=True).stdout
    assert out.strip().endswith("(pure Python)" if pure else "(compiled core)")
