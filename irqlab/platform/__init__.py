"""Platforms: one module per architecture, each owning its controllers'
chips, its part of building a machine, its ``/proc/interrupts`` rows and what
a missed EOI blocks; ``PLATFORMS`` maps the scenario's ``machine.arch`` to
one.  A new controller is a hardware model (``irqlab.hw``), a platform module
registered here, and its scenario variant (``irqlab.scenario.schema``)."""

from __future__ import annotations

from importlib import import_module

from irqlab.platform.base import Board, Platform

__all__ = ["BUILTIN", "PLATFORMS", "Board", "Platform", "register"]

#: the built-in platforms by ``machine.arch``: module and class, imported when a
#: scenario names the arch (start-up)
BUILTIN = {"x86": ("irqlab.platform.x86", "X86"), "arm64": ("irqlab.platform.arm64", "Arm64"),
           "armv7m": ("irqlab.platform.armv7m", "ArmV7m")}


class _Platforms(dict[str, Platform]):
    """The registered platforms; a built-in one is made on first use."""

    def __missing__(self, arch: str) -> Platform:
        module, name = BUILTIN[arch]
        platform: Platform = getattr(import_module(module), name)()
        self[arch] = platform
        return platform


PLATFORMS: dict[str, Platform] = _Platforms()


def register(platform: Platform) -> None:
    """Make ``platform`` the one built for ``machine.arch == platform.arch``."""
    PLATFORMS[platform.arch] = platform
