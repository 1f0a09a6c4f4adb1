"""The table of OS personalities, each built through one hook
(its constructor, called with the machine and the platform's board) that
builds the kernel with the OS's interrupt entry and tick policy.
``PERSONALITIES`` maps the scenario's ``machine.os`` to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from irqlab.os.base import Personality
from irqlab.os.freertos import FreeRtosOs
from irqlab.os.linux import Linux
from irqlab.os.windows import NtKernel

if TYPE_CHECKING:
    from irqlab.machine.machine import Machine
    from irqlab.platform.base import Board

__all__ = ["PERSONALITIES", "Personality"]

PERSONALITIES: dict[str, Callable[[Machine, Board], Personality]] = {
    "linux": Linux,
    "windows": NtKernel,
    "freertos": FreeRtosOs,
}
