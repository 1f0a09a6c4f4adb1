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

_VALUE = r"(?:0x)?[0-9a-fA-F`]+"
_TITLE = re.compile(r"^(?P<name>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+) \((?P<code>[0-9a-fA-F]{1,8})\)$")
_ARG = re.compile(r"^Arg(?P<n>[1-4]):\s+(?P<v>" + _VALUE + r")\b")
_BUGCHECK_P = re.compile(r"^BUGCHECK_P(?P<n>[1-4]):\s+(?P<v>" + _VALUE + r")\s*$")
_BUGCHECK_CODE = re.compile(r"^BUGCHECK_CODE:\s+(?P<code>" + _VALUE + r")\s*$")
_BANNER = re.compile(r"\bBugCheck (?P<code>[0-9a-fA-F]+), \{(?P<args>[^}]*)\}")
_DOT_BUGCHECK = re.compile(r"^Bugcheck code (?P<code>[0-9a-fA-F]+)\s*$")
_DOT_ARGS = re.compile(r"^Arguments\s+(?P<args>(?:" + _VALUE + r"\s*){4})$")
_EVENT = re.compile(r"(?:bugcheck was:|\bSTOP:)\s*(?P<code>0x[0-9a-fA-F]+)\s*"
                    r"\((?P<args>[^)]*)\)", re.IGNORECASE)
_EVENT_START = re.compile(r"bugcheck was:|\bSTOP:\s*0x", re.IGNORECASE)
_FRAME_FIELD = re.compile(r"^(?:SYMBOL_NAME:|Probably caused by\s*:)\s*(?P<v>\S+)")
_MODULE_FIELD = re.compile(r"^(?P<k>MODULE_NAME|IMAGE_NAME):\s*(?P<v>\S+)")
_BUCKET = re.compile(r"^FAILURE_BUCKET_ID:\s*(?P<v>\S+)")
_WHAT_FAILED = re.compile(r"\bWhat failed:\s*(?P<v>\S+)")
_KEBUGCHECKEX = re.compile(r"^(?P<pre>.*?)\s*:?\s*nt!KeBugCheckEx\b")
_BARE = re.compile(r"\b(?P<name>" + "|".join(sorted(bugcheck.NAMES, key=len, reverse=True))
                   + r")\b")
IVT = "IvtHandleInterrupt"
ANALYSIS_BANNER = "Bugcheck Analysis"

KEYWORDS = (ANALYSIS_BANNER, "Arg", "BUGCHECK_", "BugCheck", "Bugcheck", "bugcheck", "Arguments", "STOP:",
            "KeBugCheckEx", IVT, "SYMBOL_NAME", "MODULE_NAME", "IMAGE_NAME",
            "FAILURE_BUCKET_ID", "Probably caused by", "What failed", *bugcheck.NAMES)
TITLE_HINT = r"[A-Z][A-Z0-9_]{5,} \([0-9a-fA-F]{1,8}\)\s*$"


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
    """Turns Windows crash text into :class:`BugCheck` records."""

    def __init__(self) -> None:
        self._open: BugCheck | None = None
        self._module_is_image = False
        self._in_analysis = False
        self.saw_ivt = False

    active = False

    def incomplete(self, line: str) -> bool:
        return _EVENT_START.search(line) is not None and _EVENT.search(line) is None

    def starts(self, line: str) -> bool:
        return bool(_EVENT_START.search(line) or _TITLE.match(line) or _BANNER.search(line))

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
        banner = _BANNER.search(line)
        if banner is not None:
            out = self._start(int(banner["code"], 16), "WinDbg")
            self._fill(_params(banner["args"]))
            return out
        dot = _DOT_BUGCHECK.match(line)
        if dot is not None:
            return self._start(int(dot["code"], 16), "WinDbg .bugcheck")
        event = _EVENT.search(line)
        if event is not None:
            origin = "Event Viewer" if "bugcheck was" in line.lower() else "stop screen"
            return [BugCheck(int(event["code"], 16), _params(event["args"]), origin=origin)]
        stack = _KEBUGCHECKEX.match(line)
        if stack is not None:
            return self._stack_frame(stack["pre"])
        if self._open is not None and self._field(line):
            return []
        bare = _BARE.search(line)
        if bare is not None:
            code = bugcheck.NAMES[bare["name"]]
            if self._open is None:
                return self._start(code, "stop code name")
            if self._open.code != code:
                return [BugCheck(code, origin="stop code name")]
        return []

    def flush(self) -> list[BugCheck]:
        record, self._open = self._open, None
        self._module_is_image = False
        return [] if record is None else [record]

    def _start(self, code: int, origin: str) -> list[BugCheck]:
        """Open a record for ``code`` unless the open one is already that crash."""
        if self._open is not None and self._open.code == code:
            return []
        out = self.flush()
        self._open = BugCheck(code, origin=origin)
        return out

    def _fill(self, values: list[int | None]) -> None:
        assert self._open is not None
        self._open.parameters = [old if new is None else new
                                 for old, new in zip(self._open.parameters, values, strict=True)]

    def _field(self, line: str) -> bool:
        """Analysis fields of the open record; True when the line was one."""
        assert self._open is not None
        record = self._open
        for pattern in (_ARG, _BUGCHECK_P):
            match = pattern.match(line)
            if match is not None:
                record.parameters[int(match["n"]) - 1] = _hex(match["v"])
                return True
        if (match := _DOT_ARGS.match(line)) is not None:
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
            record.bucket_id = match["v"]
        elif (match := _WHAT_FAILED.search(line)) is not None:
            record.module = record.module or match["v"]
        else:
            return False
        return True

    def _stack_frame(self, pre: str) -> list[BugCheck]:
        """``Child-SP RetAddr : args : nt!KeBugCheckEx`` (x64) or ``EBP Ret args`` (x86)."""
        parts = pre.split(" : ")
        args = parts[1].split() if len(parts) >= 2 else pre.split()[2:]
        values = [_hex(a) for a in args[:4]]
        if not values or values[0] is None or values[0] > 0xFFFFFFFF:
            return []
        values += [None] * (4 - len(values))
        frame = BugCheck(values[0], [*values[1:], None], origin="KeBugCheckEx stack")
        if self._open is not None and self._open.compatible(frame):
            self._open.absorb(frame)
            self._open.origin = self._open.origin.split(" + ")[0]
            return []
        return [frame]
