"""The ``--hist`` view: every distribution of a report as a power-of-two
histogram with bars, drawn as bcc's ``hardirqs -d``/``softirqs -d`` draw theirs
(``print_log2_hist`` in bcc's ``table.py``: rows ``low -> high : count |***|``,
40 stars for the fullest row) and as rtla's histograms are read.

Values are nanoseconds (bcc's ``-N``/``nsecs`` unit): the report's log-linear
buckets never straddle a power of two of ns, so the rows are exact sums of them.
"""

from __future__ import annotations

from typing import Any

from irqlab.analysis.report import BY_NAME, DISTRIBUTIONS

STARS_MAX = 40
"""Bar width of the fullest row (bcc ``stars_max``)."""


def log2_slots(buckets: list[list[int]]) -> list[int]:
    """Counts per power-of-two slot: slot ``i`` holds ``2**(i-1) .. 2**i - 1`` and
    slot 1 also 0 (bcc's ``bpf_log2l`` slots as ``print_log2_hist`` labels them).
    A log-linear bucket lies within one power of two, so it lands in one slot."""
    slots = [0]
    for low, high, count in buckets:
        i = max(low.bit_length(), 1)
        if max(high.bit_length(), 1) != i:
            raise ValueError(f"bucket {low}..{high} straddles a power of two")
        if i >= len(slots):
            slots.extend([0] * (i + 1 - len(slots)))
        slots[i] += count
    return slots


def _stars(val: int, val_max: int, width: int) -> str:
    """bcc ``_stars``: ``width`` stars for ``val_max``, proportionally fewer (rounded down)."""
    return "*" * min(width, width * val // val_max) if val_max else ""


def render_log2(slots: list[int], unit: str = "nsecs") -> str:
    """``print_log2_hist`` of ``slots`` (from :func:`log2_slots`)."""
    idx_max = max((i for i, v in enumerate(slots) if v), default=0)
    if idx_max == 0:
        return ""
    val_max = max(slots)
    if idx_max <= 32:
        header, width, stars = f"     {unit:<19} : count     distribution", 10, STARS_MAX
    else:
        header, width, stars = f"               {unit:<29} : count     distribution", 20, \
            STARS_MAX // 2
    lines = [header]
    for i in range(1, idx_max + 1):
        low, high = (1 << i) >> 1, (1 << i) - 1
        if low == high:
            low -= 1
        val = slots[i]
        lines.append(f"{low:>{width}} -> {high:<{width}} : {val:<8} "
                     f"|{_stars(val, val_max, stars):<{stars}}|")
    return "\n".join(lines)


def render_hist(data: dict[str, Any]) -> str:
    """Every distribution of a report's JSON (:meth:`Report.to_json`), one
    power-of-two histogram per IRQ, softirq or DPC, under a title naming it."""
    names = {label: row["name"] or "" for label, row in data["counters"].items()}
    parts = []
    for key, title in DISTRIBUTIONS.items():
        for label, dist in data.get(key, {}).items():
            body = render_log2(log2_slots(dist["buckets"]))
            if not body:
                continue
            what = f"{BY_NAME[key]} = '{label}'" if key in BY_NAME else \
                f"irq = {label} '{names.get(label, '')}'"
            parts.append(f"{title}, {what}: count {dist['count']}, p50 {dist['p50']} ns, "
                         f"p99 {dist['p99']} ns, max {dist['max']} ns\n{body}\n")
    return "\n".join(parts)
