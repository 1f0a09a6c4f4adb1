"""Function pointers named as %ps prints them, and the scheduler, workqueue and
tasklet records decoded from the ring buffer's binary layout."""

from __future__ import annotations

import struct

from irqlab.events import SCHED_SWITCH, SCHED_WAKEUP, TASKLET_ENTRY, WORK_QUEUE, Event
from irqlab.observe.kallsyms import Kallsyms
from irqlab.observe.ringbuffer import decode_record as decode
from irqlab.observe.ringbuffer import parse_format

KALLSYMS = """\
ffffffff81000000 T _stext
ffffffff810a1230 t process_one_work
ffffffff810a1300 D some_data
ffffffffc0a01000 t e1000_watchdog\t[e1000e]
"""

# the 6.18 format files (their field lines; common fields first)
COMMON = """\
name: {name}
ID: {id}
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
"""
SWITCH = COMMON.format(name="sched_switch", id=300) + """
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;
\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;
"""
WAKEUP = COMMON.format(name="sched_wakeup", id=301) + """
\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:int target_cpu;\toffset:32;\tsize:4;\tsigned:1;
"""
QUEUE = COMMON.format(name="workqueue_queue_work", id=302) + """
\tfield:void * work;\toffset:8;\tsize:8;\tsigned:0;
\tfield:void * function;\toffset:16;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] workqueue;\toffset:24;\tsize:4;\tsigned:0;
\tfield:int req_cpu;\toffset:28;\tsize:4;\tsigned:1;
\tfield:int cpu;\toffset:32;\tsize:4;\tsigned:1;
"""
TASKLET = COMMON.format(name="tasklet_entry", id=303) + """
\tfield:void * tasklet;\toffset:8;\tsize:8;\tsigned:0;
\tfield:void * func;\toffset:16;\tsize:8;\tsigned:0;
"""


def test_kallsyms_names_functions_as_ps_prints_them() -> None:
    sym = Kallsyms(KALLSYMS)
    assert sym(0xFFFFFFFF810A1230) == "process_one_work"
    assert sym(0xFFFFFFFF810A1310) == "process_one_work"  # data symbols are not functions
    assert sym(0xFFFFFFFFC0A01000) == "e1000_watchdog [e1000e]"
    assert sym(0x1000) == "0x1000"  # below every symbol
    hidden = Kallsyms("0000000000000000 T _stext\n0000000000000000 t process_one_work\n")
    assert hidden(0xFFFFFFFF810A1230) == "0xffffffff810a1230"  # kptr_restrict


def record(fmt: str, payload: bytes) -> tuple[str, dict, bytes]:
    event_id, name, fields = parse_format(fmt)
    return name, fields, struct.pack("<HBBi", event_id, 0, 0, 1) + payload


def test_sched_workqueue_and_tasklet_records() -> None:
    sym = Kallsyms(KALLSYMS)
    name, fields, data = record(SWITCH, b"bash".ljust(16, b"\0") + struct.pack("<iiq", 77, 120, 0x100)
                                + b"irq/24-eth0".ljust(16, b"\0") + struct.pack("<ii", 612, 49))
    assert decode(5, 1, name, fields, data, sym) == Event(5, 1, SCHED_SWITCH, 612, 0x100, "irq/24-eth0")
    name, fields, data = record(WAKEUP, b"irq/24-eth0".ljust(16, b"\0") + struct.pack("<iii", 612, 49, 1))
    assert decode(6, 0, name, fields, data, sym) == Event(6, 0, SCHED_WAKEUP, 612, 49, "irq/24-eth0")
    name, fields, data = record(QUEUE, struct.pack("<QQIii", 0xFFFF8881000A0000, 0xFFFFFFFFC0A01000,
                                                   0, 8192, 3))
    assert decode(7, 0, name, fields, data, sym) == \
        Event(7, 0, WORK_QUEUE, 0xFFFF8881000A0000, 3, "e1000_watchdog [e1000e]")
    name, fields, data = record(TASKLET, struct.pack("<QQ", 0xFFFF888100B00000, 0xFFFFFFFF810A1240))
    assert decode(8, 2, name, fields, data, sym) == Event(8, 2, TASKLET_ENTRY, -1, 0, "process_one_work")
