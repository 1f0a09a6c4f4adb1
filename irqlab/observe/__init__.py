"""Observing real Linux systems: parsers of /proc/interrupts and /proc/softirqs
(``procfs``), the ftrace text reader (``ftrace``), irqlab's trace file and the
input-format detector (``tracefile``), live capture from tracefs (``tracefs``,
decoding ``ringbuffer`` pages), the ``irqlab top`` rates (``top``) and per-IRQ
arrivals for replay (``arrivals``).  Nothing here imports the simulator."""
