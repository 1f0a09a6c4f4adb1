"""IPIs as interrupts: the reschedule, call-function (single and many), TLB
shootdown and IRQ-work IPIs of ``irqlab.kernel.smp``, raised by the models
that raise them, taken as interrupts on the target, counted in the
architecture's ``/proc/interrupts`` rows."""

from __future__ import annotations

import pytest

from irqlab.events import VECTOR_ENTRY
from irqlab.kernel.cpu import USER
from irqlab.kernel.sched import SCHED_FIFO, SLEEP, WAKING, Body, cpu_bound
from irqlab.kernel.smp import IPI_CALL_FUNC, IPI_CALL_FUNC_SINGLE, IPI_IRQ_WORK, IPI_RESCHEDULE
from irqlab.kernel.workqueue import Work
from irqlab.machine.machine import Machine

from .rig import at, machine, run

MACHINE = """
[machine]
arch = "{arch}"
cpus = 4
{extra}
[timer]
enabled = false
"""


def quiet(arch: str = "x86", extra: str = "") -> Machine:
    return machine(MACHINE.format(arch=arch, extra=extra))


def row(m: Machine, name: str) -> list[int]:
    return m.kernel.snapshot().rows[name].per_cpu


def sleeper(runs: list[int], m: Machine) -> Body:
    """A thread that records each time it runs, works 1 us and sleeps again."""
    while True:
        runs.append(m.engine.now)
        yield 1_000
        yield SLEEP


def busy(m: Machine, cpu: int) -> None:
    sched = m.kernel.sched
    sched.wake_up_process(sched.kthread_create(f"user/{cpu}", cpu, cpu_bound(), kind=USER))


def test_a_remote_wakeup_that_must_preempt_sends_one_reschedule_ipi() -> None:
    m = quiet()
    k = m.kernel
    busy(m, 1)
    runs: list[int] = []
    t = k.sched.kthread_create("irq/99-x", 1, sleeper(runs, m), SCHED_FIFO, 50)
    at(m, 10_000, lambda: k.sched.wake_up_process(t, from_cpu=0))
    rec = run(m, 100_000)
    assert row(m, "RES") == [0, 1, 0, 0]
    assert row(m, "CAL") == [0, 0, 0, 0]
    assert k.smp.sent[IPI_RESCHEDULE] == [0, 1, 0, 0]
    # the FIFO thread ran on CPU 1 after the IPI was taken there
    ipi = [e for e in rec.events if e[2] == VECTOR_ENTRY and e[4] == 0xFD]
    assert [e[1] for e in ipi] == [1] and runs and runs[0] >= ipi[0][0]


def test_a_wakeup_that_need_not_preempt_sends_nothing() -> None:
    m = quiet()
    k = m.kernel
    busy(m, 1)
    t = k.sched.kthread_create("kworker/1:1", 1, sleeper([], m))  # SCHED_NORMAL: no preemption
    at(m, 10_000, lambda: k.sched.wake_up_process(t, from_cpu=0))
    run(m, 100_000)
    assert row(m, "RES") == [0] * 4 and row(m, "CAL") == [0] * 4


def test_waking_an_idle_cpu_goes_through_its_wake_list_a_call_function_ipi() -> None:
    m = quiet()
    k = m.kernel
    runs: list[int] = []
    t = k.sched.kthread_create("kworker/2:1", 2, sleeper(runs, m))
    states = []
    at(m, 10_000, lambda: (k.sched.wake_up_process(t, from_cpu=0), states.append(t.state)))
    # a second wake-up while the first is on the wake list does nothing
    at(m, 10_000, lambda: states.append(k.sched.wake_up_process(t, from_cpu=3)))
    run(m, 100_000)
    assert states == [WAKING, False]
    assert row(m, "CAL") == [0, 0, 1, 0] and row(m, "RES") == [0] * 4
    assert k.smp.sent[IPI_CALL_FUNC_SINGLE] == [0, 0, 1, 0]
    assert len(runs) == 1 and t.state != WAKING


def test_across_last_level_caches_a_busy_cpu_is_woken_through_its_wake_list() -> None:
    m = quiet(extra="llc_cpus = 2")  # CPUs 0-1 and 2-3 share a cache each
    k = m.kernel
    busy(m, 1)
    busy(m, 2)
    near = k.sched.kthread_create("near", 1, sleeper([], m), SCHED_FIFO, 50)
    far = k.sched.kthread_create("far", 2, sleeper([], m), SCHED_FIFO, 50)
    at(m, 10_000, lambda: (k.sched.wake_up_process(near, 0), k.sched.wake_up_process(far, 0)))
    run(m, 100_000)
    assert row(m, "RES") == [0, 1, 0, 0]
    assert row(m, "CAL") == [0, 0, 1, 0]


def test_a_wakeup_on_the_same_cpu_sends_no_ipi() -> None:
    m = quiet()
    k = m.kernel
    runs: list[int] = []
    t = k.sched.kthread_create("irq/9-x", 0, sleeper(runs, m), SCHED_FIFO, 50)
    at(m, 10_000, lambda: k.sched.wake_up_process(t, from_cpu=0))
    run(m, 100_000)
    assert runs == [10_000] and sum(sum(r) for r in k.smp.sent) == 0


def test_smp_call_function_many_and_single_use_their_own_vectors() -> None:
    m = quiet()
    k = m.kernel
    ran: list[int] = []

    def fn(_k: object, cpu: int) -> int:
        ran.append(cpu)
        return 2_000

    at(m, 10_000, lambda: k.smp.smp_call_function_many(0, [0, 1, 2, 3], fn))
    at(m, 50_000, lambda: k.smp.smp_call_function_many(0, [0, 3], fn))
    local: list[int] = []
    at(m, 80_000, lambda: local.append(k.smp.smp_call_function_single(2, 2, fn)))
    rec = run(m, 100_000)
    assert sorted(ran[:3]) == [1, 2, 3] and ran[3:] == [3, 2]
    assert local == [2_000]  # on its own CPU the function runs at once, no IPI
    vectors = sorted((e[1], e[4], e[5]) for e in rec.events if e[2] == VECTOR_ENTRY)
    # each vector's irq_vectors tracepoint: call_function_entry, call_function_single_entry
    assert vectors == [(1, 0xFC, "call_function"), (2, 0xFC, "call_function"),
                       (3, 0xFB, "call_function_single"), (3, 0xFC, "call_function")]
    assert row(m, "CAL") == [0, 1, 1, 2]
    assert k.smp.sent[IPI_CALL_FUNC] == [0, 1, 1, 1]
    assert k.smp.sent[IPI_CALL_FUNC_SINGLE] == [0, 0, 0, 1]
    assert k.cpus[1].account()[2] >= 2_000  # the function's time is the target's irq time


def test_tlb_shootdowns_queued_on_one_pending_ipi_count_one_cal_and_each_tlb() -> None:
    m = quiet()
    k = m.kernel

    def munmap_burst() -> None:
        for _ in range(5):
            k.arch.flush_tlb_multi(k, 0, [0, 1, 2, 3])

    at(m, 10_000, munmap_burst)
    run(m, 100_000)
    assert row(m, "TLB") == [0, 5, 5, 5]
    assert row(m, "CAL") == [0, 1, 1, 1]  # llist_add: only the first call sends the IPI


def test_irq_work_raises_the_iwi_row_once_per_empty_list() -> None:
    m = quiet()
    k = m.kernel
    done: list[int] = []

    def work(_k: object, cpu: int) -> int:
        done.append(cpu)
        return 500

    at(m, 10_000, lambda: [k.smp.irq_work_queue_on(0, c, work) for c in (0, 0, 3)])
    run(m, 100_000)
    assert sorted(done) == [0, 0, 3]
    assert row(m, "IWI") == [1, 0, 0, 1]
    assert k.smp.sent[IPI_IRQ_WORK] == [1, 0, 0, 1]


def test_queue_work_on_another_cpu_wakes_its_kworker_by_ipi() -> None:
    m = quiet()
    k = m.kernel
    runs: list[int] = []
    work = Work(lambda ctx: runs.append(ctx.cpu), "remote_work")
    ctx = k.handler_ctx[0]
    at(m, 10_000, lambda: ctx.queue_work_on(2, work))
    run(m, 100_000)
    assert runs == [2]
    assert row(m, "CAL") == [0, 0, 1, 0]


def test_arm64_ipis_are_sgis_shown_as_ipi_rows_and_tlbi_is_broadcast() -> None:
    m = quiet("arm64")
    k = m.kernel
    busy(m, 1)
    t = k.sched.kthread_create("irq/9-x", 1, sleeper([], m), SCHED_FIFO, 50)
    idle = k.sched.kthread_create("kworker/2:0", 2, sleeper([], m))
    at(m, 10_000, lambda: (k.sched.wake_up_process(t, 0), k.sched.wake_up_process(idle, 0)))
    at(m, 20_000, lambda: k.arch.flush_tlb_multi(k, 0, [0, 1, 2, 3]))
    at(m, 30_000, lambda: k.smp.irq_work_queue_on(3, 3, lambda _k, _c: 0))
    run(m, 100_000)
    snap = k.snapshot()
    arch_rows = [r for r in snap.rows if not r.isdigit()]
    assert arch_rows == [f"IPI{i}" for i in range(8)] + ["Err"]
    assert snap.rows["IPI0"].name == "Rescheduling interrupts"
    assert snap.rows["IPI0"].per_cpu == [0, 1, 0, 0]
    assert snap.rows["IPI1"].per_cpu == [0, 0, 1, 0]  # the wake list; no TLB IPI
    assert snap.rows["IPI5"].per_cpu == [0, 0, 0, 1]
    assert "TLB" not in snap.rows


@pytest.mark.parametrize("arch", ["x86", "arm64"])
def test_ipi_rows_are_shown_even_when_zero(arch: str) -> None:
    m = quiet(arch)
    run(m, 10_000)
    rows = m.kernel.snapshot().rows
    names = ["RES", "CAL", "TLB", "IWI"] if arch == "x86" else ["IPI0", "IPI1", "IPI5"]
    assert all(rows[n].per_cpu == [0] * 4 for n in names)
    if arch == "x86":
        assert rows["CAL"].name == "Function call interrupts" and rows["TLB"].name == "TLB shootdowns"


UNMAPPING = """
[machine]
arch = "{arch}"
cpus = 4
workload = {{ threads = 1, tlb_shootdowns = "20k/s" }}
[timer]
enabled = false
"""


@pytest.mark.parametrize("arch", ["x86", "arm64"])
def test_a_process_that_unmaps_shoots_down_the_other_cpus_tlbs(arch: str) -> None:
    m = machine(UNMAPPING.format(arch=arch))
    run(m, 2_000_000)
    assert m.mm is not None
    unmaps = m.mm.shootdowns
    assert all(n > 10 for n in unmaps)
    rows = m.kernel.snapshot().rows
    if arch == "arm64":  # broadcast TLBI: no IPI at all
        assert "TLB" not in rows and rows["IPI1"].per_cpu == [0] * 4
        return
    queued = [len(q) for q in m.kernel.smp.call_single_queue]  # flushes not yet taken
    for cpu in range(4):
        others = sum(unmaps) - unmaps[cpu]
        # every other CPU's unmap runs flush_tlb_func here once: the TLB row
        assert rows["TLB"].per_cpu[cpu] + queued[cpu] == others
        # each call-function IPI taken carried at least one of them
        assert 0 < rows["CAL"].per_cpu[cpu] <= rows["TLB"].per_cpu[cpu]
    sent = m.kernel.smp.sent
    assert [a + b for a, b in zip(sent[IPI_CALL_FUNC], sent[IPI_CALL_FUNC_SINGLE], strict=True)] \
        == [c + (1 if q else 0) for c, q in zip(rows["CAL"].per_cpu, queued, strict=True)]
