"""``--html`` and ``--png``: one self-contained page, each chart drawn in a real
headless browser with no console message, the same charts as PNG files."""

from __future__ import annotations

import itertools
import re
import sys
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from irqlab.analysis.report import DISTRIBUTIONS, Report, ReportWarning
from irqlab.cli import cli
from irqlab.report.html import render_html
from irqlab.report.plots import charts, cpu_time_shares, quarter_octaves, sampled
from irqlab.report.procfs import render_interrupts, render_softirqs
from tests.report.browser import dump_dom, screenshot

SIM_CHARTS = {"hist-latency", "hist-handler", "hist-softirq-latency", "hist-softirq",
              "hist-end-to-end", "cpu-time", "irq-rate", "irq-cpu"}
EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:[a-z]+:)?//""", re.I)


class _Charts(HTMLParser):
    """Per ``figure.chart``: its svg's path count and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict] = {}
        self._in: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "figure" and "chart" in (a.get("class") or ""):
            self._in = a["id"].removeprefix("chart-")
            self.charts[self._in] = {"svg": 0, "paths": 0, "text": ""}
        elif self._in is not None:
            if tag == "svg":
                self.charts[self._in]["svg"] += 1
            elif tag in ("path", "rect", "use"):
                self.charts[self._in]["paths"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.charts[self._in]["text"] += data


def parse_charts(html: str) -> dict[str, dict]:
    parser = _Charts()
    parser.feed(html)
    return parser.charts


def assert_not_blank(png: Path) -> None:
    img = Image.open(png).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 24)
    assert colours is not None and len(colours) > 50, "screenshot has almost no colours"
    white = sum(n for n, c in colours if min(c) >= 250)
    assert white < 0.98 * img.width * img.height, "screenshot is blank"


def test_the_browser_check_catches_console_errors_and_network_loads(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script>console.error("boom")</script>'
                    '<img src="http://irqlab.invalid/x.png"></body></html>')
    _, console = dump_dom(page)
    assert any("boom" in line for line in console)


@pytest.fixture(scope="module")
def sim_page(default_run, tmp_path_factory) -> tuple[str, Path]:
    html = render_html(default_run.report)
    path = tmp_path_factory.mktemp("html") / "run.html"
    path.write_text(html, encoding="utf-8")
    return html, path


def test_page_is_self_contained(sim_page) -> None:
    html, _ = sim_page
    assert html.startswith("<!DOCTYPE html>")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script" not in html and "<link" not in html and "<img" not in html


def test_every_chart_is_drawn_in_the_browser_without_console_messages(
        default_run, sim_page, tmp_path: Path) -> None:
    _, path = sim_page
    dom, console = dump_dom(path)
    assert console == []
    drawn = parse_charts(dom)
    assert set(drawn) == SIM_CHARTS
    for chart_id, chart in drawn.items():
        assert chart["svg"] == 1 and chart["paths"] >= 10, chart_id
    # legends name every IRQ row and softirq vector that has samples
    data = default_run.report.to_json()
    for label, dist in data["handler_ns"].items():
        if dist["count"] and label.isdigit():
            assert f"{label} {data['counters'][label]['name']}" in drawn["hist-handler"]["text"]
    for vec in data["softirq_ns"]:
        assert vec in drawn["hist-softirq"]["text"]
    for kind in ("user", "system", "irq", "softirq", "idle"):
        assert kind in drawn["cpu-time"]["text"]
    # the /proc tables exactly as the kernel prints them
    snap = default_run.report.counter_snapshot()
    assert escape(render_interrupts(snap), quote=False) in dom
    assert escape(render_softirqs(snap), quote=False) in dom
    shot = tmp_path / "shot.png"
    assert screenshot(path, shot) == []
    assert_not_blank(shot)


def test_histograms_keep_every_sample(default_run) -> None:
    report = default_run.report
    data = report.to_json()
    assert set(report.distributions()) <= set(DISTRIBUTIONS)
    for key in report.distributions():
        dists = sampled(data, key)
        assert dists, key
        for label, dist in dists.items():
            assert sum(c for _, _, c in dist["buckets"]) == dist["count"] == data[key][label]["count"]
            edges, counts = quarter_octaves(dist["buckets"])
            assert sum(counts) == dist["count"]
            assert all(a < b for a, b in itertools.pairwise(edges))
            assert edges[0] * 1000 <= max(dist["buckets"][0][0], 1)
            assert edges[-1] * 1000 > dist["buckets"][-1][1] / 2


def test_quarter_octaves_put_a_bucket_in_the_bin_of_its_midpoint() -> None:
    edges, counts = quarter_octaves([[1000, 1000, 3], [1900, 2100, 2], [0, 0, 1]])
    assert sum(counts) == 6
    # 0 ns counts in the 1 ns bin; 1000 ns and 2000 ns are 4 quarter octaves apart
    assert edges[0] == pytest.approx(0.001)
    assert counts[0] == 1
    nonzero = [i for i, c in enumerate(counts) if c]
    assert [counts[i] for i in nonzero] == [1, 3, 2]
    assert nonzero[2] - nonzero[1] == 4


def test_cpu_time_shares_add_up_per_cpu(default_run) -> None:
    shares = cpu_time_shares(default_run.report, default_run.report.to_json())
    assert list(shares) == ["user", "system", "irq", "softirq", "idle"]
    for cpu in range(2):
        assert sum(s[cpu] for s in shares.values()) == pytest.approx(1.0)
    assert all(s > 0 for s in shares["irq"])


def test_same_report_same_page_and_no_id_shared_between_charts() -> None:
    report = _experiment_report()
    report.results += [{"mode": "static", "rx_usecs": n, "latency_p50_us": n, "latency_p99_us": 2 * n}
                       for n in (1, 10, 100)]
    page = render_html(report)
    assert render_html(report) == page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)) > 10  # clip paths and markers of two charts never clash


def test_warnings_come_with_the_kernel_log_lines_of_their_time(tmp_path: Path) -> None:
    report = Report(source="simulation", cpus=1, log=[
        (1_000, "unrelated line"),
        (225_065_800, 'irq 17: nobody cared (try booting with the "irqpoll" option)'),
        (225_065_800, "Disabling IRQ #17"),
    ], warnings=[ReportWarning("nobody-cared", 17, 225_065_800, "irq 17: nobody cared")])
    html = render_html(report)
    item = re.search(r'<li class="warning">(.*?)</li>', html, re.S).group(1)
    assert "[nobody-cared]" in item and "irq=17" in item
    assert "[    0.225065] Disabling IRQ #17" in item
    assert "unrelated" not in item
    assert "unrelated line" in html  # in the full kernel log
    path = tmp_path / "w.html"
    path.write_text(html)
    _, console = dump_dom(path)
    assert console == []


def _experiment_report() -> Report:
    results = []
    for mode, knee in (("per-packet", 100_000), ("napi", 10**9)):
        for offered in (50_000, 100_000, 200_000, 400_000):
            results.append({"mode": mode, "offered_pps": offered,
                            "delivered_pps": min(offered, max(0, 2 * knee - offered))})
    return Report(source="simulation", cpus=1, results=results)


def test_experiment_curves() -> None:
    drawn = {c.id: c for c in charts(_experiment_report())}
    assert set(drawn) == {"curve-delivered"}
    ax = drawn["curve-delivered"].figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"ideal", "per-packet", "napi"}
    assert list(lines["per-packet"].get_ydata()) == [50_000, 100_000, 0, 0]


def test_run_html_and_png_from_the_cli(tmp_path: Path) -> None:
    page, pngs = tmp_path / "m.html", tmp_path / "png"
    res = CliRunner().invoke(cli, ["run", "moderation", "--duration", "10ms", "--html", str(page),
                                   "--png", str(pngs)])
    assert res.exit_code == 0, res.output
    dom, console = dump_dom(page)
    assert console == []
    drawn = parse_charts(dom)
    assert set(drawn) == {"curve-coalescing"}
    assert "static p99" in drawn["curve-coalescing"]["text"]
    assert "adaptive p99" in drawn["curve-coalescing"]["text"]
    assert 'class="results"' in dom
    assert sorted(p.name for p in pngs.iterdir()) == ["curve-coalescing.png"]
    assert_not_blank(pngs / "curve-coalescing.png")


def test_report_html_from_a_trace(tmp_path: Path) -> None:
    trace, page = tmp_path / "t.trace", tmp_path / "t.html"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", "--duration", "3ms", "--trace", str(trace)]).exit_code == 0
    res = runner.invoke(cli, ["report", str(trace), "--html", str(page)])
    assert res.exit_code == 0, res.output
    drawn = parse_charts(page.read_text())
    assert {"hist-handler", "hist-softirq", "cpu-time", "irq-rate"} <= set(drawn)
    assert "other" in drawn["cpu-time"]["text"]  # a trace has no user/system split


@pytest.mark.parametrize(("module", "option", "extra"), [
    ("matplotlib", "--html", "irqlab[plot]"), ("matplotlib", "--png", "irqlab[plot]"),
    ("perfetto", "--perfetto", "irqlab[perfetto]")])
def test_a_missing_extra_is_one_line_naming_it(monkeypatch, tmp_path: Path, module: str,
                                                option: str, extra: str) -> None:
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import fails
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["run", "--duration", "1ms", option, str(out)])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and extra in res.output and option in res.output
    assert not out.exists()


def test_charts_draw_the_busiest_rows_and_say_so() -> None:
    from irqlab.analysis.irqstats import IrqStats
    from irqlab.analysis.rates import RateTimeline
    from irqlab.events import IRQ_ENTRY, IRQ_EXIT, IRQ_RAISE

    stats, timeline = IrqStats(1), RateTimeline()
    ts = 0
    for irq in range(30, 42):  # irq 30+n interrupts n+1 times
        for _ in range(irq - 29):
            for kind, value in ((IRQ_RAISE, 0), (IRQ_ENTRY, 0), (IRQ_EXIT, 1)):
                for sink in (stats, timeline):
                    sink.feed(ts, 0, kind, irq, value, f"dev{irq}")
                ts += 1000
    report = Report(source="trace", cpus=1, stats=stats, timeline=timeline)
    drawn = {c.id: c.figure.axes[0] for c in charts(report)}
    for chart_id in ("hist-handler", "hist-latency", "irq-rate"):
        ax = drawn[chart_id]
        assert ax.get_title().endswith("(busiest 8 of 12)")
        names = [t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()]
        assert sorted(names) == sorted(f"{irq} dev{irq}" for irq in range(34, 42))


def test_replay_writes_the_page_and_the_perfetto_trace(tmp_path: Path) -> None:
    from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

    trace, page, pf = tmp_path / "t.trace", tmp_path / "r.html", tmp_path / "r.pftrace"
    runner = CliRunner()
    assert runner.invoke(cli, ["run", "--duration", "3ms", "--trace", str(trace)]).exit_code == 0
    res = runner.invoke(cli, ["replay", str(trace), "--html", str(page), "--perfetto", str(pf)])
    assert res.exit_code == 0, res.output
    assert {"hist-handler", "cpu-time", "irq-rate"} <= set(parse_charts(page.read_text()))
    packets = pb.Trace.FromString(pf.read_bytes()).packet
    assert sum(len(p.ftrace_events.event) for p in packets if p.HasField("ftrace_events")) > 100


def test_each_histogram_has_its_summary_table(default_run, sim_page) -> None:
    html, _ = sim_page
    data = default_run.report.to_json()
    after = html.split('id="chart-hist-handler"', 1)[1]
    table = re.search(r'<table class="summary">(.*?)</table>', after, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert len(rows) == 1 + sum(1 for d in data["handler_ns"].values() if d["count"])
    eth0 = next(r for r in rows if "24 eth0-0" in r)
    cells = re.findall(r"<td>(.*?)</td>", eth0)
    summary = data["handler_ns"]["24"]
    assert cells[1] == str(summary["count"])
    assert f"{summary['p99'] / 1000:.3f}" in cells and f"{summary['max'] / 1000:.3f}" in cells


def test_irq_cpu_map_of_a_snapshot(tmp_path: Path) -> None:
    from irqlab.observe.procfs import read_snapshot

    snap = read_snapshot(Path(__file__).parents[1] / "observe" / "fixtures"
                         / "server-40cpu-ir-ioapic-msi-many-vectors-interrupts.txt")
    report = Report(source="snapshot", cpus=snap.cpus, counters=snap)
    drawn = {c.id: c for c in charts(report)}
    assert set(drawn) == {"irq-cpu"}
    ax = drawn["irq-cpu"].figure.axes[0]
    busiest = sorted((r for r in snap.rows.values() if r.total and len(r.per_cpu) > 1),
                     key=lambda r: -r.total)
    assert ax.get_title().endswith(f"(busiest 16 of {len(busiest)})")
    grid = ax.get_images()[0].get_array()
    assert grid.shape == (16, snap.cpus)
    first = busiest[0]
    assert [ax.get_yticklabels()[0].get_text()] == [f"{first.label} {first.name}"]
    assert [int(v) if v is not np.ma.masked else 0 for v in grid[0]] == first.per_cpu
