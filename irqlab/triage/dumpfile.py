"""Header of a Windows kernel crash dump (``MEMORY.DMP``, ``Minidump\\*.dmp``).

Layout (``DUMP_HEADER32`` / ``DUMP_HEADER64`` as described by Volatility's
``_DMP_HEADER``/``_DMP_HEADER64`` and rizin's ``dmp_specs.h``; little endian):

==================  =================  =================
field               32-bit "PAGEDUMP"  64-bit "PAGEDU64"
==================  =================  =================
Signature/ValidDump 0x00 "PAGE"+"DUMP" 0x00 "PAGE"+"DU64"
BugCheckCode        0x28 (u32)         0x38 (u32)
BugCheckParameter1  0x2C (u32 x 4)     0x40 (u64 x 4)
DumpType            0xF88 (u32)        0xF98 (u32)
header size         0x1000             0x2000
==================  =================  =================

Full, kernel and small ("minidump", DumpType 4 = triage) kernel dumps all start with
this header.  User-mode minidumps start with ``MDMP`` and hold no bug check.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

SIGNATURE_32 = b"PAGEDUMP"
SIGNATURE_64 = b"PAGEDU64"
USER_MINIDUMP = b"MDMP"
SIGNATURE_LEN = 8

DUMP_TYPES: dict[int, str] = {
    1: "full memory dump",
    2: "kernel memory dump",
    3: "header-only dump",
    4: "small memory dump (minidump)",
    5: "full memory dump (bitmap)",
    6: "kernel memory dump (bitmap)",
    7: "automatic memory dump (bitmap)",
}


class _Layout(NamedTuple):
    code: int
    params: int
    param_format: str
    dump_type: int


_LAYOUTS: dict[bytes, _Layout] = {
    SIGNATURE_32: _Layout(0x28, 0x2C, "<4I", 0xF88),
    SIGNATURE_64: _Layout(0x38, 0x40, "<4Q", 0xF98),
}
HEADER_NEEDED = {sig: layout.dump_type + 4 for sig, layout in _LAYOUTS.items()}


class DumpHeader(NamedTuple):
    bits: int
    code: int
    parameters: tuple[int, int, int, int]
    dump_type: int

    @property
    def dump_kind(self) -> str:
        return DUMP_TYPES.get(self.dump_type, f"dump type {self.dump_type}")


class DumpError(ValueError):
    """The bytes start like a crash dump but cannot be read as one."""


def is_dump(head: bytes) -> bool:
    """True when ``head`` starts with a kernel-dump or user-minidump signature."""
    return head[:SIGNATURE_LEN] in _LAYOUTS or head.startswith(USER_MINIDUMP)


def parse_header(data: bytes) -> DumpHeader:
    """Read code, parameters and dump type; :class:`DumpError` if truncated or foreign."""
    if data.startswith(USER_MINIDUMP):
        raise DumpError("user-mode minidump (MDMP): it records an application crash, "
                        "not a bug check")
    signature = data[:SIGNATURE_LEN]
    layout = _LAYOUTS.get(signature)
    if layout is None:
        raise DumpError("not a Windows kernel crash dump (no PAGEDUMP/PAGEDU64 signature)")
    needed = HEADER_NEEDED[signature]
    if len(data) < needed:
        raise DumpError(f"truncated crash dump header: {len(data)} bytes, "
                        f"need {needed:#x} to reach DumpType")
    (code,) = struct.unpack_from("<I", data, layout.code)
    params = struct.unpack_from(layout.param_format, data, layout.params)
    (dump_type,) = struct.unpack_from("<I", data, layout.dump_type)
    return DumpHeader(64 if signature == SIGNATURE_64 else 32, code,
                      (params[0], params[1], params[2], params[3]), dump_type)
