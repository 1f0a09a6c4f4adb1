"""Platforms: one module per architecture, each owning its controllers'
chips, its part of building a machine, its ``/proc/interrupts`` rows and what
a missed EOI blocks; ``PLATFORMS`` maps the scenario's ``machine.arch`` to
one.  A new controller is a hardware model (``irqlab.hw``), a platform module
registered here, and its scenario variant (``irqlab.scenario.schema``)."""

from __future__ import annotations

from collections.abc import Callable

from irqlab.platform.base import Board, Platform

__all__ = ["BUILTIN", "PLATFORMS", "Board", "Platform", "register"]


def _x86() -> Platform:
    from irqlab.platform.x86 import X86

    return X86()


def _arm64() -> Platform:
    from irqlab.platform.arm64 import Arm64

    return Arm64()


def _armv7m() -> Platform:
    from irqlab.platform.armv7m import ArmV7m

    return ArmV7m()


#: the built-in platforms by ``machine.arch``, each imported and made when a
#: scenario names its arch (start-up)
BUILTIN: dict[str, Callable[[], Platform]] = {"x86": _x86, "arm64": _arm64, "armv7m": _armv7m}


class _Platforms(dict[str, Platform]):
    """The registered platforms; a built-in one is made on first use."""

    def __missing__(self, arch: str) -> Platform:
        platform = self[arch] = BUILTIN[arch]()
        return platform


PLATFORMS: dict[str, Platform] = _Platforms()


def register(platform: Platform) -> None:
    """Make ``platform`` the one built for ``machine.arch == platform.arch``."""
    PLATFORMS[platform.arch] = platform
