"""Windows crash-dump headers, generated here with struct.pack."""

from __future__ import annotations

import struct

import pytest

from irqlab.triage import dumpfile

PARAMS = (0x26, 0xFFFFD08BB1435060, 0x40, 0x6)


def header64(code=0xE6, params=PARAMS, dump_type=2, size=0x2000):
    data = bytearray(size)
    data[0:8] = b"PAGEDU64"
    struct.pack_into("<II", data, 8, 15, 19041)
    struct.pack_into("<I", data, 0x38, code)
    struct.pack_into("<4Q", data, 0x40, *params)
    if size >= 0xF9C:
        struct.pack_into("<I", data, 0xF98, dump_type)
    return bytes(data)


def header32(code=0xD1, params=(0x10, 0x2, 0x0, 0x804E4F5C), dump_type=1):
    data = bytearray(0x1000)
    data[0:8] = b"PAGEDUMP"
    struct.pack_into("<I", data, 0x28, code)
    struct.pack_into("<4I", data, 0x2C, *params)
    struct.pack_into("<I", data, 0xF88, dump_type)
    return bytes(data)


@pytest.mark.parametrize(("dump_type", "kind"), [
    (1, "full memory dump"), (2, "kernel memory dump"), (4, "small memory dump (minidump)")])
def test_64bit_header_each_dump_type(dump_type, kind):
    header = dumpfile.parse_header(header64(dump_type=dump_type))
    assert header == dumpfile.DumpHeader(64, 0xE6, PARAMS, dump_type)
    assert header.dump_kind == kind


def test_32bit_header():
    header = dumpfile.parse_header(header32())
    assert header == dumpfile.DumpHeader(32, 0xD1, (0x10, 0x2, 0x0, 0x804E4F5C), 1)


def test_dump_file_becomes_bugcheck_finding(scan_text):
    [found] = scan_text(header64(dump_type=4) + b"\x00" * 4096, name="Mini101023-01.dmp")
    assert found["code"] == "0xe6"
    assert found["parameters"] == ["0x26", "0xffffd08bb1435060", "0x40", "0x6"]
    assert found["violation"] == {"code": "0x26", "meaning": "IOMMU detected DMA violation"}


@pytest.mark.parametrize("cut", [8, 0x40, 0xF98])
def test_truncated_header_is_an_error(cut):
    with pytest.raises(dumpfile.DumpError, match="truncated crash dump header"):
        dumpfile.parse_header(header64()[:cut])


def test_user_minidump_is_refused_with_reason():
    with pytest.raises(dumpfile.DumpError, match="user-mode minidump"):
        dumpfile.parse_header(b"MDMP\x93\xa7" + b"\x00" * 64)
