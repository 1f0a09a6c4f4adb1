"""Builds the hot modules listed in irqlab/_compiled.py with mypyc (the rest of
the package is plain Python).  IRQLAB_PURE_PYTHON=1 builds nothing."""

import os
import runpy

from setuptools import setup

compiled = runpy.run_path("irqlab/_compiled.py")
ext_modules = []
if not os.environ.get(compiled["PURE_ENV"]):
    from mypyc.build import mypycify

    paths = [m.replace(".", "/") + ".py" for m in compiled["MODULES"]]
    # An empty config: pyproject's [tool.mypy] loads the pydantic plugin, which the
    # build environment has no need for.
    ext_modules = mypycify(["--config-file=", *paths], opt_level="3")

setup(ext_modules=ext_modules)
