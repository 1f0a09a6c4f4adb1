"""Common base of the streaming trace writers: a text destination that is
either a path (opened and closed by the writer) or an open file (left open)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Self


class TextSink:
    """Owns ``self._out``; subclasses write to it and finish in :meth:`close`."""

    def __init__(self, path_or_file: str | Path | IO[str]) -> None:
        if isinstance(path_or_file, str | Path):
            self._out: IO[str] = open(path_or_file, "w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._out = path_or_file
            self._owned = False

    def close(self) -> None:
        """Flush, and close the file if this writer opened it."""
        if self._owned:
            self._out.close()
        else:
            self._out.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
