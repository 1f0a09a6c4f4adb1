"""The ftrace text line of an irq, softirq, vector, tasklet, scheduler or
workqueue event, shared by the line reader (``ftrace.py``) and the vectorised
column reader (``ftrace_columns.py``)."""

from __future__ import annotations

import re

#: names of the events besides irq_handler_*, softirq_* and vectors (their own
#: layouts: include/trace/events/{irq,sched,workqueue}.h)
TASK_EVENTS = (b"tasklet_entry", b"tasklet_exit", b"sched_switch", b"sched_wakeup",
               b"workqueue_queue_work", b"workqueue_execute_start", b"workqueue_execute_end")

# cpu, timestamp, "event: args".  Only the events irqlab reads match; the
# event text is decoded once per distinct value (ftrace._Decoded).  Bytes, not str:
# no decoding of skipped text, and sre runs faster on bytes.
# Digit runs are bounded: int() refuses over 4300 digits (an absurd CPU number
# is still read, for the caller to refuse); an ns timestamp has at most 20.
EVENT_RE = re.compile(
    rb"\[(\d{1,4300}+)\] ++(?:[^\s:\[\]]{1,6}+ ++)?(\d{1,20}+(?:\.\d{0,12}+)?): ++"
    rb"(?:(?:irq|irq_vectors|sched|workqueue):)?"
    rb"((?:irq_handler_(?:entry|exit)|softirq_(?:raise|entry|exit)|\w+_(?:entry|exit)): ++"
    rb"(?:irq|vec|vector)=[^\r\n]*+"
    rb"|(?:tasklet_(?:entry|exit)|workqueue_\w+): ++(?:tasklet|func|work struct)[=\s][^\r\n]*+"
    rb"|sched_(?:switch|wakeup): ++[^\r\n]*+)"
)
