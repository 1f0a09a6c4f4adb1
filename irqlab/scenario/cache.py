"""Validated scenarios kept between runs of the ``irqlab`` command.

Validating a scenario imports pydantic and builds its validator of every model
of the schema, most of the start-up of a short run; so the first load of a
scenario keeps the validated scenario as plain objects
(:mod:`irqlab.scenario.plain`), pickled, and later loads of the same table
unpickle it without importing pydantic.

An entry is found by its key: the scenario's table as parsed from TOML, after
its ``--set`` overrides (its ``repr``: types and key order included), with the
fingerprint of the code that validated it (size and modification time of the
source of each module of :data:`MODULES`, as Python's own ``.pyc`` check, of
each file at the top of the installed pydantic and pydantic-core packages
(found without importing them: their version, compiled core and code), and
the version of Python): a change to either is another entry.  The key is
compared in full before anything is unpickled.  Only valid scenarios are kept;
errors are found again each time.  The folder is ``$IRQLAB_CACHE_DIR``, else
``$XDG_CACHE_HOME/irqlab``, else ``~/.cache/irqlab`` (its ``scenarios`` folder
private to the user); an entry that is not the user's own, or that cannot be
read or written, is no entry: the scenario is validated as without a cache.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pickle
import stat
import sys
import zlib
from pathlib import Path
from typing import Any

CACHE_ENV = "IRQLAB_CACHE_DIR"
#: the modules whose code decides what a valid scenario is: the loader and what
#: it imports of irqlab (tests/scenario/test_cache.py holds the list to that)
MODULES = ("irqlab", "irqlab._compiled", "irqlab.events", "irqlab.scenario",
           "irqlab.scenario.cache", "irqlab.scenario.loader", "irqlab.scenario.names",
           "irqlab.scenario.override", "irqlab.scenario.plain", "irqlab.scenario.schema",
           "irqlab.units", "irqlab.usercode")
#: the packages that validate, by their files (none imported to find them)
PACKAGES = ("pydantic", "pydantic_core")
_fingerprint: str | None = None


def folder() -> Path:
    """Where validated scenarios are kept."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "irqlab")


def fingerprint() -> str:
    """Python's version, and the files (path, mtime in ns, size) of
    :data:`MODULES` and :data:`PACKAGES`, of the code that validates a scenario."""
    global _fingerprint
    if _fingerprint is None:
        paths = [_origin(name) for name in MODULES]
        for package in PACKAGES:
            top = os.path.dirname(_origin(package))
            paths += sorted(e.path for e in os.scandir(top) if e.is_file())
        files = []
        for path in paths:
            st = os.stat(path)
            files.append(f"{path} {st.st_mtime_ns} {st.st_size}")
        _fingerprint = "\n".join([sys.version, *files])
    return _fingerprint


def _origin(module: str) -> str:
    """The file of ``module``, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"no module {module}")
    return spec.origin


def key(table: dict[str, Any]) -> bytes:
    """The key of a scenario's table (after overrides) under this code."""
    return f"{fingerprint()}\n{table!r}".encode()


def _entry(k: bytes) -> Path:
    return folder() / "scenarios" / f"{zlib.crc32(k):08x}-{len(k):x}.pickle"


def get(k: bytes) -> Any | None:
    """The scenario kept under ``k``, or None."""
    try:
        with open(_entry(k), "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return None
            head = f.read(len(k) + 1)
            if head != k + b"\0":
                return None
            return pickle.loads(f.read())
    except Exception:  # no entry, or a damaged one: validate as without a cache
        return None


def put(k: bytes, scenario: Any) -> None:
    """Keep ``scenario`` under ``k`` (written whole, then renamed into place)."""
    path = _entry(k)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(k + b"\0")
            f.write(pickle.dumps(scenario, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
