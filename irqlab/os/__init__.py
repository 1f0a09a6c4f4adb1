"""OS personalities: one per operating system (``linux``, ``windows``,
``freertos``; ``baremetal`` is firmware with no OS, for the controller
benchmarks), each built through one hook.  The table keyed by the scenario's
``machine.os`` is ``irqlab.os.registry.PERSONALITIES``."""
