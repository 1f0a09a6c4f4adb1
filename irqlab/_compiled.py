"""The event loop's hot modules, compiled with mypyc when irqlab is installed.

The same sources run interpreted when ``IRQLAB_PURE_PYTHON`` is set (at build
time: nothing is compiled; at run time: the compiled modules are bypassed).
A compiled module runs only if it was built from the very source beside it:
``setup.py`` records the SHA-256 of each compiled source in ``_compiled.json``
(and its size and modification time: a start hashes only a source whose
``stat`` changed, as Python's own ``.pyc`` check), and when any compiled module
disagrees with its record (a source edited after an editable install, a module
dropped from the list, no record at all) every hot module runs from source,
never a mix: compiled modules call each other's native classes directly.  Compiled and pure runs give byte-identical traces
(tests/test_compiled.py).  The C extension modules of ``C_MODULES`` (built
from the ``.c`` source of the same name) follow the same rules; code that
imports one falls back to Python of identical results when the import fails,
as it does under ``IRQLAB_PURE_PYTHON`` and when any module is stale.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from typing import Any

#: compiled by setup.py; this module imports nothing from irqlab so setup.py can read it
MODULES = (
    "irqlab.sim.engine",
    "irqlab.events",
    "irqlab.hw.controller",
    "irqlab.hw.apic",
    "irqlab.hw.ioapic",
    "irqlab.hw.msi",
    "irqlab.hw.gic",
    "irqlab.hw.nvic",
    "irqlab.hw.arrivals",
    "irqlab.hw.device",
    "irqlab.hw.nic",
    "irqlab.kernel.action",
    "irqlab.kernel.cpu",
    "irqlab.kernel.dispatch",
    "irqlab.kernel.flow",
    "irqlab.kernel.handle",
    "irqlab.kernel.desc",
    "irqlab.kernel.softirq",
    "irqlab.kernel.spurious",
    "irqlab.kernel.irqthread",
    "irqlab.kernel.sched",
    "irqlab.kernel.kernel",
    "irqlab.kernel.napi",
    "irqlab.machine.isr",
    "irqlab.platform.x86_eoi",
    "irqlab.os.baremetal",
    "irqlab.analysis.histogram",
    "irqlab.analysis.irqstats",
    "irqlab.analysis.deferred",
)

#: C extension modules built by setup.py, each from the ``.c`` source beside it
C_MODULES = ("irqlab.observe._ftrace_scan",)

PURE_ENV = "IRQLAB_PURE_PYTHON"
RECORD = "_compiled.json"  # {module: SHA-256 of the source it was compiled from}
STAT = "stat"  # the record's key of {module: [st_mtime_ns, st_size]} of each source at build
FAILED = "build-failed"  # the record's key when the C compiler failed at install
_ROOT = Path(__file__).resolve().parent.parent


def source(module: str, root: Path = _ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".c" if module in C_MODULES else ".py")


def digest(path: Path) -> str:
    import hashlib  # only when compiled modules are found: start-up stays cheap

    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(path: Path) -> list[int]:
    """``[st_mtime_ns, st_size]`` of ``path``: what the build record compares first."""
    st = path.stat()
    return [st.st_mtime_ns, st.st_size]


def compiled_modules(root: Path = _ROOT) -> list[str]:
    """Names of the extension modules found in the package (built in place or installed)."""
    out = set()
    for folder, _, files in os.walk(root / "irqlab"):  # os.walk: a third of rglob's cost
        for name in files:
            for suffix in EXTENSION_SUFFIXES:
                if name.endswith(suffix):  # the longest suffix comes first
                    rel = Path(folder, name[: -len(suffix)]).relative_to(root)
                    out.add(".".join(rel.parts))
                    break
    return sorted(out)


def _record(root: Path) -> dict[str, Any]:
    import json

    try:
        record = json.loads((root / "irqlab" / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def build_failure(root: Path = _ROOT) -> str | None:
    """Why this install has no compiled core, when its build tried and failed."""
    return _record(root).get(FAILED)


def stale(root: Path = _ROOT) -> list[str]:
    """Compiled modules that must not run: not built from the source beside
    them, or not (any more) in ``MODULES``."""
    found = compiled_modules(root)
    if not found:
        return []
    record = _record(root)
    stats = record.get(STAT)
    stats = stats if isinstance(stats, dict) else {}

    def built_from(src: Path, module: str) -> bool:
        return src.exists() and (stats.get(module) == fingerprint(src)
                                 or record.get(module) == digest(src))

    return [m for m in found
            if m not in MODULES + C_MODULES or not built_from(source(m, root), m)]


def compiled() -> bool:
    """Whether the hot modules run compiled in this process."""
    import irqlab.sim.engine as engine

    return not (engine.__file__ or "").endswith(".py")


class _SourceFinder:
    """Imports the listed modules from their ``.py`` source, ahead of any compiled
    module, and refuses to import the C modules (a meta path finder; not derived
    from ``importlib.abc.MetaPathFinder``, whose import costs start-up more than
    the rest of this module)."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name in C_MODULES:
            raise ModuleNotFoundError(f"{name} is not used: hot modules run as pure Python",
                                      name=name)
        return spec_from_file_location(name, source(name)) if name in self.modules else None


def select() -> None:
    """Called once by ``irqlab/__init__``, before any hot module is imported."""
    if os.environ.get(PURE_ENV):
        sys.meta_path.insert(0, _SourceFinder(set(MODULES)))
        return
    bad = stale()
    if bad:
        sys.meta_path.insert(0, _SourceFinder(set(MODULES) | set(bad)))
        print(f"irqlab: the compiled {bad[0]} was not built from its source; running the hot "
              f"modules as pure Python (slower) until `pip install -e .` rebuilds them",
              file=sys.stderr)
        return
    failure = build_failure()
    if failure:
        print(f"irqlab: installed without its compiled core ({failure}); running pure Python "
              f"(slower). Reinstall with a working C compiler, or set {PURE_ENV}=1 to run pure "
              f"Python without this note", file=sys.stderr)
