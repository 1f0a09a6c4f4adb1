"""Builds the hot modules listed in irqlab/_compiled.py with mypyc (the rest of
the package is plain Python) and records the SHA-256 of each compiled source in
irqlab/_compiled.json, which irqlab checks before it runs them.
IRQLAB_PURE_PYTHON=1 builds nothing."""

import json
import os
import runpy
from pathlib import Path

from setuptools import setup

compiled = runpy.run_path("irqlab/_compiled.py")
record = Path("irqlab", compiled["RECORD"])
ext_modules = []
if os.environ.get(compiled["PURE_ENV"]):
    record.unlink(missing_ok=True)  # compiled modules left in place must not be trusted
else:
    from mypyc.build import mypycify

    paths = [m.replace(".", "/") + ".py" for m in compiled["MODULES"]]
    record.write_text(json.dumps(
        {m: compiled["digest"](Path(p)) for m, p in zip(compiled["MODULES"], paths, strict=True)},
        indent=1) + "\n")
    # An empty config: pyproject's [tool.mypy] loads the pydantic plugin, which the
    # build environment has no need for.
    ext_modules = mypycify(["--config-file=", *paths], opt_level="3")

setup(ext_modules=ext_modules)
