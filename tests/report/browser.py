"""Headless Chromium for the HTML report tests: the page as the browser's DOM
(``--dump-dom``), a screenshot, and every console message the page caused.

Chromium prints console messages to stderr with ``--enable-logging=stderr
--v=0`` as ``...:INFO:CONSOLE:line] "message", source: ...``; the report has no
script, so any console message (a failed load, a blocked resource, an error)
fails the test.  Each call uses a new empty profile and no network services.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--hide-scrollbars"]
TIMEOUT_S = 120


def chromium() -> str:
    """The browser binary, or skip (.ci/run installs Debian's chromium)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")


def _run(page: Path, *extra: str) -> tuple[str, list[str]]:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, console


def dump_dom(page: Path) -> tuple[str, list[str]]:
    """(the DOM after loading, console messages)."""
    return _run(page, "--dump-dom")


def screenshot(page: Path, png: Path, width: int = 1000, height: int = 4000) -> list[str]:
    """Write a ``width`` x ``height`` screenshot; the console messages."""
    _, console = _run(page, f"--screenshot={png}", f"--window-size={width},{height}")
    assert png.is_file()
    return console
