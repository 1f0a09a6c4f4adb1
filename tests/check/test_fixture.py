"""The ``irq_check`` fixture works in a user's own pytest suite, found through
the ``pytest11`` entry point (no conftest, no import of irqlab.testing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from tests.check.conftest import EXAMPLES


def test_plugin_is_registered() -> None:
    [plugin] = [e for e in entry_points(group="pytest11") if e.name == "irqlab"]
    assert plugin.value == "irqlab.testing"


def test_fixture_in_a_users_suite(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "good_rx.py", tmp_path / "drv.py")
    shutil.copy(EXAMPLES / "sleeps_in_irq.py", tmp_path / "bad.py")
    shutil.copy(EXAMPLES.parent / "my-driver.toml", tmp_path / "machine.toml")
    shutil.copy(EXAMPLES.parent / "my_driver.py", tmp_path / "my_driver.py")
    (tmp_path / "test_driver.py").write_text(
        "def test_rx(irq_check):\n"
        "    assert irq_check('drv.py').passed\n"
        "    cl = irq_check('drv.py', scenario='machine.toml')  # beside the scenario's eth0\n"
        "    assert cl.passed and cl.platform == 'x86'\n\n"
        "def test_bad_is_caught(irq_check):\n"
        "    assert irq_check('bad.py', budget='top=10us').passed\n")
    # run from the parent directory: the driver is found next to the test file
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tmp_path / "test_driver.py")], cwd=tmp_path.parent,
                         capture_output=True, text=True, timeout=300)
    assert "1 failed, 1 passed" in res.stdout, res.stdout + res.stderr
    assert "FAILED test_driver.py::test_bad_is_caught" in res.stdout.replace(
        f"{tmp_path.name}/", "")
