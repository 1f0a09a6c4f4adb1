"""Windows bug checks in text: WinDbg sessions, Event Viewer, stacks, stop-code names.

Recognised (``shared/reference/interrupt-facts.md`` 8.4 and public transcripts):

* ``!analyze -v``: title ``DRIVER_VERIFIER_DMA_VIOLATION (e6)``, ``Arg1:``..``Arg4:``,
  ``BUGCHECK_CODE:``, ``BUGCHECK_P1:``..``P4:``, ``STACK_TEXT`` frames, ``SYMBOL_NAME:``,
  ``MODULE_NAME:``, ``IMAGE_NAME:``, ``FAILURE_BUCKET_ID:``
* the dump-load banner ``BugCheck E6, {26, ffffd08bb1435060, 40, 6}`` with
  ``Probably caused by : nt!IvtHandleInterrupt+1a7``, and ``.bugcheck``'s
  ``Bugcheck code 000000E6`` / ``Arguments ...``
* Event Viewer: ``The computer has rebooted from a bugcheck.  The bugcheck was:
  0x000000e6 (0x..., 0x..., 0x..., 0x...)``, and the classic ``STOP: 0x0000000A (...)``
* a stack frame ``... : 00000000`000000e6 00000000`00000026 ... : nt!KeBugCheckEx``;
  x64 stacks show only the first four arguments, so Arg4 stays unknown
* a bare stop-code name (``Stop code: DRIVER_VERIFIER_DMA_VIOLATION``), with
  ``What failed: x.sys`` naming the module

Lines of one analysis accumulate in an open record until another bug check starts.
``IvtHandleInterrupt`` anywhere in the analysis marks it; the orchestrator extends a
mention elsewhere in the same input to that input's 0xE6 reports.
"""

from __future__ import annotations

import re

from irqlab.triage import bugcheck
from irqlab.triage.findings import BugCheck
from irqlab.triage.text import guarded

# Repeats are bounded (a value has at most 16 digits plus a backtick) and no pattern
# starts with an unbounded repeat, so every search is linear in the line.
_VALUE = r"(?:0x)?[0-9a-fA-F`]{1,20}"
_TITLE = re.compile(r"^(?P<name>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+) \((?P<code>[0-9a-fA-F]{1,8})\)$")
_ARG = re.compile(r"^Arg(?P<n>[1-4]):\s{1,8}(?P<v>" + _VALUE + r")\b")
_BUGCHECK_P = re.compile(r"^BUGCHECK_P(?P<n>[1-4]):\s{1,8}(?P<v>" + _VALUE + r")\s*$")
_BUGCHECK_CODE = re.compile(r"^BUGCHECK_CODE:\s{1,8}(?P<code>" + _VALUE + r")\s*$")
_BANNER = re.compile(r"\bBugCheck (?P<code>[0-9a-fA-F]{1,8}), \{(?P<args>[^{}]{0,120})\}")
_DOT_BUGCHECK = re.compile(r"^Bugcheck code (?P<code>[0-9a-fA-F]{1,8})\s*$")
_DOT_ARGS = re.compile(r"^Arguments\s{1,8}(?P<args>" + _VALUE + r"(?:\s{1,8}" + _VALUE
                       + r"){3})\s*$")
_EVENT = re.compile(r"(?:bugcheck was:|\bSTOP:)\s{0,8}(?P<code>0x[0-9a-fA-F]{1,8})\s{0,8}"
                    r"\((?P<args>[^()]{0,120})\)", re.IGNORECASE)
_EVENT_START = re.compile(r"bugcheck was:|\bSTOP:\s{0,8}0x", re.IGNORECASE)
# The kernel debugger's banner; its arguments follow on the next line.
_FATAL = re.compile(r"\*\*\* Fatal System Error: (?P<code>0x[0-9a-fA-F]{1,8})"
                    r"(?:\s{0,40}\((?P<args>[^()]{0,120})\))?")
_FRAME_FIELD = re.compile(r"^(?:SYMBOL_NAME:|Probably caused by\s{0,8}:)\s*(?P<v>\S+)")
_MODULE_FIELD = re.compile(r"^(?P<k>MODULE_NAME|IMAGE_NAME):\s*(?P<v>\S+)")
# "0xE6_nt!IvtHandleInterrupt", pasted also as "0xE6_nt! IvtHandleInterrupt".
_BUCKET = re.compile(r"^FAILURE_BUCKET_ID:\s*(?P<v>(?:0x(?P<code>[0-9a-fA-F]{1,8})_)?"
                     r"[^\s!]{1,200}(?:!\s{0,4}\S{1,200})?)")
# The frame in a bucket, after its type tags: "0x133_DPC_npcap!NPF_..." -> "npcap!NPF_..."
_BUCKET_FRAME = re.compile(r"_(?:[A-Z0-9]{1,16}_)*(?P<frame>[\w.]{1,64}![\w.+]{1,200})$")
_WHAT_FAILED = re.compile(r"\bWhat failed:\s*(?P<v>\S+)")
_KEBUGCHECKEX = "nt!KeBugCheckEx"
_AFTER_SYMBOL = re.compile(r"\w")
_BUILD_X86 = re.compile(r"^BUILD_VERSION_STRING:\s*\S*x86fre")
_BARE = re.compile(r"\b(?P<name>" + "|".join(sorted(bugcheck.NAMES, key=len, reverse=True))
                   + r")\b")
IVT = "IvtHandleInterrupt"
ANALYSIS_BANNER = "Bugcheck Analysis"
SIGN_EXTENDED = 0xFFFFFFFF_00000000  # WinDbg widens 32-bit pointers in BUGCHECK_Pn

KEYWORDS = (ANALYSIS_BANNER, "Arg", "BUGCHECK_", "BugCheck", "Bugcheck", "bugcheck", "Arguments", "STOP:",
            "Fatal System Error", "BUILD_VERSION_STRING",
            "KeBugCheckEx", IVT, "SYMBOL_NAME", "MODULE_NAME", "IMAGE_NAME",
            "FAILURE_BUCKET_ID", "Probably caused by", "What failed", *bugcheck.NAMES)
TITLE_HINT = r"[A-Z][A-Z0-9_]{5,} \([0-9a-fA-F]{1,8}\)\s*$"  # searched on a line's tail


def _event_start(line: str) -> re.Match[str] | None:
    lowered = line.lower()
    if "bugcheck was:" in lowered or "stop:" in lowered:
        return _EVENT_START.search(line)
    return None


def _bare(line: str) -> re.Match[str] | None:
    return _BARE.search(line) if any(name in line for name in bugcheck.NAMES) else None


def _hex(token: str) -> int | None:
    token = token.strip().replace("`", "").lower().removeprefix("0x")
    try:
        return int(token, 16)
    except ValueError:
        return None


def _params(text: str, sep: str | None = ",") -> list[int | None]:
    values = [_hex(t) for t in text.split(sep) if t.strip()][:4]
    return values + [None] * (4 - len(values))


class WindowsParser:
    """Turns Windows crash text into :class:`BugCheck` records.

    Within one analysis the ``ArgN`` lines win: ``BUGCHECK_Pn`` and stack frames only
    fill what they left unknown.  A 32-bit analysis (8-digit ``ArgN``, an ``x86fre``
    build) keeps 32-bit values: WinDbg's sign-extended ``BUGCHECK_Pn`` are cut back.
    """

    def __init__(self) -> None:
        self._open: BugCheck | None = None
        self._module_is_image = False
        self._in_analysis = False
        self._bits32 = False
        self._from_args: set[int] = set()
        self.saw_ivt = False

    active = False

    def incomplete(self, line: str) -> bool:
        if _event_start(line) is not None:
            return _EVENT.search(line) is None
        fatal = _FATAL.search(line)
        return fatal is not None and fatal["args"] is None

    def starts(self, line: str) -> bool:
        return bool(_event_start(line) or _TITLE.match(line)
                    or guarded(_BANNER, "BugCheck ", line) or _FATAL.search(line))

    def feed(self, line: str) -> list[BugCheck]:
        if IVT in line:
            self.saw_ivt = True
            if self._open is not None:
                self._open.in_ivt_handle_interrupt = True
        if ANALYSIS_BANNER in line:
            self._in_analysis = True
        title = _TITLE.match(line)
        if title is not None and (self._in_analysis or title["name"] in bugcheck.NAMES):
            out = self._start(int(title["code"], 16), "WinDbg !analyze")
            assert self._open is not None
            self._open.name = title["name"]
            return out
        banner = guarded(_BANNER, "BugCheck ", line)
        if banner is not None:
            out = self._start(int(banner["code"], 16), "WinDbg")
            self._fill(_params(banner["args"]))
            return out
        fatal = _FATAL.search(line)
        if fatal is not None:
            out = self._start(int(fatal["code"], 16), "kernel debugger")
            if fatal["args"] is not None:
                self._fill(_params(fatal["args"]))
            return out
        dot = _DOT_BUGCHECK.match(line)
        if dot is not None:
            return self._start(int(dot["code"], 16), "WinDbg .bugcheck")
        event = _EVENT.search(line) if _event_start(line) else None
        if event is not None:
            origin = "Event Viewer" if "bugcheck was" in line.lower() else "stop screen"
            return [BugCheck(int(event["code"], 16), _params(event["args"]), origin=origin)]
        at = line.find(_KEBUGCHECKEX)
        end = at + len(_KEBUGCHECKEX)
        if at >= 0 and not _AFTER_SYMBOL.match(line, end):
            return self._stack_frame(line[:at].rstrip().removesuffix(":").rstrip())
        if self._open is not None and self._field(line):
            return []
        bucket = _BUCKET.match(line)
        if bucket is not None and bucket["code"] is not None:
            return self._bare_bucket(int(bucket["code"], 16), bucket["v"])
        bare = _bare(line)
        if bare is not None:
            code = bugcheck.NAMES[bare["name"]]
            if self._open is None:
                return self._start(code, "stop code name")
            if self._open.code != code:
                return [BugCheck(code, origin="stop code name")]
        return []

    def flush(self) -> list[BugCheck]:
        record, self._open = self._open, None
        self._module_is_image = self._bits32 = False
        self._from_args = set()
        return [] if record is None else [record]

    def _start(self, code: int, origin: str) -> list[BugCheck]:
        """Open a record for ``code`` unless the open one is already that crash."""
        if self._open is not None and self._open.code == code:
            return []
        out = self.flush()
        self._open = BugCheck(code, origin=origin)
        return out

    def _fill(self, values: list[int | None]) -> None:
        """Known values replace unknown ones; ``ArgN`` values stay."""
        assert self._open is not None
        self._open.parameters = [
            old if new is None or (n in self._from_args and old is not None) else new
            for n, (old, new) in enumerate(zip(self._open.parameters, values, strict=True))]

    def _narrow(self, value: int | None) -> int | None:
        """Undo WinDbg's sign extension of a 32-bit value on a 32-bit system."""
        if value is not None and self._bits32 and value & SIGN_EXTENDED == SIGN_EXTENDED:
            return value & 0xFFFFFFFF
        return value

    def _field(self, line: str) -> bool:
        """Analysis fields of the open record; True when the line was one."""
        assert self._open is not None
        record = self._open
        if (match := _ARG.match(line)) is not None:
            index = int(match["n"]) - 1
            digits = match["v"].lower().removeprefix("0x").replace("`", "")
            self._bits32 = self._bits32 or len(digits) == 8
            record.parameters[index] = _hex(match["v"])
            self._from_args.add(index)
            return True
        if (match := _BUGCHECK_P.match(line)) is not None:
            index = int(match["n"]) - 1
            if index not in self._from_args:
                record.parameters[index] = self._narrow(_hex(match["v"]))
            return True
        if _BUILD_X86.match(line):
            self._bits32 = True
            record.parameters = [self._narrow(p) for p in record.parameters]
        elif (match := _DOT_ARGS.match(line)) is not None:
            self._fill(_params(match["args"], None))
        elif (match := _BUGCHECK_CODE.match(line)) is not None:
            return True
        elif (match := _FRAME_FIELD.match(line)) is not None:
            record.faulting_frame = record.faulting_frame or match["v"]
        elif (match := _MODULE_FIELD.match(line)) is not None:
            if record.module is None or (match["k"] == "IMAGE_NAME" and not self._module_is_image):
                record.module = match["v"]
                self._module_is_image = match["k"] == "IMAGE_NAME"
        elif (match := _BUCKET.match(line)) is not None:
            record.bucket_id = _joined(match["v"])
        elif (match := _WHAT_FAILED.search(line)) is not None:
            record.module = record.module or match["v"]
        else:
            return False
        return True

    def _bare_bucket(self, code: int, value: str) -> list[BugCheck]:
        """A ``FAILURE_BUCKET_ID: 0xE6_nt!IvtHandleInterrupt`` line on its own."""
        bucket = _joined(value)
        frame = _BUCKET_FRAME.search(bucket)
        return [BugCheck(code, bucket_id=bucket, faulting_frame=frame["frame"] if frame else None,
                         in_ivt_handle_interrupt=bucket.endswith(IVT),
                         origin="failure bucket")]

    def _stack_frame(self, pre: str) -> list[BugCheck]:
        """``Child-SP RetAddr : args : nt!KeBugCheckEx`` (x64) or ``EBP Ret args`` (x86).

        x64 frames show the code and three arguments, x86 frames often fewer; inside an
        analysis of the same code the frame only fills unknown arguments.
        """
        parts = pre.split(" : ")
        args = parts[1].split() if len(parts) >= 2 else pre.split()[2:]
        values = [_hex(a) for a in args[:4]]
        if not values or values[0] is None or values[0] > 0xFFFFFFFF:
            return []
        values += [None] * (4 - len(values))
        frame = BugCheck(values[0], [*values[1:], None], origin="KeBugCheckEx stack")
        if self._open is not None and self._open.code == frame.code:
            self._fill([self._narrow(v) for v in frame.parameters])
            return []
        return [frame]


def _joined(bucket: str) -> str:
    """The bucket without the blank people paste after ``module!``."""
    return re.sub(r"!\s+", "!", bucket.strip())
