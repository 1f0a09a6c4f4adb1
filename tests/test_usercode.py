"""irqlab.usercode: code named by a scenario runs only with consent, only from
a file in the scenario's folder, and leaves sys.path alone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from irqlab.usercode import CodeLoader, CodeNotAllowed, UserCodeError, parse_ref

DRIVER = """\
calls = []

def isr(ctx):
    calls.append(ctx)
    return len(calls)

def other(ctx):
    calls.append(ctx)
    return -len(calls)
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "drv.py").write_text(DRIVER)
    return tmp_path


def test_without_consent_nothing_is_executed(tmp_path: Path) -> None:
    (tmp_path / "drv.py").write_text("raise SystemExit('executed')\n")
    with pytest.raises(CodeNotAllowed, match="pass --allow-code"):
        CodeLoader(tmp_path, allowed=False).load("drv:isr")


def test_with_consent_the_function_of_the_file_is_returned(folder: Path) -> None:
    before = list(sys.path)
    fn = CodeLoader(folder, allowed=True).load("drv:isr")
    assert fn(None) == 1 and fn(None) == 2
    assert fn.__code__.co_filename == str(folder / "drv.py")  # file:line reports name it
    assert sys.path == before
    assert fn.__module__.startswith("_irqlab_user_") and "drv" not in sys.modules


def test_each_load_is_a_fresh_module_but_one_loader_shares_a_file(folder: Path) -> None:
    a = CodeLoader(folder, allowed=True).load("drv:isr")
    b = CodeLoader(folder, allowed=True).load("drv:isr")
    assert a(None) == 1 and b(None) == 1
    loader = CodeLoader(folder, allowed=True)
    isr, other = loader.load("drv:isr"), loader.load("drv.py:other")
    assert isr(None) == 1 and other(None) == -2


def test_an_installed_module_is_never_imported(tmp_path: Path) -> None:
    with pytest.raises(UserCodeError, match="no file"):
        CodeLoader(tmp_path, allowed=True).load("json:dumps")


def test_no_folder_no_code() -> None:
    with pytest.raises(UserCodeError, match="this scenario is not a file"):
        CodeLoader(None, allowed=True).load("drv:isr")


@pytest.mark.parametrize(("ref", "file", "func"), [
    ("my_driver:rx_interrupt", "my_driver.py", "rx_interrupt"),
    ("path/to/nic-v2.py:rx", "path/to/nic-v2.py", "rx"),
    ("my driver (v2).py:rx", "my driver (v2).py", "rx"),
])
def test_reference_forms(ref: str, file: str, func: str) -> None:
    rel, name = parse_ref(ref)
    assert (str(rel), name) == (file, func)


@pytest.mark.parametrize("ref", ["a.b:fn", "drv", "drv:", ":fn", "a\nb.py:fn", "../drv.py:fn", "/abs/drv.py:fn",
                                 "sub/../../drv.py:fn", "drv:fn()", "drv:fn:x"])
def test_malformed_or_escaping_references(ref: str) -> None:
    with pytest.raises(UserCodeError):
        parse_ref(ref)
