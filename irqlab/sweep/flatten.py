"""A report's JSON (``irqlab run --json``) as one flat row of numbers.

Every number is a column named by its dotted path (``latency_ns.24.p99``,
``counters.LOC.total``); a list of numbers is indexed (``hardirq_cpu_share.0``,
``counters.24.per_cpu.1``).  Lists of records are keyed by what names them:
``warnings.KIND`` counts the warnings of each kind, ``iommu_faults.DEVICE``
the IOMMU faults of each device, ``results.THREAD.FIELD`` and
``storm_suspects.IRQ.FIELD`` hold their numbers.  Text (titles, names, the
kernel log) and nulls are left out.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

#: report keys already columns of the row (``seed``) or not measurements
SKIPPED = frozenset({"seed", "log"})

#: lists of records and the field that names each record
KEYED = {"results": "thread", "storm_suspects": "irq"}


def flatten_report(report: dict[str, Any]) -> dict[str, int | float | bool]:
    row: dict[str, int | float | bool] = {}
    for key, value in report.items():
        if key in SKIPPED:
            continue
        if key == "warnings":
            row.update((f"warnings.{kind}", n)
                       for kind, n in sorted(Counter(w["kind"] for w in value).items()))
        elif key == "iommu_faults":
            per_device: Counter[str] = Counter()
            for fault in value:
                per_device[fault["device"] or fault["requester"]] += fault["count"]
            row.update((f"iommu_faults.{dev}", n) for dev, n in sorted(per_device.items()))
        elif key in KEYED and isinstance(value, list):
            for record in value:
                name = record[KEYED[key]]
                _walk({k: v for k, v in record.items() if k != KEYED[key]},
                      f"{key}.{name}", row)
        else:
            _walk(value, key, row)
    return row


def _walk(value: Any, path: str, row: dict[str, int | float | bool]) -> None:
    if isinstance(value, bool | int | float):
        row[path] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}.{key}", row)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, bool | int | float):
                row[f"{path}.{i}"] = item
