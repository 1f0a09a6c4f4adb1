"""--hdr: the distributions as an HdrHistogram log that HdrHistogram's readers read."""

from __future__ import annotations

import io

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from irqlab.analysis.irqstats import IrqStats
from irqlab.analysis.report import Report
from irqlab.events import IRQ_ENTRY, IRQ_EXIT, IRQ_RAISE, Event
from irqlab.report.hdr import write_hdr


def test_log_reads_back_with_hdrhistogram_tags_counts_and_percentiles(tmp_path) -> None:
    stats = IrqStats(1)
    for i in range(1000):
        t = i * 100_000
        stats.feed_events([Event(t, -1, IRQ_RAISE, 24), Event(t + 500 + i * 7, 0, IRQ_ENTRY, 24, 0, "eth0"),
                           Event(t + 9_000 + i * 11, 0, IRQ_EXIT, 24, 1)])
    report = Report("trace", 1, stats=stats, duration_ns=100_000_000)
    path = tmp_path / "x.hlog"
    with path.open("w") as f:
        assert write_hdr(f, report) == 2
    reader = HistogramLogReader(str(path), HdrHistogram(1, 2**40, 3))
    seen = {}
    while (hist := reader.get_next_interval_histogram()) is not None:
        seen[hist.get_tag()] = hist
    assert set(seen) == {"latency_ns.24", "handler_ns.24"}
    for key, ours in (("latency_ns.24", stats.latency_ns["24"]),
                      ("handler_ns.24", stats.handler_ns["24"])):
        theirs = seen[key]
        assert theirs.get_total_count() == ours.count == 1000
        for p in (50, 90, 99, 99.9):
            assert abs(theirs.get_value_at_percentile(p) - ours.percentile(p)) <= \
                ours.percentile(p) / 100


def test_no_stats_writes_a_valid_empty_log() -> None:
    out = io.StringIO()
    assert write_hdr(out, Report("snapshot", 1)) == 0
    assert "#[Histogram log format version 1.3]" in out.getvalue()
