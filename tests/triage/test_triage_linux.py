"""Linux fault lines: Intel DMAR, AMD-Vi, Arm SMMU and "nobody cared" storms."""

from __future__ import annotations

from irqlab import vtd


def fault(vendor, device, access, address, reason_code, reason, count, iommu=None,
          registers=None):
    return {"kind": "iommu-fault", "vendor": vendor, "device": device, "access": access,
            "address": address, "reason_code": reason_code, "reason": reason, "count": count,
            "iommu": iommu, "registers": registers or {}}


def test_dmesg_dmar_current_formats_folded_with_suppressed(scan):
    assert scan("dmesg_dmar.txt") == [
        # 4 printed + 44 announced as "dmar_fault: 44 callbacks suppressed"
        fault("intel", "00:02.0", "read", "0x7cd80000", "0x1",
              "Present bit in root entry is clear", 48),
        fault("intel", "00:1f.3", "write", "0xfffbd000", "0x5", "PTE Write access is not set", 1),
        fault("intel", "3b:00.0", "write", "0x7f3a1c000", "0x85",
              "SM: No write permission for Write/AtomicOp request", 1),
        fault("intel", "f0:1f.0", None, "0x16", "0x22",
              "Present field in the IRTE entry is clear", 1),
    ]


def test_journal_dmar_old_formats_decimal_reasons_and_two_line(scan):
    assert scan("journal_dmar_old.txt") == [
        fault("intel", "00:02.0", "read", "0x7cd80000", "0x6", "PTE Read access is not set", 2),
        # 5.x "[fault reason %02d]": 12 decimal = 0x0c
        fault("intel", "00:17.0", "write", "0x3f400000", "0xc",
              "non-zero reserved fields in PTE", 1),
        fault("intel", "00:02.0", "write", "0x6df084000", "0x5", "PTE Write access is not set", 1),
        fault("intel", "f0:1f.0", None, "0x16", "0x25",
              "Blocked a compatibility format interrupt request", 1),
    ]


def test_xen_hypervisor_dmar_lines(scan):
    assert scan("xen_dmar.txt") == [
        fault("intel", "0000:00:02.0", "read", "0x7cd80000", "0x6",
              "PTE Read access is not set", 1),
        fault("intel", "0000:00:14.0", None, "0x1f", "0x26",
              "Blocked an interrupt request due to source-id verification failure", 1),
    ]


def test_reason_tables_cover_documented_ranges():
    assert [vtd.reason_text(c) for c in (0x00, 0x0D, 0x0E)] == [
        "Software", "PCE for translation request specifies blocking", "Unknown"]
    assert vtd.reason_text(0x20).startswith("Detected reserved fields")
    assert vtd.reason_text(0x26).startswith("Blocked an interrupt request")
    assert vtd.reason_text(0x27) == "Unknown"
    assert vtd.reason_text(0x30) == "SM: Invalid Root Table Address"
    assert vtd.reason_text(0x33) == "Unknown"
    assert vtd.reason_text(0x90).startswith("SM: A/D bit update")
    assert len(vtd.SM_REASONS) == 46


def test_amdvi_current_and_unknown_device_forms(scan):
    assert scan("amdvi_current.txt") == [
        fault("amd", "0000:03:00.0", "write", "0x64a7f000", "0x2",
              "IO_PAGE_FAULT: I/O page fault (page not present)", 4 + 37),
        fault("amd", "0000:47:00.1", "read", "0xfffffff00000", "0x2",
              "IO_PAGE_FAULT: I/O page fault (page not present)", 1),
        fault("amd", "0000:c1:00.0", None, "0xfee00000", "0x2",
              "IO_PAGE_FAULT: I/O page fault (page present, permission denied, "
              "interrupt request)", 1),
        fault("amd", "0000:c1:00.1", "read", "0xfffffffdf8000000", "0x1",
              "ILLEGAL_DEV_TABLE_ENTRY: illegal device table entry", 1),
    ]


def test_amdvi_old_split_line_format(scan):
    assert scan("amdvi_split.txt") == [
        fault("amd", "24:00.0", "read", "0xf400239400", "0x2",
              "IO_PAGE_FAULT: I/O page fault (page present)", 3),
    ]


def test_arm_smmu_context_faults(scan):
    assert scan("smmu.txt") == [
        # 3 printed + 5 suppressed; the 6.12 register dump repeats the first one.
        # The master is the stream ID (CBFRSYNRA[15:0]), never the SMMU itself.
        fault("arm", "sid 0x880", "read", "0x9ffff000", "0x2",
              "translation fault (TF), stream ID 0x880, context bank 3", 8,
              "15000000.iommu", {"fsr": "0x402", "iova": "0x9ffff000", "fsynr": "0x200021",
                                 "cbfrsynra": "0x880", "cb": "3"}),
        # 4.x: no CBFRSYNRA, so the master is unknown
        fault("arm", None, "write", "0x1000", "0x8",
              "permission fault (PF), context bank 0", 1,
              "5040000.iommu", {"fsr": "0x408", "iova": "0x00001000", "fsynr": "0x11", "cb": "0"}),
        fault("arm", "sid 0x1a0", "write", None, "0x80000002",
              "translation fault (TF); multiple faults (MULTI), during a page-table walk, "
              "stream ID 0x1a0", 1,
              "3da0000.iommu", {"fsr": "0x80000402", "sid": "0x1a0", "fsynr0": "0x410"}),
    ]


def test_nobody_cared_handlers_and_disable(scan):
    assert scan("nobody_cared.txt") == [{
        "kind": "irq-storm", "irq": 16, "disabled": True,
        "handlers": [
            {"function": "usb_hcd_irq", "module": "usbcore"},
            {"function": "i801_isr", "module": "i2c_i801"},
            {"function": "irq_default_primary_handler", "module": None},
            {"function": "rtsx_pci_isr_thread", "module": "rtsx_pci"},
        ],
    }]


def test_nobody_cared_old_handler_format_without_disable(scan_text):
    text = ("irq 11: nobody cared (try booting with the \"irqpoll\" option)\n"
            "handlers:\n[<c02a1b40>] (usb_hcd_irq+0x0/0x60)\n"
            "eth0: link up\n")
    assert scan_text(text) == [{"kind": "irq-storm", "irq": 11, "disabled": False,
                                "handlers": [{"function": "usb_hcd_irq", "module": None}]}]


def test_mail_rewrapped_lines_are_rejoined(scan):
    found = scan("mail_wrapped.txt")
    assert found[0] == fault("intel", "02:00.0", "write", "0xfffe2000", "0x6",
                             "PTE Read access is not set", 2)
    assert found[1]["code"] == "0xd1"
    assert found[1]["parameters"] == ["0xffffa30c6f4ac018", "0x2", "0x0", "0xfffff8016e21c7b5"]
    assert len(found) == 2


def test_distinct_devices_listed_separately(scan_text):
    line = ("DMAR: [DMA Read NO_PASID] Request device [{}] fault addr 0x1000 "
            "[fault reason 0x06] PTE Read access is not set\n")
    found = scan_text(line.format("00:02.0") * 3 + line.format("00:14.0"))
    assert [(f["device"], f["count"]) for f in found] == [("00:02.0", 3), ("00:14.0", 1)]
