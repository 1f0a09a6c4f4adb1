"""The compiled core (mypyc, irqlab/_compiled.py): the same runs as the pure
Python sources, never a stale build, and IRQLAB_PURE_PYTHON to bypass it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from irqlab import _compiled

REPO = Path(__file__).resolve().parents[1]
COMPILED = _compiled.extension("irqlab.sim.engine") is not None


def run(tmp_path: Path, scenario: str, pure: bool) -> tuple[bytes, str]:
    """The ftrace text of a short run in a fresh interpreter, and whether it ran compiled."""
    out = tmp_path / f"{scenario}-{'pure' if pure else 'compiled'}.txt"
    env = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV}
    if pure:
        env[_compiled.PURE_ENV] = "1"
    code = ("import sys; from irqlab.cli import main; from irqlab import _compiled\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('compiled' if _compiled.compiled() else 'pure', file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, "run", scenario, "--duration", "5ms",
                           "--trace", str(out)], cwd=REPO, env=env, check=True,
                          capture_output=True, text=True)
    return out.read_bytes(), proc.stderr.strip().splitlines()[-1]


@pytest.mark.skipif(not COMPILED, reason="this install has no compiled core "
                    "(built with IRQLAB_PURE_PYTHON=1, or installed without the build step)")
@pytest.mark.parametrize("scenario", ["default", "gic-arm64", "nvic-cortex-m4", "threaded-irq"])
def test_compiled_and_pure_runs_are_byte_identical(tmp_path: Path, scenario: str) -> None:
    compiled, mode = run(tmp_path, scenario, pure=False)
    assert mode == "compiled"
    pure, mode = run(tmp_path, scenario, pure=True)
    assert mode == "pure"
    assert compiled.count(b"irq_handler_entry") > 10, "the trace must hold a real run"
    assert compiled == pure


def test_the_pure_switch_imports_every_hot_module_from_source() -> None:
    code = ("import importlib, irqlab._compiled as c\n"
            "print(all(importlib.import_module(m).__file__.endswith('.py') for m in c.MODULES))")
    env = {**os.environ, _compiled.PURE_ENV: "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "True"


def checkout(tmp_path: Path, git: bool = True) -> Path:
    """A fake checkout holding one hot module's source and its compiled module."""
    src = _compiled.source("irqlab.hw.apic", tmp_path)
    src.parent.mkdir(parents=True)
    src.write_text("# source\n")
    ext = src.with_name("apic" + _compiled.EXTENSION_SUFFIXES[0])
    ext.write_bytes(b"\x7fELF")
    os.utime(src, (1_000, 1_000))
    os.utime(ext, (2_000, 2_000))
    if git:
        (tmp_path / ".git").mkdir()
    return src


def test_a_source_edited_after_the_build_is_stale(tmp_path: Path) -> None:
    src = checkout(tmp_path)
    assert _compiled.stale(("irqlab.hw.apic",), tmp_path) == []
    os.utime(src, (3_000, 3_000))
    assert _compiled.stale(("irqlab.hw.apic",), tmp_path) == ["irqlab.hw.apic"]


def test_an_installed_package_is_never_stale(tmp_path: Path) -> None:
    src = checkout(tmp_path, git=False)
    os.utime(src, (3_000, 3_000))
    assert _compiled.stale(("irqlab.hw.apic",), tmp_path) == []


def test_a_stale_checkout_runs_pure_python_and_says_so(tmp_path: Path) -> None:
    if not COMPILED or not (REPO / ".git").exists():
        pytest.skip("needs an editable install of a checkout with its compiled core")
    src = _compiled.source("irqlab.hw.device")
    ext = _compiled.extension("irqlab.hw.device")
    assert ext is not None
    built = ext.stat().st_mtime
    os.utime(ext, (src.stat().st_mtime - 10, src.stat().st_mtime - 10))  # as if src were edited
    try:
        proc = subprocess.run([sys.executable, "-c", "import irqlab.hw.device as d; print(d.__file__)"],
                              cwd=tmp_path, check=True, capture_output=True, text=True,
                              env={k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV})
    finally:
        os.utime(ext, (built, built))
    assert proc.stdout.strip().endswith("device.py")
    assert "irqlab/hw/device.py changed after it was compiled" in proc.stderr
