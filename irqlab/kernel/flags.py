"""Flag and state constants of the Linux generic IRQ layer.

IRQF_* from ``include/linux/interrupt.h``; IRQS_* (core-internal descriptor
state) from ``kernel/irq/internals.h``; IRQD_* (per-irq_data state) named as in
``include/linux/irq.h`` (values here are irqlab's own bit positions).
"""

# include/linux/interrupt.h
IRQF_TRIGGER_RISING = 0x00000001
IRQF_TRIGGER_FALLING = 0x00000002
IRQF_TRIGGER_HIGH = 0x00000004
IRQF_TRIGGER_LOW = 0x00000008
IRQF_TRIGGER_MASK = IRQF_TRIGGER_HIGH | IRQF_TRIGGER_LOW | IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING
IRQF_SHARED = 0x00000080
IRQF_PROBE_SHARED = 0x00000100
IRQF_TIMER_BIT = 0x00000200  # __IRQF_TIMER
IRQF_PERCPU = 0x00000400
IRQF_NOBALANCING = 0x00000800
IRQF_IRQPOLL = 0x00001000
IRQF_ONESHOT = 0x00002000
IRQF_NO_SUSPEND = 0x00004000
IRQF_NO_THREAD = 0x00010000
IRQF_NO_AUTOEN = 0x00080000
IRQF_COND_ONESHOT = 0x00200000
IRQF_TIMER = IRQF_TIMER_BIT | IRQF_NO_SUSPEND | IRQF_NO_THREAD


# kernel/irq/internals.h
IRQS_SPURIOUS_DISABLED = 0x00000002
IRQS_POLL_INPROGRESS = 0x00000008
IRQS_ONESHOT = 0x00000020
IRQS_REPLAY = 0x00000040
IRQS_WAITING = 0x00000080
IRQS_PENDING = 0x00000200

# include/linux/irq.h (irqd state), irqlab bit values
IRQD_IRQ_DISABLED = 0x1
IRQD_IRQ_MASKED = 0x2
IRQD_IRQ_INPROGRESS = 0x4
IRQD_LEVEL = 0x8
IRQD_SETAFFINITY_PENDING = 0x10
IRQD_AFFINITY_MANAGED = 0x20  # the kernel spread the affinity: users cannot change it
IRQD_MANAGED_SHUTDOWN = 0x40  # managed and shut down: every CPU of its mask went offline
IRQD_ACTIVATED = 0x80  # the chip has activated the line (x86: it holds a vector)

# include/linux/irqreturn.h
IRQ_NONE = 0
IRQ_HANDLED = 1
IRQ_WAKE_THREAD = 2
