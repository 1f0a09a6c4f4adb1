"""``irqlab sweep``: results columns, the [sweep] table, --html, and one-line
errors naming the --set or the [sweep] field."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from irqlab.cli import cli


def sweep(*args: str):
    return CliRunner().invoke(cli, ["sweep", *args])


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_csv_rows_and_aggregate(small, tmp_path) -> None:
    out = tmp_path / "r.csv"
    res = sweep(str(small), "--set", "device.eth0.arrival.rate=100k/s..300k/s:step=100k/s",
                "--set", "scenario.duration=1ms", "--seeds", "4..5", "--jobs", "1", "-o", str(out))
    assert res.exit_code == 0, res.output
    rows = read_csv(out)
    assert list(rows[0])[:4] == ["device.eth0.arrival.rate", "seed", "scenario_hash",
                                 "irqlab_version"]
    assert [(r["device.eth0.arrival.rate"], r["seed"]) for r in rows] == [
        ("100k/s", "4"), ("100k/s", "5"), ("200k/s", "4"), ("200k/s", "5"),
        ("300k/s", "4"), ("300k/s", "5")]
    assert all(r["duration_ns"] == "1000000" for r in rows)
    assert len({r["scenario_hash"] for r in rows}) == 3
    totals = [int(r["counters.24.total"]) for r in rows]
    assert totals[4] > 2 * totals[0]  # three times the offered rate
    agg = read_csv(tmp_path / "r.agg.csv")
    assert [a["seeds"] for a in agg] == ["2", "2", "2"]
    mean = float(agg[0]["counters.24.total.mean"])
    assert mean == (totals[0] + totals[1]) / 2
    assert float(agg[0]["counters.24.total.ci95_low"]) <= mean <= float(
        agg[0]["counters.24.total.ci95_high"])


def test_the_sweep_table_of_the_scenario_and_set_on_top(small, tmp_path) -> None:
    small.write_text(small.read_text() + '\n[sweep]\nseeds = [1, 2]\n[sweep.set]\n'
                     'machine.cpus = [1, 2]\nscenario.duration = "1ms"\n')
    out = tmp_path / "r.csv"
    res = sweep(str(small), "--set", "machine.hz=100,1000", "--jobs", "1", "-o", str(out))
    assert res.exit_code == 0, res.output
    rows = read_csv(out)
    assert [(r["machine.cpus"], r["machine.hz"], r["seed"]) for r in rows] == [
        (c, h, s) for c in "12" for h in ("100", "1000") for s in "12"]
    assert "scenario.duration" not in rows[0]  # one value: fixed, not an axis
    run = CliRunner().invoke(cli, ["run", str(small), "--json"])
    assert run.exit_code == 0, run.output  # irqlab run ignores [sweep]


def test_html_plots_each_metric_against_each_axis(small, tmp_path) -> None:
    html = tmp_path / "r.html"
    res = sweep(str(small), "--set", "device.eth0.arrival.rate=50k/s,150k/s", "--set",
                "machine.cpus=1,2", "--set", "scenario.duration=1ms", "--seeds", "1..2",
                "--jobs", "1", "-o", str(tmp_path / "r.parquet"), "--html", str(html),
                "--plot", "irq_per_s.24", "--plot", "hardirq_cpu_share.*")
    assert res.exit_code == 0, res.output
    page = html.read_text()
    figures = page.count('<figure class="chart"')
    # irq_per_s.24 and hardirq_cpu_share.0/.1, against each of the two axes
    assert figures == 6 and page.count("<svg") == 6
    assert "irq_per_s.24 against device.eth0.arrival.rate" in page
    assert "hardirq_cpu_share.1 against machine.cpus" in page
    assert "device.eth0.arrival.rate (events/s)" in page  # rates placed by value, not as labels


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "machine.cpus=1,many"],
     "Error: {small}: --set machine.cpus: Input should be a valid integer"),
    (["--set", "device.eth9.arrival.rate=1k/s,2k/s"], "Error: --set device.eth9.arrival.rate: no device named eth9"),
    (["--set", "scenario.duration=1ms..2ms"], "Error: --set scenario.duration: a range of durations"),
    (["--set", "machine.cpus"], "Error: --set machine.cpus: expected PATH=VALUE"),
    (["--seeds", "3..1"], "Error: --seeds: the range ends before it starts"),
    (["--zip", "--set", "machine.cpus=1,2", "--set", "machine.hz=100,250,1000"],
     "Error: --zip pairs axes of equal length"),
])
def test_bad_specs_are_one_line_naming_the_set(small, tmp_path, args, message) -> None:
    out = tmp_path / "r.csv"
    res = sweep(str(small), *args, "-o", str(out))
    assert res.exit_code == 2
    assert len(res.output.splitlines()) == 1, res.output
    assert res.output.startswith(message.format(small=small)), res.output
    assert not out.exists()


def test_bad_sweep_table_names_the_file_and_field(small, tmp_path) -> None:
    small.write_text(small.read_text() + '\n[sweep.set]\nmachine.cpus = "1..x"\n')
    res = sweep(str(small), "-o", str(tmp_path / "r.csv"))
    assert res.exit_code == 2
    assert res.output == f"Error: {small}: sweep.set.machine.cpus: 1..x mixes numbers and quantities\n"


def test_outputs_and_scenarios_refused(small, tmp_path) -> None:
    res = sweep(str(small), "--plot", "irq_per_s.*", "-o", str(tmp_path / "r.csv"))
    assert res.exit_code == 2 and res.output == "Error: --plot: chooses what --html draws; give " \
        "--html FILE too\n"
    res = sweep(str(small), "-o", str(tmp_path / "r.json"))
    assert res.exit_code == 2 and res.output == "Error: -o: expected a .parquet or .csv file, got " \
        f"'{tmp_path / 'r.json'}'\n"


def test_a_point_that_cannot_build_is_one_line_naming_it(small, tmp_path) -> None:
    out = tmp_path / "r.csv"
    res = sweep(str(small), "--set", "device[0].vector=16,17", "--jobs", "2", "-o", str(out))
    assert res.exit_code == 2
    assert len(res.output.splitlines()) == 1
    assert res.output.startswith(("Error: point device[0].vector=16 seed 1: device 'eth0': vector 0x10",
                                  "Error: point device[0].vector=17 seed 1: device 'eth0': vector 0x11"))
    assert not out.exists()


def test_code_runs_only_with_consent(small, tmp_path) -> None:
    (tmp_path / "drv.py").write_text(
        "from irqlab.kernel.flags import IRQ_HANDLED\n"
        "def rx(ctx):\n    ctx.spend(50_000)\n    ctx.device.service(ctx.device.status)\n"
        "    return IRQ_HANDLED\n")
    out = tmp_path / "r.csv"
    args = (str(small), "--set", "device[0].handler.python=drv:rx", "--set", "machine.cpus=1,2",
            "--jobs", "1", "-o", str(out))
    refused = sweep(*args)
    assert refused.exit_code == 2 and len(refused.output.splitlines()) == 1
    assert refused.output.startswith(f"Error: {small}: device[0].handler.python: 'drv:rx' runs code")
    assert "--allow-code" in refused.output and not out.exists()
    res = sweep(*args, "--allow-code")
    assert res.exit_code == 0, res.output
    rows = read_csv(out)
    # the user's 50 us top half ran, not the scenario's 1 us one
    assert all(int(r["handler_ns.24.mean"]) >= 50_000 for r in rows) and len(rows) == 2


def test_a_worker_that_dies_is_one_line(small, tmp_path) -> None:
    (tmp_path / "die.py").write_text(
        "import os, signal\ndef rx(ctx):\n    os.kill(os.getpid(), signal.SIGKILL)\n")
    res = sweep(str(small), "--set", "device[0].handler.python=die:rx", "--set", "machine.cpus=1,2",
                "--jobs", "2", "--allow-code", "-o", str(tmp_path / "r.csv"))
    assert res.exit_code == 2
    assert res.output == ("Error: --jobs 2: a worker process died (out of memory, or killed); "
                          "finished runs are kept, rerun the same command to run the rest\n")


def test_validate_checks_every_point_of_the_sweep_table(small) -> None:
    base = small.read_text()
    small.write_text(base + '\n[sweep]\nseeds = "1..3"\n[sweep.set]\nmachine.cpus = [1, 2]\n'
                     'device.eth0.arrival.rate = "10k/s..40k/s:step=10k/s"\n')
    res = CliRunner().invoke(cli, ["validate", str(small)])
    assert res.exit_code == 0, res.output
    assert res.output.endswith(", sweep of 8 point(s) x 3 seed(s))\n")
    small.write_text(base + '\n[sweep.set]\nmachine.cpus = [1, 300]\n')
    for command in ("validate", "sweep"):
        res = CliRunner().invoke(cli, [command, str(small), *(["-o", str(small.with_suffix(".csv"))]
                                                              if command == "sweep" else [])])
        assert res.exit_code == 2
        assert res.output == (f"Error: {small}: sweep.set.machine.cpus: Input should be less than "
                              "or equal to 256, got 300\n")


def test_a_sweep_table_path_that_resolves_nowhere_names_file_and_field(small, tmp_path) -> None:
    small.write_text(small.read_text() + '\n[sweep.set]\ndevice.eth9.arrival.rate = ["1k/s", "2k/s"]\n')
    res = sweep(str(small), "-o", str(tmp_path / "r.csv"))
    assert res.exit_code == 2
    assert res.output == f"Error: {small}: sweep.set.device.eth9.arrival.rate: no device named eth9\n"


@pytest.mark.parametrize(("module", "args", "message"), [
    ("pyarrow.parquet", ["-o", "r.parquet"], "-o: pyarrow is not installed: pip install 'irqlab[sweep]'"),
    ("distributed", ["-o", "r.csv", "--dask", "local"],
     "--dask: distributed is not installed: pip install 'irqlab[dask]'"),
    ("matplotlib", ["-o", "r.csv", "--html", "r.html"],
     "--html: matplotlib is not installed: pip install 'irqlab[plot]'"),
])
def test_a_missing_extra_is_named_before_any_run(small, tmp_path, monkeypatch, module, args,
                                                 message) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    monkeypatch.chdir(tmp_path)
    res = sweep(str(small), *args)
    assert res.exit_code == 2 and res.output == f"Error: {message}\n"
    assert not list(tmp_path.glob("r.*"))


def test_a_terminal_shows_a_progress_bar_with_eta(small, tmp_path) -> None:
    import os
    import pty
    import subprocess

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "irqlab", "sweep", str(small), "--set",
                             "machine.cpus=1,2", "--seeds", "1..2", "--jobs", "1", "-o",
                             str(tmp_path / "r.csv")], stderr=slave, stdout=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the pty closes when the process exits
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait() == 0
    text = seen.decode(errors="replace")
    assert "sweep" in text and "ETA" in text and "4/4" in text


def test_run_refuses_a_broken_sweep_table_it_would_otherwise_ignore(small) -> None:
    """``irqlab run`` runs the scenario once, but a [sweep] table that no longer
    makes a grid is an error there too, as in ``validate`` and ``sweep``."""
    small.write_text(small.read_text() + '\n[sweep]\nzip = "yes"\n')
    for command in ("run", "validate"):
        res = CliRunner().invoke(cli, [command, str(small)])
        assert res.exit_code == 2
        assert res.output.startswith(f"Error: {small}: sweep.zip: expected true or false")
