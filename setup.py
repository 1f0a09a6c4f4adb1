"""Builds the hot modules listed in irqlab/_compiled.py with mypyc, and its C
modules (the rest of the package is plain Python).  Once they are built, the
SHA-256 of each compiled source (and its size and modification time) goes to
irqlab/_compiled.json beside them, which irqlab checks before it runs them.
IRQLAB_PURE_PYTHON=1 builds nothing; so does a machine
whose C compiler fails, with a warning: irqlab then runs as pure Python."""

import json
import os
import runpy
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError

compiled = runpy.run_path("irqlab/_compiled.py")
MODULES = compiled["MODULES"]
PATHS = [m.replace(".", "/") + ".py" for m in MODULES]
C_MODULES = compiled["C_MODULES"]


class BuildExt(build_ext):
    """build_ext, then the record of what was compiled, next to the compiled
    modules (the source tree for an editable install, the wheel otherwise)."""

    def run(self) -> None:
        try:
            super().run()
        except (BaseError, CCompilerError, OSError) as exc:
            for ext in self.extensions:  # no half-built core
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            reason = f"the C compiler failed: {type(exc).__name__}; `pip install -v` shows it"
            print(f"WARNING: irqlab's compiled core was not built ({exc}); irqlab will run "
                  f"as pure Python and say so when it starts", file=sys.stderr)
            record = {compiled["FAILED"]: reason}
        else:
            sources = [(m, compiled["source"](m, Path())) for m in MODULES + C_MODULES]
            record = {m: compiled["digest"](p) for m, p in sources}
            record[compiled["STAT"]] = {m: compiled["fingerprint"](p) for m, p in sources}
        self._record_path().write_text(json.dumps(record, indent=1) + "\n")

    def get_outputs(self) -> list[str]:
        return [*super().get_outputs(), str(self._record_path())]

    def _record_path(self) -> Path:
        """irqlab/_compiled.json beside the compiled modules."""
        return Path(self.get_ext_fullpath(MODULES[0])).parents[1] / compiled["RECORD"]


if os.environ.get(compiled["PURE_ENV"]):
    # Compiled modules left in place by an earlier build must not be trusted.
    Path("irqlab", compiled["RECORD"]).unlink(missing_ok=True)
    setup()
else:
    from mypyc.build import mypycify

    # An empty config: pyproject's [tool.mypy] loads the pydantic plugin, which the
    # build environment has no need for.  Without it the scenario schema does not
    # type-check, so errors are reported for the compiled modules only (the ones
    # they import are followed silently: irqlab.platform.x86_eoi's package imports
    # every platform, and they the schema); CI's mypy checks everything.
    c_modules = [Extension(m, [str(compiled["source"](m, Path()))], extra_compile_args=["-O2"])
                 for m in C_MODULES]
    setup(ext_modules=mypycify(["--config-file=", "--follow-imports=silent", *PATHS],
                               opt_level="3") + c_modules,
          cmdclass={"build_ext": BuildExt})
