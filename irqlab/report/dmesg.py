"""The kernel log as ``dmesg`` prints it: ``[%5lu.%06lu] message`` (seconds and
microseconds since boot, ``print_time`` in kernel/printk/printk.c)."""

from __future__ import annotations

from collections.abc import Iterable


def dmesg_line(ts_ns: int, text: str) -> str:
    return f"[{ts_ns // 1_000_000_000:5d}.{ts_ns // 1000 % 1_000_000:06d}] {text}"


def dmesg_text(log: Iterable[tuple[int, str]]) -> str:
    return "".join(dmesg_line(ts, text) + "\n" for ts, text in log)
