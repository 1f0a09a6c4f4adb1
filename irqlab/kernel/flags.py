"""Flag and state constants of the Linux generic IRQ layer.

IRQF_* from ``include/linux/interrupt.h``; IRQS_* (core-internal descriptor
state) from ``kernel/irq/internals.h``; IRQD_* (per-irq_data state) named as in
``include/linux/irq.h`` (values here are irqlab's own bit positions).
``Final``: the compiled modules inline them (a plain module global is a dict
look-up at every use).
"""

from typing import Final

# include/linux/interrupt.h
IRQF_TRIGGER_RISING: Final = 0x00000001
IRQF_TRIGGER_FALLING: Final = 0x00000002
IRQF_TRIGGER_HIGH: Final = 0x00000004
IRQF_TRIGGER_LOW: Final = 0x00000008
IRQF_TRIGGER_MASK: Final = IRQF_TRIGGER_HIGH | IRQF_TRIGGER_LOW | IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING
IRQF_SHARED: Final = 0x00000080
IRQF_PROBE_SHARED: Final = 0x00000100
IRQF_TIMER_BIT: Final = 0x00000200  # __IRQF_TIMER
IRQF_PERCPU: Final = 0x00000400
IRQF_NOBALANCING: Final = 0x00000800
IRQF_IRQPOLL: Final = 0x00001000
IRQF_ONESHOT: Final = 0x00002000
IRQF_NO_SUSPEND: Final = 0x00004000
IRQF_NO_THREAD: Final = 0x00010000
IRQF_NO_AUTOEN: Final = 0x00080000
IRQF_COND_ONESHOT: Final = 0x00200000
IRQF_TIMER: Final = IRQF_TIMER_BIT | IRQF_NO_SUSPEND | IRQF_NO_THREAD


# kernel/irq/internals.h
IRQS_SPURIOUS_DISABLED: Final = 0x00000002
IRQS_POLL_INPROGRESS: Final = 0x00000008
IRQS_ONESHOT: Final = 0x00000020
IRQS_REPLAY: Final = 0x00000040
IRQS_WAITING: Final = 0x00000080
IRQS_PENDING: Final = 0x00000200

# include/linux/irq.h (irqd state), irqlab bit values
IRQD_IRQ_DISABLED: Final = 0x1
IRQD_IRQ_MASKED: Final = 0x2
IRQD_IRQ_INPROGRESS: Final = 0x4
IRQD_LEVEL: Final = 0x8
IRQD_SETAFFINITY_PENDING: Final = 0x10
IRQD_AFFINITY_MANAGED: Final = 0x20  # the kernel spread the affinity: users cannot change it
IRQD_MANAGED_SHUTDOWN: Final = 0x40  # managed and shut down: every CPU of its mask went offline
IRQD_ACTIVATED: Final = 0x80  # the chip has activated the line (x86: it holds a vector)

# include/linux/irqreturn.h
IRQ_NONE: Final = 0
IRQ_HANDLED: Final = 1
IRQ_WAKE_THREAD: Final = 2
