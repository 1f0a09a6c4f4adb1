"""What a reader skipped: damaged or incomplete lines of a trace or snapshot.

Readers never stop at a bad line: they read everything that is complete and
count the rest here, so that the caller can say, in one line, how much was
skipped and where the first such line is (a trace cut mid-line by ``head -c`` or
a full disk, a line garbled by a copy).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Skipped:
    """Count of skipped lines, and the first one's 1-based line number and reason."""

    count: int = 0
    line: int | None = None
    reason: str = ""

    def add(self, line: int | None, reason: str, count: int = 1) -> None:
        if count <= 0:
            return
        if self.count == 0:
            self.line, self.reason = line, reason
        self.count += count

    def message(self) -> str:
        """``skipped N damaged line(s) (first: line L, REASON)``; '' when none."""
        if not self.count:
            return ""
        where = f"line {self.line}, " if self.line is not None else ""
        plural = "" if self.count == 1 else "s"
        return f"skipped {self.count} damaged line{plural} (first: {where}{self.reason})"

    def to_json(self) -> dict[str, object]:
        return {"count": self.count, "first_line": self.line, "first_reason": self.reason}


def excerpt(text: str | bytes, limit: int = 60) -> str:
    """A short printable quote of a bad line for a message."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    short = text[:limit] + ("..." if len(text) > limit else "")
    return repr(short)
