"""Distributions of the bottom halves that run outside the softirq vectors'
own accounting: IRQ threads, tasklets and work items, from the scheduler,
tasklet and workqueue events (:mod:`irqlab.events`) of a simulated run or a
capture alike (Windows DPCs: :mod:`irqlab.analysis.irqstats`).

* ``irqthread_latency_ns``: ``sched_wakeup`` of an IRQ thread (comm
  ``irq/N-name``, kernel/irq/manage.c ``setup_irq_thread``) -> the
  ``sched_switch`` to it; wake-ups while it is already runnable wait for the
  same switch.  ``irqthread_ns``: CPU time of one activation, from the switch to
  it until it is switched out asleep or dead (``prev_state`` not ``R``/``R+``),
  the time it was preempted left out and interrupts taken while it ran
  included (as ``handler_ns`` includes nested ones).  Keyed by comm.
* ``tasklet_ns``: ``tasklet_entry`` -> ``tasklet_exit`` on one CPU, by function.
* ``work_ns``: ``workqueue_execute_start`` -> ``_end`` of one work item (wall
  time: a work function may sleep), by function.

An end without its start, or a duration that comes out negative, is unmatched.
"""

from __future__ import annotations

from typing import Final

from irqlab.analysis.histogram import Histogram
from irqlab.events import (
    IDLE_PID,
    IRQ_STATE,
    NAPI_ENTRY,
    NAPI_EXIT,
    SCHED_SWITCH,
    SCHED_WAKEUP,
    TASK_REPORT_MAX,
    TASKLET_ENTRY,
    TASKLET_EXIT,
    WORK_END,
    WORK_QUEUE,
    WORK_START,
)

IRQ_THREAD_PREFIX: Final = "irq/"


def _record(hists: dict[str, Histogram], key: str, ns: int) -> bool:
    if ns < 0:
        return False
    hist = hists.get(key)
    if hist is None:
        hist = hists[key] = Histogram()
    hist.record(ns)
    return True


class _Activation:
    """An IRQ thread between its wake-up and its sleep."""

    __slots__ = ("comm", "ran", "since", "woken")

    def __init__(self, comm: str, woken: int) -> None:
        self.comm = comm
        self.woken = woken  # -1 once it has run
        self.since = -1  # on a CPU since (-1: not running)
        self.ran = 0


class DeferredStats:
    """The deferred-work distributions of one event stream."""

    def __init__(self) -> None:
        self.irqthread_latency_ns: dict[str, Histogram] = {}
        self.irqthread_ns: dict[str, Histogram] = {}
        self.tasklet_ns: dict[str, Histogram] = {}
        self.work_ns: dict[str, Histogram] = {}
        self._threads: dict[int, _Activation] = {}  # IRQ threads woken and not yet asleep
        self._running: dict[int, int] = {}  # cpu -> pid of its task
        self._tasklet: dict[int, tuple[int, str]] = {}  # cpu -> (start, function)
        self._work: dict[int, int] = {}  # work -> start

    def feed(self, ts: int, cpu: int, kind: int, irq: int, value: int, name: str) -> bool:
        """Account one event of the kinds above; False when it is unmatched."""
        if kind == SCHED_SWITCH:
            return self._switch(ts, cpu, irq, value)
        if kind == SCHED_WAKEUP:
            if name.startswith(IRQ_THREAD_PREFIX) and irq not in self._threads:
                self._threads[irq] = _Activation(name, ts)
            return True
        if kind == TASKLET_ENTRY:
            ok = cpu not in self._tasklet  # else the previous one lost its exit
            self._tasklet[cpu] = (ts, name)
            return ok
        if kind == TASKLET_EXIT:
            entry = self._tasklet.pop(cpu, None)
            return entry is not None and _record(self.tasklet_ns, entry[1], ts - entry[0])
        if kind == WORK_START:
            self._work[irq] = ts
            return True
        if kind == WORK_END:
            began = self._work.pop(irq, None)
            return began is not None and _record(self.work_ns, name, ts - began)
        return kind in (WORK_QUEUE, IRQ_STATE, NAPI_ENTRY, NAPI_EXIT)  # nothing to measure

    def _switch(self, ts: int, cpu: int, pid: int, prev_state: int) -> bool:
        if not self._threads:  # no IRQ thread woken: only who runs changes
            self._running[cpu] = pid
            return True
        ok = True
        prev = self._threads.get(self._running.get(cpu, IDLE_PID))
        if prev is not None and prev.since >= 0:
            prev.ran += ts - prev.since
            prev.since = -1
            if prev_state & ~TASK_REPORT_MAX:  # asleep or dead: the activation is over
                del self._threads[self._running[cpu]]
                ok = _record(self.irqthread_ns, prev.comm, prev.ran)
        self._running[cpu] = pid
        act = self._threads.get(pid)
        if act is not None:
            act.since = ts
            if act.woken >= 0:
                ok = _record(self.irqthread_latency_ns, act.comm, ts - act.woken) and ok
                act.woken = -1
        return ok
