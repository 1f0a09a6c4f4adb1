"""Net DIM, dynamic interrupt moderation (``lib/dim/net_dim.c``, ``lib/dim/dim.c``,
``include/linux/dim.h``).

The driver feeds a sample (event, packet and byte counters) after each
completed NAPI poll.  Every ``DIM_NEVENTS`` = 64 events the rates of the
window (bytes/ms, packets/ms, events/ms, rounded up) are compared with the
previous window: more bytes/ms is better, else more packets/ms, else fewer
events/ms; a difference counts only if it is more than 10 % (integer
arithmetic, ``IS_SIGNIFICANT_DIFF``).  The tuner walks the five profiles
(right = more moderation) while things get better, turns when they do not,
parks "on top" at an edge or after oscillating, and parks "tired" after
2 x 5 steps for as many windows.  A new profile is handed to the driver
(``dim->work``), which writes it to the NIC and restarts measuring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

NET_DIM_PARAMS_NUM_PROFILES = 5
NET_DIM_DEF_PROFILE_EQE = 1
DIM_NEVENTS = 64
USEC_PER_MSEC = 1000

# dim->state
DIM_START_MEASURE, DIM_MEASURE_IN_PROGRESS, DIM_APPLY_NEW_PROFILE = range(3)
# dim->tune_state
DIM_PARKING_ON_TOP, DIM_PARKING_TIRED, DIM_GOING_RIGHT, DIM_GOING_LEFT = range(4)
# net_dim_stats_compare
DIM_STATS_WORSE, DIM_STATS_SAME, DIM_STATS_BETTER = range(3)
# net_dim_step
DIM_STEPPED, DIM_TOO_TIRED, DIM_ON_EDGE = range(3)



class Moderation(NamedTuple):
    """``struct dim_cq_moder``: rx-usecs and rx-frames of a profile."""

    usec: int
    pkts: int


#: NET_DIM_RX_EQE_PROFILES (timer started by the first completion, as the NIC model does)
RX_EQE_PROFILES = tuple(Moderation(u, 256) for u in (1, 8, 64, 128, 256))
#: NET_DIM_RX_CQE_PROFILES (timer restarted by each completion)
RX_CQE_PROFILES = (Moderation(2, 256), Moderation(8, 128), Moderation(16, 64),
                   Moderation(32, 64), Moderation(64, 64))


class DimStats(NamedTuple):
    ppms: int
    bpms: int
    epms: int


def _div_round_up(a: int, b: int) -> int:
    return -(-a // b)


def is_significant_diff(val: int, ref: int) -> bool:
    """More than 10 % difference, in the kernel's integer arithmetic."""
    return 100 * abs(val - ref) // ref > 10


def stats_compare(curr: DimStats, prev: DimStats) -> int:
    """``net_dim_stats_compare``: bytes/ms, then packets/ms, then events/ms."""
    if not prev.bpms:
        return DIM_STATS_BETTER if curr.bpms else DIM_STATS_SAME
    if is_significant_diff(curr.bpms, prev.bpms):
        return DIM_STATS_BETTER if curr.bpms > prev.bpms else DIM_STATS_WORSE
    if not prev.ppms:
        return DIM_STATS_BETTER if curr.ppms else DIM_STATS_SAME
    if is_significant_diff(curr.ppms, prev.ppms):
        return DIM_STATS_BETTER if curr.ppms > prev.ppms else DIM_STATS_WORSE
    if not prev.epms:
        return DIM_STATS_SAME
    if is_significant_diff(curr.epms, prev.epms):
        return DIM_STATS_BETTER if curr.epms < prev.epms else DIM_STATS_WORSE
    return DIM_STATS_SAME


class NetDim:
    """``struct dim`` of one RX queue.  ``apply(moderation)`` is the driver's
    work function: it writes the profile to the hardware."""

    __slots__ = ("apply", "changes", "prev_stats", "profile_ix", "profiles", "start", "state",
                 "steps_left", "steps_right", "tired", "tune_state")

    def __init__(self, apply: Callable[[Moderation], None],
                 profiles: tuple[Moderation, ...] = RX_EQE_PROFILES,
                 profile_ix: int = NET_DIM_DEF_PROFILE_EQE) -> None:
        self.apply = apply
        self.profiles = profiles
        self.profile_ix = profile_ix
        self.state = DIM_START_MEASURE
        self.tune_state = DIM_PARKING_ON_TOP  # the zeroed struct dim
        self.steps_left = 0
        self.steps_right = 0
        self.tired = 0
        self.prev_stats = DimStats(0, 0, 0)
        self.start = (0, 0, 0, 0)  # (time_ns, events, packets, bytes)
        self.changes = 0

    @property
    def moderation(self) -> Moderation:
        return self.profiles[self.profile_ix]

    # -- dim.c ------------------------------------------------------------------------
    def on_top(self) -> bool:
        ts = self.tune_state
        if ts in (DIM_PARKING_ON_TOP, DIM_PARKING_TIRED):
            return True
        if ts == DIM_GOING_RIGHT:
            return self.steps_left > 1 and self.steps_right == 1
        return self.steps_right > 1 and self.steps_left == 1

    def turn(self) -> None:
        if self.tune_state == DIM_GOING_RIGHT:
            self.tune_state = DIM_GOING_LEFT
            self.steps_left = 0
        elif self.tune_state == DIM_GOING_LEFT:
            self.tune_state = DIM_GOING_RIGHT
            self.steps_right = 0

    def park_on_top(self) -> None:
        self.steps_right = self.steps_left = self.tired = 0
        self.tune_state = DIM_PARKING_ON_TOP

    def park_tired(self) -> None:
        self.steps_right = self.steps_left = 0
        self.tune_state = DIM_PARKING_TIRED

    # -- net_dim.c --------------------------------------------------------------------
    def step(self) -> int:
        if self.tired == NET_DIM_PARAMS_NUM_PROFILES * 2:
            return DIM_TOO_TIRED
        if self.tune_state == DIM_GOING_RIGHT:
            if self.profile_ix == NET_DIM_PARAMS_NUM_PROFILES - 1:
                return DIM_ON_EDGE
            self.profile_ix += 1
            self.steps_right += 1
        elif self.tune_state == DIM_GOING_LEFT:
            if self.profile_ix == 0:
                return DIM_ON_EDGE
            self.profile_ix -= 1
            self.steps_left += 1
        self.tired += 1
        return DIM_STEPPED

    def exit_parking(self) -> None:
        self.tune_state = DIM_GOING_LEFT if self.profile_ix else DIM_GOING_RIGHT
        self.step()

    def decision(self, curr: DimStats) -> bool:
        """``net_dim_decision``: True when the profile changed."""
        prev_state = self.tune_state
        prev_ix = self.profile_ix
        if prev_state == DIM_PARKING_ON_TOP:
            if stats_compare(curr, self.prev_stats) != DIM_STATS_SAME:
                self.exit_parking()
        elif prev_state == DIM_PARKING_TIRED:
            self.tired -= 1
            if not self.tired:
                self.exit_parking()
        else:
            if stats_compare(curr, self.prev_stats) != DIM_STATS_BETTER:
                self.turn()
            if self.on_top():
                self.park_on_top()
            else:
                res = self.step()
                if res == DIM_ON_EDGE:
                    self.park_on_top()
                elif res == DIM_TOO_TIRED:
                    self.park_tired()
        if prev_state != DIM_PARKING_ON_TOP or self.tune_state != DIM_PARKING_ON_TOP:
            self.prev_stats = curr
        return self.profile_ix != prev_ix

    def sample(self, now_ns: int, events: int, packets: int, nbytes: int) -> None:
        """``net_dim(dim, end_sample)`` with the queue's running counters."""
        if self.state == DIM_MEASURE_IN_PROGRESS:
            t0, e0, p0, b0 = self.start
            if events - e0 < DIM_NEVENTS:
                return
            delta_us = (now_ns - t0) // 1000
            if not delta_us:
                return  # dim_calc_stats: no reliable stats
            curr = DimStats(
                ppms=_div_round_up((packets - p0) * USEC_PER_MSEC, delta_us),
                bpms=_div_round_up((nbytes - b0) * USEC_PER_MSEC, delta_us),
                epms=_div_round_up(DIM_NEVENTS * USEC_PER_MSEC, delta_us),
            )
            if self.decision(curr):
                self.state = DIM_APPLY_NEW_PROFILE
                self.changes += 1
                self.apply(self.moderation)  # the driver's dim work ...
                self.state = DIM_START_MEASURE  # ... restarts measuring at the next sample
                return
        elif self.state == DIM_APPLY_NEW_PROFILE:
            return
        self.start = (now_ns, events, packets, nbytes)
        self.state = DIM_MEASURE_IN_PROGRESS
