"""Linux's AMD-Vi event log thread and SMMUv3 event queue thread: the lines
they print, their rate limits, and a full log or queue."""

from __future__ import annotations

from irqlab.os.linux.amd_iommu import event_line
from tests.kernel.rig import machine, run

SCENARIO = """
[machine]
arch = "{arch}"
cpus = 1
iommu = "{iommu}"
[timer]
enabled = false
[[device]]
name = "nvme"
kind = "msix"
"""


def _flood(iommu: str, arch: str, faults: int, entries: int | None = None) -> list[str]:
    """``faults`` writes of nvme to unmapped pages at 1 ms, in one go."""
    m = machine(SCENARIO.format(arch=arch, iommu=iommu))
    unit = m.board.iommu
    if entries is not None:  # a smaller log / queue than Linux allocates
        if iommu == "amd":
            unit.log = unit.log[:entries]
        else:
            unit.queue = unit.queue[:entries]
    sid = m.sids["nvme"]
    m.engine.at(1_000_000, lambda _: [unit.dma(sid, 0x1000 * i, True) for i in range(faults)])
    run(m, 2_000_000)
    return [line for _, line in m.kernel.log]


def test_amd_event_lines_carry_the_device_prefix_and_flags() -> None:
    log = _flood("amd", "x86", 2)
    assert log == [
        "nvme 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0001 address=0x0 flags=0x0020]",
        "nvme 0000:01:00.0: AMD-Vi: Event logged [IO_PAGE_FAULT domain=0x0001 address=0x1000 "
        "flags=0x0020]"]


def test_amd_unknown_requester_prints_the_device_field() -> None:
    event = (0x0300, 0x2 << 28 | 0x10 << 16, 0x64A7F000, 0)
    assert event_line(event, None) == ("AMD-Vi: Event logged [IO_PAGE_FAULT device=0000:03:00.0 "
                                       "domain=0x0000 address=0x64a7f000 flags=0x0010]")


def test_amd_other_event_types_print_all_four_dwords() -> None:
    event = (0x0300, 0x1 << 28, 0x1000, 0)  # ILLEGAL_DEV_TABLE_ENTRY: not decoded here
    assert event_line(event, None) == ("AMD-Vi: Event logged [UNKNOWN event[0]=0x00000300 "
                                       "event[1]=0x10000000 event[2]=0x00001000 event[3]=0x00000000")


def test_amd_prints_ten_per_device_then_limits() -> None:
    log = _flood("amd", "x86", 15)
    assert len(log) == 10  # dev_data->rs: 10 per 5 s; the rest are drained unprinted


def test_amd_full_event_log_reports_the_overflow() -> None:
    log = _flood("amd", "x86", 6, entries=4)
    assert len([line for line in log if "Event logged" in line]) == 3  # one entry stays free
    assert log[-1] == "AMD-Vi: IOMMU event log overflow"


def test_smmu_prints_raw_and_decoded_records() -> None:
    log = _flood("arm-smmuv3", "arm64", 1)
    prefix = "arm-smmu-v3 arm-smmu-v3.0.auto: "
    assert log == [prefix + line for line in (
        "event 0x10 received:", "\t0x0000010000000010", "\t0x0000020000000000",
        "\t0x0000000000000000", "\t0x0000000000000000",
        "event: F_TRANSLATION client: 0000:01:00.0 sid: 0x100 ssid: 0x0 iova: 0x0 ipa: 0x0",
        'unpriv data write s1 "Input address caused fault" stag: 0x0')]


def test_smmu_full_queue_loses_events_and_says_so() -> None:
    log = _flood("arm-smmuv3", "arm64", 5, entries=2)
    assert len([line for line in log if "received:" in line]) == 2
    assert log[-1] == "arm-smmu-v3 arm-smmu-v3.0.auto: EVTQ overflow detected -- events lost"
