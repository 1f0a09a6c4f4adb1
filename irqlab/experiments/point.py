"""A point of an experiment's grid, as its summaries read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from irqlab.scenario.schema import DeviceSpec, Scenario
    from irqlab.sweep.point import Row


@dataclass(frozen=True)
class Point:
    """One point of the grid: its scenario (overrides applied), the device
    the experiment measures, and the report rows of its runs (one per seed)."""

    spec: Scenario
    device: DeviceSpec
    rows: list[Row]

    def rx(self, field: str) -> Any:
        """The mean over the seeds of the NIC's ``rx`` figure (None if absent)."""
        values = [r[key] for r in self.rows if (key := f"rx.{self.device.name}.{field}") in r]
        if not values:
            return None
        mean = sum(values) / len(values)
        return round(mean) if all(isinstance(v, int) for v in values) else round(mean, 4)

    @property
    def mode(self) -> str:
        """The receive mode as the experiments name it: ``per-packet``,
        ``moderation`` (per-packet with static coalescing), ``napi``,
        ``napi-moderation`` or ``adaptive`` (NAPI with net DIM)."""
        nic = self.device.nic
        assert nic is not None
        if nic.receive == "per-packet":
            return "moderation" if nic.rx_usecs else "per-packet"
        if nic.adaptive:
            return "adaptive"
        return "napi-moderation" if nic.rx_usecs else "napi"

    @property
    def offered_pps(self) -> int:
        """The NIC's offered load: its arrival rate (the nominal value the grid set)."""
        return round(self.device.arrival.rate or 0)
