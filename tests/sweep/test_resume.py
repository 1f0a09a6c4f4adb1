"""Resumable sweeps: a sweep killed midway (SIGKILL) keeps every finished row
and a rerun runs only the missing ones; growing a sweep's seeds reruns
nothing; another sweep's output is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from irqlab.sweep.journal import append_journal, journal_path, read_journal
from irqlab.sweep.table import TableError, agg_path, read_rows

GATE = '''\
"""A top half that waits for a file to exist: the sweep stops there until the test kills it."""
import os
import time

from irqlab.kernel.flags import IRQ_HANDLED


def open_(ctx):
    ctx.spend(1000)
    ctx.device.service(ctx.device.status)
    return IRQ_HANDLED


def gated(ctx):
    while not os.path.exists(os.environ["IRQLAB_TEST_GATE"]):
        time.sleep(0.02)
    return open_(ctx)
'''

POLL_LIMIT_S = 300  # a hung sweep fails the test instead of hanging CI


def sweep_cmd(scenario: Path, out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "irqlab", "sweep", str(scenario), "-o", str(out), *args]


def test_a_killed_sweep_resumes_without_lost_or_duplicate_rows(small, tmp_path) -> None:
    (tmp_path / "gatemod.py").write_text(GATE)
    gate = tmp_path / "gate-open"
    env = {**os.environ, "IRQLAB_TEST_GATE": str(gate)}
    # 2 points x 8 seeds on one job: batches of 4 runs; the second point waits at the gate
    args = ("--set", "device[0].handler.python=gatemod:open_,gatemod:gated", "--seeds", "1..8",
            "--jobs", "1", "--allow-code")
    out = tmp_path / "killed.parquet"
    journal = journal_path(out)
    proc = subprocess.Popen(sweep_cmd(small, out, *args), env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + POLL_LIMIT_S
        while len(read_journal(journal)) < 8:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the first point's rows never reached the journal"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    kept = read_journal(journal)
    assert [r["seed"] for r in kept] == list(range(1, 9))
    assert {r["device[0].handler.python"] for r in kept} == {"gatemod:open_"}

    gate.touch()
    resumed = subprocess.run(sweep_cmd(small, out, *args), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "16 rows (8 run now, 8 already there)" in resumed.stderr
    assert not journal.exists()
    fresh = tmp_path / "fresh.parquet"
    whole = subprocess.run(sweep_cmd(small, fresh, *args), env=env, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    table = pq.read_table(out)
    keys = list(zip(table.column("device[0].handler.python").to_pylist(),
                    table.column("seed").to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == 16
    assert table.equals(pq.read_table(fresh))


def run(scenario: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sweep_cmd(scenario, out, "--set", "device.eth0.arrival.rate=20k/s,40k/s",
                                    "--jobs", "1", *args), capture_output=True, text=True)


def test_more_seeds_into_a_csv_run_only_the_new_ones(small, tmp_path) -> None:
    grown, fresh = tmp_path / "grown.csv", tmp_path / "fresh.csv"
    assert run(small, grown, "--seeds", "1..2").returncode == 0
    res = run(small, grown, "--seeds", "1..4")
    assert res.returncode == 0, res.stderr
    assert "8 rows (4 run now, 4 already there)" in res.stderr
    assert run(small, fresh, "--seeds", "1..4").returncode == 0
    assert grown.read_text() == fresh.read_text()
    assert grown.with_name("grown.agg.csv").read_text() == fresh.with_name("fresh.agg.csv").read_text()
    again = run(small, grown, "--seeds", "1..4")
    assert "8 rows (0 run now, 8 already there)" in again.stderr
    assert grown.read_text() == fresh.read_text()


def test_rows_of_another_sweep_are_refused(small, tmp_path) -> None:
    out = tmp_path / "r.parquet"
    assert run(small, out, "--seeds", "1..3").returncode == 0
    before = out.read_bytes()
    res = run(small, out, "--seeds", "1..2")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [f"Error: {out}: holds rows of another sweep (other scenario, "
                                       "axes, seeds or irqlab version); write to another file or "
                                       "remove it"]
    assert out.read_bytes() == before


def test_a_file_that_is_not_a_sweep_table_is_refused_even_without_rows(small, tmp_path) -> None:
    out = tmp_path / "notes.csv"
    out.write_text("host,comment\n")
    res = run(small, out, "--seeds", "1")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [f"Error: {out}: not a sweep's results table (no column "
                                       "'seed'); write to another file or remove it"]
    assert out.read_text() == "host,comment\n"
    assert not agg_path(out).exists()


def test_a_parquet_file_without_the_identity_columns_is_refused(tmp_path) -> None:
    out = tmp_path / "other.parquet"
    pq.write_table(pa.table({"seed": pa.array([], pa.int64()), "x": pa.array([], pa.int64())}),
                   out)
    with pytest.raises(TableError, match=r"other\.parquet: not a sweep's results table \(no column "
                                         r"'scenario_hash'\)"):
        read_rows(out)


def test_a_torn_journal_line_is_dropped_and_the_next_rows_start_a_new_line(tmp_path) -> None:
    journal = tmp_path / "r.parquet.journal"
    journal.write_text(json.dumps({"seed": 1}) + "\n" + '{"seed": 2, "coun')
    assert read_journal(journal) == [{"seed": 1}]
    append_journal(journal, [{"seed": 3}])
    assert read_journal(journal) == [{"seed": 1}, {"seed": 3}]


def test_an_axis_of_ints_and_floats_resumes_from_parquet(tmp_path) -> None:
    """The column reads back as floats (1.0); the rerun still finds its rows."""
    # clock_mhz is a Cortex-M machine's key (the machine section is one variant per arch)
    cortex_m = tmp_path / "small-m4.toml"
    cortex_m.write_text('[scenario]\nname = "small-m4"\nduration = "2ms"\n[machine]\n'
                        'arch = "armv7m"\n[[device]]\nname = "USART1"\nline = 37\n'
                        'arrival = { kind = "poisson", rate = "20k/s" }\n')
    out = tmp_path / "r.parquet"
    args = ("--set", "machine.clock_mhz=100,250.5", "--jobs", "1")
    assert subprocess.run(sweep_cmd(cortex_m, out, *args), capture_output=True).returncode == 0
    res = subprocess.run(sweep_cmd(cortex_m, out, *args), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "2 rows (0 run now, 2 already there)" in res.stderr
    assert pq.read_table(out).column("machine.clock_mhz").to_pylist() == [100.0, 250.5]
