"""output_files opens an output in binary mode only when asked (--perfetto)."""

from __future__ import annotations

import io
from pathlib import Path

from irqlab.cli.params import output_files


class _Probe:
    def __init__(self, f) -> None:
        self.f = f
        self.binary = not isinstance(f, io.TextIOBase)

    def feed(self, *ev) -> None:
        self.f.write(b"x" if self.binary else "x")

    def close(self) -> None:
        pass


def test_binary_only_when_asked(tmp_path: Path) -> None:
    paths = [tmp_path / n for n in ("text", "text-false", "binary")]
    with output_files(("--a", paths[0], _Probe), ("--b", paths[1], _Probe, False),
                      ("--c", paths[2], _Probe, True)) as writers:
        for w in writers:
            w.feed()
    assert [w.binary for w in writers] == [False, False, True]
    assert [p.read_bytes() for p in paths] == [b"x", b"x", b"x"]
