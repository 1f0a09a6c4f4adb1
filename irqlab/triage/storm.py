"""Interrupt storms: ``irq N: nobody cared`` and ``Disabling IRQ #N``.

Source: ``kernel/irq/spurious.c`` ``__report_bad_irq`` / ``note_interrupt``.  The report
is ``irq %d: nobody cared (try booting with the "irqpoll" option)``, a stack dump,
``handlers:``, one ``[<%p>] %ps`` line per action (``" threaded [<%p>] %ps"`` appended
for a thread function; ``%ps`` adds `` [module]`` for module symbols; kernels before
~2.6.30 printed ``[<addr>] (usb_hcd_irq+0x0/0x60)``), and then ``Disabling IRQ #%d``
when the line was shut off.  Thread functions are listed as handlers too.
"""

from __future__ import annotations

import re

from irqlab.triage.findings import Handler, IrqStorm

STACK_LINES = 200  # give up waiting for "handlers:" after this many lines

KEYWORDS = ("nobody cared", "Disabling IRQ")
_NOBODY = re.compile(r"\birq (?P<irq>\d{1,10}): nobody cared\b")
_DISABLING = re.compile(r"\bDisabling IRQ #(?P<irq>\d{1,10})\b")
_HANDLERS = re.compile(r"^handlers:\s*$")
# "%ps"/"%pS" symbols: ``usb_hcd_irq``, ``usb_hcd_irq+0x0/0x68 [usbcore]``, and the
# pre-2.6.30 ``(usb_hcd_irq+0x0/0x68)`` or ``(ohci_irq+0x0/0x7e0 [ohci1394])``.  Repeats
# are bounded, so matching stays linear in any line.
_SYMBOL = (r"\(?(?P<{0}>[\w.$]{{1,128}})(?:\+0x[0-9a-f]{{1,16}}/0x[0-9a-f]{{1,16}})?"
           r"(?:\s{{1,4}}\[(?P<{0}_mod>[\w-]{{1,64}})\])?\)?"
           r"(?:\s{{1,4}}\[(?P<{0}_mod2>[\w-]{{1,64}})\])?")
_ACTION = re.compile(
    r"^\[<[0-9a-fA-F]{1,16}>\]\s{1,8}" + _SYMBOL.format("fn")
    + r"(?:\s{1,8}threaded\s{1,8}\[<[0-9a-fA-F]{1,16}>\]\s{1,8}" + _SYMBOL.format("thread")
    + r")?\s*$"
)


def _nobody(line: str) -> re.Match[str] | None:
    """``_NOBODY.search`` behind a substring test (fast on long lines; see windows.py)."""
    return _NOBODY.search(line) if "nobody cared" in line else None


def _disabling(line: str) -> re.Match[str] | None:
    return _DISABLING.search(line) if "Disabling IRQ #" in line else None


class StormParser:
    """Collects one report at a time; emits when the handler list ends."""

    def __init__(self) -> None:
        self._storm: IrqStorm | None = None
        self._in_handlers = False
        self._waited = 0

    @property
    def active(self) -> bool:
        return self._storm is not None

    def incomplete(self, line: str) -> bool:
        return False

    def starts(self, line: str) -> bool:
        return _nobody(line) is not None or _disabling(line) is not None

    def feed(self, line: str) -> list[IrqStorm]:
        nobody = _nobody(line)
        if nobody is not None:
            out = self.flush()
            self._storm = IrqStorm(int(nobody["irq"]))
            return out
        disabling = _disabling(line)
        if disabling is not None:
            irq = int(disabling["irq"])
            if self._storm is not None and self._storm.irq == irq:
                self._storm.disabled = True
                return self.flush()
            return [*self.flush(), IrqStorm(irq, disabled=True)]
        if self._storm is None:
            return []
        if _HANDLERS.match(line):
            self._in_handlers = True
            return []
        action = _ACTION.match(line) if self._in_handlers else None
        if action is not None:
            self._storm.handlers.append(
                Handler(action["fn"], action["fn_mod"] or action["fn_mod2"]))
            if action["thread"]:
                self._storm.handlers.append(
                    Handler(action["thread"], action["thread_mod"] or action["thread_mod2"]))
            return []
        self._waited += 1
        if self._in_handlers or self._waited > STACK_LINES:
            return self.flush()
        return []

    def flush(self) -> list[IrqStorm]:
        storm, self._storm = self._storm, None
        self._in_handlers, self._waited = False, 0
        return [] if storm is None else [storm]
