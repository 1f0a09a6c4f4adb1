"""The ftrace text line of an irq, softirq or vector event, shared by the
line reader (``ftrace.py``) and the vectorised column reader
(``ftrace_columns.py``)."""

from __future__ import annotations

import re

# cpu, timestamp, "event: args".  Only irq/softirq/vector events match; the
# event text is decoded once per distinct value (ftrace._Decoded).  Bytes, not str:
# no decoding of skipped text, and sre runs faster on bytes.
# Digit runs are bounded: int() refuses over 4300 digits (an absurd CPU number
# is still read, for the caller to refuse); an ns timestamp has at most 20.
EVENT_RE = re.compile(
    rb"\[(\d{1,4300}+)\] ++(?:[^\s:\[\]]{1,6}+ ++)?(\d{1,20}+(?:\.\d{0,12}+)?): ++"
    rb"(?:irq(?:_vectors)?:)?"
    rb"((?:irq_handler_(?:entry|exit)|softirq_(?:raise|entry|exit)|\w+_(?:entry|exit)): ++"
    rb"(?:irq|vec|vector)=[^\r\n]*+)"
)
