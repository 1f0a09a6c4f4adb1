"""Every triage parser is linear in the line length (issue 10, section 8).

A quadratic pattern needs minutes for the 128 kB lines below (the regressions this
guards against took 48 s for 50 kB); linear parsing needs well under a second for all
of them together.  The work runs in a subprocess under a timeout a hundred times the
linear cost, so the check is structural: it cannot flake on a loaded machine.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

LINE = 1 << 17  # 128 kB
TIMEOUT_S = 300
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(f"""
    from irqlab.triage import amdvi, dmar, smmu, storm, windows
    from irqlab.triage.diagnose import _SUPPRESSED, _wanted
    from irqlab.triage.text import normalise
    from tests.triage.test_triage_properties import FRAGMENTS

    FILLS = [" ", "\\t", "a", "A", "0", "1", ":", "a:", "[", "]", "(", ")", "> ", "_", "A_",
             ".", "-", "=", "x=1 ", "0x", ",", "`", "!", "{{", "}}", "0 ", "a: ", "ä", "<"]
    PARSERS = (windows.WindowsParser, dmar.DmarParser, amdvi.AmdViParser, smmu.SmmuParser,
               storm.StormParser)

    def lines():
        frags = [f for f in FRAGMENTS if f.strip()]
        for fill in FILLS:
            yield fill * ({LINE} // len(fill))
        for frag in frags:
            yield frag * ({LINE} // len(frag) + 1)
        # every fragment followed and preceded by a run of every fill, all in one line
        yield "".join(f + c * 96 + f for f in frags for c in FILLS)

    count = 0
    for line in lines():
        normalise(line)
        _wanted(line)
        _SUPPRESSED.search(line)
        for make in PARSERS:
            parser = make()
            parser.incomplete(line)
            parser.starts(line)
            parser.feed(line)
            parser.feed("handlers:")
            parser.feed(line)
            parser.flush()
        count += 1
    print(count)
""")


def test_every_parser_reads_long_adversarial_lines_in_linear_time():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 60  # all shapes were tried
