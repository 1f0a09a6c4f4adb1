"""Platforms: one module per architecture, each owning its controllers'
chips, its part of building a machine, its ``/proc/interrupts`` rows and what
a missed EOI blocks; ``PLATFORMS`` maps the scenario's ``machine.arch`` to
one.  A new controller is a hardware model (``irqlab.hw``), a platform module
registered here, and its scenario variant (``irqlab.scenario.schema``)."""

from __future__ import annotations

from irqlab.platform.arm64 import Arm64
from irqlab.platform.armv7m import ArmV7m
from irqlab.platform.base import Board, Platform
from irqlab.platform.x86 import X86

__all__ = ["PLATFORMS", "Board", "Platform", "register"]

PLATFORMS: dict[str, Platform] = {}


def register(platform: Platform) -> None:
    """Make ``platform`` the one built for ``machine.arch == platform.arch``."""
    PLATFORMS[platform.arch] = platform


for _p in (X86(), Arm64(), ArmV7m()):
    register(_p)
