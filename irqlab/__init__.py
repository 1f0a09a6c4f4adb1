"""irqlab: simulate, observe, stress and diagnose interrupt handling.

Data flows one way::

    scenario -> machine (hw models + kernel layer) -> events -> analysis -> report
    live capture / trace files ------------------> events -> analysis -> report

``irqlab.events`` is the one record type shared by the simulator and by capture.
"""

__version__ = "0.1.0"

from irqlab import _compiled

_compiled.select()
