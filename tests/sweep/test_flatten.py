"""A report's JSON as one row of numbers named by their dotted paths."""

from __future__ import annotations

import json

from click.testing import CliRunner

from irqlab.cli import cli
from irqlab.sweep.flatten import flatten_report


def report(*args: str) -> dict:
    res = CliRunner().invoke(cli, ["run", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_every_number_has_its_path() -> None:
    out = report("--duration", "5ms")
    row = flatten_report(out)
    assert row["counters.24.total"] == out["counters"]["24"]["total"]
    assert row["counters.24.per_cpu.1"] == out["counters"]["24"]["per_cpu"][1]
    assert row["latency_ns.24.p99"] == out["latency_ns"]["24"]["p99"]
    assert row["irq_per_s.LOC"] == out["irq_per_s"]["LOC"]
    assert row["hardirq_cpu_share.0"] == out["hardirq_cpu_share"][0]
    assert row["cpu_time_ns.1.softirq"] == out["cpu_time_ns"]["1"]["softirq"]
    assert row["softirqs.NET_RX.total"] == out["softirqs"]["NET_RX"]["total"]
    assert all(isinstance(v, int | float) for v in row.values())
    assert "seed" not in row and "title" not in row and "counters.24.name" not in row


def test_warnings_are_counted_by_kind_and_threads_keyed_by_name() -> None:
    out = report("softirq-overload", "--duration", "10ms")
    row = flatten_report(out)
    kinds = [w["kind"] for w in out["warnings"]]
    assert kinds and all(row[f"warnings.{k}"] == kinds.count(k) for k in kinds)
    for thread in out["results"]:
        assert row[f"results.{thread['thread']}.runtime_ns"] == thread["runtime_ns"]


def test_iommu_faults_are_counted_by_device() -> None:
    out = report("vfio-dma-use-after-unmap", "--duration", "25ms")
    row = flatten_report(out)
    assert row["iommu_faults.vfio_pci"] == sum(f["count"] for f in out["iommu_faults"]) > 0
    assert not any(k.startswith("iommu_faults.") and k != "iommu_faults.vfio_pci" for k in row)
