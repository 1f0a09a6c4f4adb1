"""The same sweep on this process, a process pool and a two-worker Dask
LocalCluster gives identical rows (and aggregates)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from irqlab.cli import cli


def sweep(scenario: Path, out: Path, *backend: str) -> None:
    res = CliRunner().invoke(cli, ["sweep", str(scenario), "--set",
                                   "device.eth0.arrival.rate=20k/s,80k/s", "--set",
                                   "machine.cpus=1,2", "--seeds", "1..3", "-o", str(out), *backend])
    assert res.exit_code == 0, res.output


def test_jobs_1_jobs_2_and_dask_local_give_identical_rows(small, tmp_path) -> None:
    outs = {name: tmp_path / f"{name}.parquet" for name in ("one", "two", "dask")}
    sweep(small, outs["one"], "--jobs", "1")
    sweep(small, outs["two"], "--jobs", "2")
    sweep(small, outs["dask"], "--dask", "local", "--jobs", "2")
    tables = {name: pq.read_table(path) for name, path in outs.items()}
    one = tables["one"]
    assert one.num_rows == 12
    assert one.column("seed").to_pylist() == [1, 2, 3] * 4
    assert one.column("machine.cpus").to_pylist() == [1] * 3 + [2] * 3 + [1] * 3 + [2] * 3
    assert len(set(one.column("counters.24.total").to_pylist())) > 2  # seeds and rates differ
    assert tables["two"].equals(one)
    assert tables["dask"].equals(one)
    aggs = {name: pq.read_table(path.with_name(f"{name}.agg.parquet")) for name, path in outs.items()}
    assert aggs["one"].num_rows == 4 and aggs["one"].column("seeds").to_pylist() == [3] * 4
    assert aggs["two"].equals(aggs["one"]) and aggs["dask"].equals(aggs["one"])


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_a_running_scheduler_by_address(small, tmp_path) -> None:
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        sweep(small, tmp_path / "remote.parquet", "--dask", cluster.scheduler_address)
    sweep(small, tmp_path / "here.parquet", "--jobs", "1")
    assert pq.read_table(tmp_path / "remote.parquet").equals(pq.read_table(tmp_path / "here.parquet"))


def test_an_unreachable_scheduler_is_one_line(small, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("irqlab.sweep.backend.CONNECT_TIMEOUT_S", 1)
    res = CliRunner().invoke(cli, ["sweep", str(small), "--dask", "tcp://127.0.0.1:9", "-o",
                                   str(tmp_path / "r.csv")])
    assert res.exit_code == 2
    assert res.output.startswith("Error: --dask tcp://127.0.0.1:9: cannot reach the scheduler")
    assert len(res.output.splitlines()) == 1
