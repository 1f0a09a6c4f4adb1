"""The driver code that called a ``HandlerContext`` method, for the
"scheduling while atomic" report.

Kept out of the compiled ``kernel.action``: compiled code has no Python
frames, so this walks the interpreter's frames from here, skipping this
module and ``kernel/action.py`` (present when it runs interpreted), to the
first frame of the caller.  Called only on the rare sleeping-while-atomic path.
"""

from __future__ import annotations

import sys
from pathlib import Path

_SKIP = frozenset({__file__, str(Path(__file__).with_name("action.py"))})


def call_site() -> str:
    """``file:line in function`` of the innermost frame outside ``kernel.action``."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename in _SKIP:
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
