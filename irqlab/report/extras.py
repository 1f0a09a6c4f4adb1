"""Optional dependencies: a feature whose library is not installed says, in one
line, which extra installs it (``pip install 'irqlab[plot]'``)."""

from __future__ import annotations

import importlib

PLOT = ("matplotlib", "plot")
"""--html and --png draw with matplotlib."""

PERFETTO = ("perfetto.trace_builder.proto_builder", "perfetto")
"""--perfetto writes with the perfetto package's protos and builder."""

PARQUET = ("pyarrow.parquet", "sweep")
"""irqlab sweep -o FILE.parquet writes with pyarrow."""

DASK = ("distributed", "dask")
"""irqlab sweep --dask runs on Dask distributed."""


class MissingExtra(Exception):
    """The library of an optional feature is not installed."""


def require(feature: tuple[str, str]) -> None:
    """Import ``feature``'s module or raise :class:`MissingExtra` naming its extra."""
    module, extra = feature
    try:
        importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingExtra(f"{top} is not installed: pip install 'irqlab[{extra}]'") from None
