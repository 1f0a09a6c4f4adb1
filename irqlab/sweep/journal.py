"""Finished rows kept durably while a sweep runs: ``OUTPUT.journal``, one JSON
row per line, appended and fsync'ed as each batch finishes.  A sweep killed at
any moment loses only the batches still running; a line torn by the kill is
ignored.  When the sweep ends its rows go into the output and the journal is
removed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from irqlab.sweep.point import Row


def journal_path(output: Path) -> Path:
    return output.with_name(output.name + ".journal")


def read_journal(path: Path) -> list[Row]:
    """The complete rows of a journal (none when there is no journal)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line a kill cut short
        if isinstance(row, dict):
            rows.append(row)
    return rows


def append_journal(path: Path, rows: Iterable[Row]) -> None:
    """Append ``rows`` and make them durable before returning."""
    data = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
    with open(path, "a", encoding="utf-8") as f:
        if f.tell() and not _ends_with_newline(path):
            f.write("\n")  # a torn line stays a line of its own
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
