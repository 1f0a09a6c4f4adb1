"""Time in jiffies (``include/linux/jiffies.h``): conversions round up."""


def msecs_to_jiffies(ms: int, hz: int) -> int:
    return -(-ms * hz // 1000)


def usecs_to_jiffies(us: int, hz: int) -> int:
    return -(-us * hz // 1_000_000)


def jiffies_to_msecs(j: int, hz: int) -> int:
    """``jiffies_to_msecs`` (kernel/time/time.c): exact when HZ divides 1000."""
    if 1000 % hz == 0:
        return 1000 // hz * j
    if hz % 1000 == 0:
        return -(-j // (hz // 1000))
    return j * 1000 // hz
