"""Sweep results as a table (Parquet through pyarrow, or CSV) and the
aggregate per point.

Rows: the axis columns (named by their path), ``seed``, ``scenario_hash``,
``irqlab_version``, then the report's numbers (``irqlab.sweep.flatten``); a
``warnings.KIND`` a run did not have counts 0.  The aggregate
(``NAME.agg.parquet`` / ``NAME.agg.csv``) has one row per point: the axis
columns, ``scenario_hash``, ``irqlab_version``, ``seeds`` (how many), and for
each number ``M`` the columns ``M.mean``, ``M.ci95_low`` and ``M.ci95_high``
(Student's t across seeds; empty with a single seed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from irqlab.sweep.confidence import mean_ci95
from irqlab.sweep.point import HASH, SEED, VERSION, Row

FORMATS = (".parquet", ".csv")


class TableError(ValueError):
    """An output that cannot be read or written; the message names the file."""


def agg_path(output: Path) -> Path:
    """``results.parquet`` -> ``results.agg.parquet``."""
    return output.with_name(f"{output.stem}.agg{output.suffix}")


def row_key(row: Row, axes: Sequence[str]) -> tuple[str, ...]:
    """What identifies a run: its axis values, seed, scenario hash and irqlab
    version, as text (a CSV cell and the value it came from agree)."""
    return (*point_key(row, axes), _text(row.get(SEED)))


def point_key(row: Row, axes: Sequence[str]) -> tuple[str, ...]:
    return (*(_text(row.get(c)) for c in axes), str(row.get(HASH)), str(row.get(VERSION)))


def _text(value: Any) -> str:
    """A cell as key text: numbers by value (``1``, ``1.0`` and the CSV text
    ``"1"`` agree, as a Parquet column of ints and floats reads back as floats)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def columns(rows: Sequence[Row], axes: Sequence[str]) -> list[str]:
    """Axis columns, the run's identity, then every other column in first-seen order."""
    out = dict.fromkeys((*axes, SEED, HASH, VERSION))
    for row in rows:
        out.update(dict.fromkeys(row))
    return list(out)


def fill_warnings(rows: Sequence[Row], names: Sequence[str]) -> list[Row]:
    """Rows with a 0 for each ``warnings.KIND`` column they lack."""
    kinds = [c for c in names if c.startswith("warnings.")]
    return [{**row, **{k: 0 for k in kinds if row.get(k) in (None, "")}} for row in rows]


def read_rows(path: Path) -> list[Row]:
    """The rows of an existing output (CSV cells as text, empty as None).  A
    non-empty file without the identity columns (``seed``, ``scenario_hash``,
    ``irqlab_version``) is not a sweep's table and is refused, rows or not,
    so a sweep never overwrites it."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            _check_identity(path, table.column_names)
            return list(table.to_pylist())
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is not None:
                _check_identity(path, reader.fieldnames)
            return [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
    except TableError:
        raise
    except OSError as exc:
        raise TableError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise TableError(f"{path}: not a results table ({exc})") from None


def _check_identity(path: Path, names: Sequence[str]) -> None:
    missing = [c for c in (SEED, HASH, VERSION) if c not in names]
    if missing:
        raise TableError(f"{path}: not a sweep's results table (no column {missing[0]!r}); "
                         "write to another file or remove it")


def write_rows(f: IO[bytes], suffix: str, rows: Sequence[Row], names: Sequence[str]) -> None:
    """Write ``rows`` with columns ``names`` to the binary file ``f`` as
    Parquet or CSV (by ``suffix``)."""
    if suffix == ".parquet":
        _write_parquet(f, rows, names)
        return
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.DictWriter(text, fieldnames=list(names), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text.flush()
    text.detach()


def _write_parquet(f: IO[bytes], rows: Sequence[Row], names: Sequence[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # an axis of mixed types
            arrays[name] = pa.array([None if v is None else str(v) for v in values])
    pq.write_table(pa.table(arrays), f)


def aggregate(rows: Sequence[Row], axes: Sequence[str]) -> tuple[list[Row], list[str]]:
    """One row per point (in the order of ``rows``): ``seeds`` and each
    number's mean and 95 % interval across the point's seeds."""
    names = columns(rows, axes)
    metrics = [c for c in names if c not in (*axes, SEED, HASH, VERSION)]
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        groups.setdefault(point_key(row, axes), []).append(row)
    out = []
    for members in groups.values():
        first = members[0]
        agg: Row = {c: first.get(c) for c in (*axes, HASH, VERSION)}
        agg["seeds"] = len(members)
        for m in metrics:
            values = [float(v) for v in (r.get(m) for r in members) if v not in (None, "")]
            mean, low, high = mean_ci95(values) if values else (None, None, None)
            agg.update({f"{m}.mean": mean, f"{m}.ci95_low": low, f"{m}.ci95_high": high})
        out.append(agg)
    agg_names = [*axes, HASH, VERSION, "seeds",
                 *(f"{m}.{s}" for m in metrics for s in ("mean", "ci95_low", "ci95_high"))]
    return out, agg_names
