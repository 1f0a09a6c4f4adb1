"""--hist and --hdr on run, report and replay."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from irqlab.cli import cli


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def tags(path) -> dict[str, int]:
    reader = HistogramLogReader(str(path), HdrHistogram(1, 2**40, 3))
    out = {}
    while (hist := reader.get_next_interval_histogram()) is not None:
        out[hist.get_tag()] = hist.get_total_count()
    return out


def test_run_report_and_replay_draw_and_export_every_distribution(tmp_path) -> None:
    trace, hlog = tmp_path / "t.txt", tmp_path / "run.hlog"
    ran = invoke("run", "default", "--duration", "5ms", "--trace", str(trace), "--hist",
                 "--hdr", str(hlog))
    assert "     nsecs               : count     distribution" in ran.output
    assert "End to end (device request->bottom half done), irq = 24" in ran.output
    data = json.loads(invoke("run", "default", "--duration", "5ms", "--json").stdout)
    expected = {f"{key}.{label}": dist["count"]
                for key in ("latency_ns", "handler_ns", "softirq_latency_ns", "softirq_ns",
                            "end_to_end_ns")
                for label, dist in data[key].items()}
    assert tags(hlog) == expected and len(expected) > 10

    reported = invoke("report", str(trace), "--hist", "--hdr", str(tmp_path / "r.hlog"))
    assert "Hard-IRQ handler time (entry->exit per action), irq = 24 'eth0-0'" in reported.output
    handler = json.loads(invoke("report", str(trace), "--json").stdout)["handler_ns"]
    assert {k: v for k, v in tags(tmp_path / "r.hlog").items() if k.startswith("handler")} == \
        {f"handler_ns.{label}": d["count"] for label, d in handler.items()}

    replayed = invoke("replay", str(trace), "--hist")
    assert "     nsecs               : count     distribution" in replayed.output


def test_hdr_into_a_missing_directory_is_one_line(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["run", "default", "--duration", "1ms", "--hdr",
                                      str(tmp_path / "no" / "x.hlog")])
    assert result.exit_code == 2 and "Traceback" not in result.output
