"""Kernel symbol names of the function pointers some events carry
(``workqueue_*`` ``function``, ``tasklet_*`` ``func``), from ``/proc/kallsyms``
(kernel/kallsyms.c ``s_show``: ``address type name [module]``), printed as the
kernel's ``%ps`` does (``sprint_symbol_no_offset``: the name, `` [module]``
for a module's).  Addresses read 0 when ``kptr_restrict`` hides them from the
reader; a pointer then stays a hex number."""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

KALLSYMS = Path("/proc/kallsyms")
TEXT_TYPES = frozenset("TtWw")  # code symbols: functions


class Kallsyms:
    """``symbol(address)``: the function containing ``address``, or the
    address in hex when no symbol at or below it is known."""

    def __init__(self, text: str) -> None:
        table: dict[int, str] = {}
        for line in text.splitlines():
            parts = line.split(maxsplit=3)
            if len(parts) < 3 or parts[1] not in TEXT_TYPES:
                continue
            try:
                addr = int(parts[0], 16)
            except ValueError:
                continue
            if addr:
                table.setdefault(addr, parts[2] + (f" {parts[3].strip()}" if len(parts) > 3 else ""))
        self._addrs = sorted(table)
        self._names = [table[a] for a in self._addrs]

    @classmethod
    def read(cls, path: Path = KALLSYMS) -> Kallsyms:
        """The running kernel's symbols (none when the file cannot be read)."""
        try:
            return cls(path.read_text(errors="replace"))
        except OSError:
            return cls("")

    def __call__(self, address: int) -> str:
        i = bisect_right(self._addrs, address) - 1
        return self._names[i] if i >= 0 and address else f"{address:#x}"


def hex_symbol(address: int) -> str:
    """A function pointer without a symbol table: its address in hex."""
    return f"{address:#x}"
