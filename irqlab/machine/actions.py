"""Timed actions from the scenario's ``[[action]]`` list: what an
administrator does to a running machine, each at its ``at`` time, through a
named kernel or device operation:

* ``set-affinity``: write ``/proc/irq/N/smp_affinity_list``
  (:meth:`Kernel.irq_set_affinity`);
* ``cpu-offline`` / ``cpu-online``: ``echo 0|1 > /sys/devices/system/cpu/cpuN/online``
  (``Kernel.hotplug``);
* ``disable-irq`` / ``enable-irq``: ``disable_irq`` / ``enable_irq``;
* ``coalesce``: ``ethtool -C`` a NIC device (``RxPath.set_coalesce``);
* ``rate``: the device's new arrival rate (``Arrivals.set_rate``).

Each is logged (``irqlab: action[N]: ...``).  One the kernel refuses (-EBUSY
during a move, -EIO on a managed IRQ, -ENOSPC, the last online CPU) is
logged with its errno and reported as a warning; the run goes on, as a
failed write to ``/proc`` leaves the machine running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irqlab.hw.arrivals import MAX_RATE_PER_S
from irqlab.hw.nic import CoalesceError
from irqlab.kernel.cpuhotplug import HotplugError
from irqlab.kernel.cpumask import bitmap_list_string, cpumask_of
from irqlab.kernel.manage import IrqRequestError
from irqlab.machine.errors import BuildError
from irqlab.machine.machine import Machine

if TYPE_CHECKING:
    from irqlab.scenario.schema import ActionSpec


def install(m: Machine) -> None:
    """Schedule every action; BuildError when one names an IRQ the machine
    lacks or a rate no arrival source can have."""
    for i, action in enumerate(m.spec.action):
        irqs = _irqs(m, i, action)
        if action.rate is not None and not 0 < action.rate <= MAX_RATE_PER_S:
            raise BuildError(f"action[{i}].rate: {action.rate:g}/s is above one arrival per ns")
        m.engine.at(action.at, _fire, (m, i, action, irqs))


def _irqs(m: Machine, i: int, a: ActionSpec) -> list[int]:
    """The IRQs an action names (none for hotplug and rate actions)."""
    if a.irq is not None:
        if a.irq not in m.kernel.descs:
            have = ", ".join(str(n) for n in sorted(m.kernel.descs))
            raise BuildError(f"action[{i}].irq: no IRQ {a.irq} (this machine has {have})")
        return [a.irq]
    if a.device is None or a.kind in ("rate", "coalesce"):
        return []
    irqs = m.irqs[a.device]
    if a.queue is None:
        return list(irqs)
    if a.queue >= len(irqs):  # the driver got fewer vectors than asked (-ENOSPC)
        raise BuildError(f"action[{i}].queue: '{a.device}' runs {len(irqs)} queue(s)")
    return [irqs[a.queue]]


def _describe(a: ActionSpec, irqs: list[int]) -> str:
    what = ", ".join(str(irq) for irq in irqs)
    if a.kind == "set-affinity":
        return f"irq {what} -> CPUs {bitmap_list_string(cpumask_of(a.cpus or []))}"
    if a.kind in ("cpu-offline", "cpu-online"):
        return f"CPU{a.cpu}"
    if a.kind == "rate":
        return f"{a.device}" + (f" queue {a.queue}" if a.queue is not None else "") + f" -> {a.rate:g}/s"
    if a.kind == "coalesce":
        given = [("rx-usecs", a.rx_usecs), ("rx-frames", a.rx_frames),
                 ("adaptive-rx", None if a.adaptive is None else "on" if a.adaptive else "off")]
        return f"{a.device} " + " ".join(f"{k} {v}" for k, v in given if v is not None)
    return f"irq {what}"


def _fire(arg: tuple[Machine, int, ActionSpec, list[int]]) -> None:
    m, i, a, irqs = arg
    k = m.kernel
    what = f"action[{i}]: {a.kind} {_describe(a, irqs)}"
    k.printk(f"irqlab: {what}")
    try:
        if a.kind == "set-affinity":
            for irq in irqs:
                k.irq_set_affinity(irq, a.cpus or [])
        elif a.kind == "cpu-offline":
            k.hotplug.cpu_down(a.cpu or 0)
        elif a.kind == "cpu-online":
            k.hotplug.cpu_up(a.cpu or 0)
        elif a.kind == "disable-irq":
            for irq in irqs:
                k.disable_irq(irq)
        elif a.kind == "enable-irq":
            for irq in irqs:
                k.enable_irq(irq)
        elif a.kind == "coalesce":
            m.nics[a.device or ""].set_coalesce(a.rx_usecs, a.rx_frames, a.adaptive)
        else:
            devs = m.devices[a.device or ""]
            for dev in devs if a.queue is None else devs[a.queue:a.queue + 1]:
                dev.arrivals.set_rate(a.rate or 0.0)  # type: ignore[union-attr]  # checked: has a rate
    except CoalesceError as exc:
        msg = f"{what} failed: -EINVAL: {exc}"
        k.printk(f"irqlab: {msg}")
        k.warn("action", None, msg)
    except (IrqRequestError, HotplugError) as exc:
        msg = f"{what} failed: -{exc.errno}: {exc}"
        k.printk(f"irqlab: {msg}")
        k.warn("action", irqs[0] if irqs else None, msg)
