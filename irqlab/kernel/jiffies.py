"""Time in jiffies (``include/linux/jiffies.h``): conversions round up."""


def msecs_to_jiffies(ms: int, hz: int) -> int:
    return -(-ms * hz // 1000)


def usecs_to_jiffies(us: int, hz: int) -> int:
    return -(-us * hz // 1_000_000)
