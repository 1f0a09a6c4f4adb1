"""The event loop's hot modules, compiled with mypyc when irqlab is installed.

The same sources run interpreted when ``IRQLAB_PURE_PYTHON`` is set (at build
time: nothing is compiled; at run time: the compiled modules are bypassed),
and in a checkout whose sources changed after its editable install compiled
them: a stale compiled module must never run in place of its source.
Compiled and pure runs give byte-identical traces (tests/test_compiled.py).
"""

from __future__ import annotations

import os
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path

#: compiled by setup.py; this module imports nothing from irqlab so setup.py can read it
MODULES = (
    "irqlab.sim.engine",
    "irqlab.hw.controller",
    "irqlab.hw.apic",
    "irqlab.hw.ioapic",
    "irqlab.hw.msi",
    "irqlab.hw.gic",
    "irqlab.hw.nvic",
    "irqlab.hw.arrivals",
    "irqlab.hw.device",
    "irqlab.kernel.baremetal",
)

PURE_ENV = "IRQLAB_PURE_PYTHON"
_ROOT = Path(__file__).resolve().parent.parent


def source(module: str, root: Path = _ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def extension(module: str, root: Path = _ROOT) -> Path | None:
    """The compiled module that would be imported instead of the source, if any."""
    src = source(module, root)
    for suffix in EXTENSION_SUFFIXES:
        ext = src.with_name(src.stem + suffix)
        if ext.exists():
            return ext
    return None


def stale(modules: tuple[str, ...] = MODULES, root: Path = _ROOT) -> list[str]:
    """Modules of a checkout whose source is newer than their compiled module.

    Only a git checkout (an editable install) can be edited after building;
    an installed package has no ``.git`` beside it and is never stale."""
    if not (root / ".git").exists():
        return []
    out = []
    for module in modules:
        ext = extension(module, root)
        if ext is not None and source(module, root).stat().st_mtime > ext.stat().st_mtime:
            out.append(module)
    return out


def compiled() -> bool:
    """Whether the hot modules run compiled in this process."""
    engine = sys.modules.get("irqlab.sim.engine")
    file = getattr(engine, "__file__", "") or ""
    return not file.endswith(".py")


class _SourceFinder(MetaPathFinder):
    """Imports the listed modules from their ``.py`` source, ahead of any compiled module."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        return spec_from_file_location(name, source(name)) if name in MODULES else None


def select() -> None:
    """Called once by ``irqlab/__init__``, before any hot module is imported."""
    if os.environ.get(PURE_ENV):
        sys.meta_path.insert(0, _SourceFinder())
        return
    old = stale()
    if old:
        sys.meta_path.insert(0, _SourceFinder())
        print(f"irqlab: {source(old[0]).relative_to(_ROOT)} changed after it was compiled; running "
              f"pure Python (slower) until `pip install -e .` rebuilds it", file=sys.stderr)
