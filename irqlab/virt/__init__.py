"""Guests: virtual machines on the simulated host, as KVM runs them.

A guest is a machine in the machine: its own kernel, built by the same
builder and OS personality hook as the host's, on a guest platform whose
interrupt controller is the virtual one (``guest``).  Its vCPUs run on host
CPUs (``vcpu``); the hypervisor (``kvm``) decides what exits, what is injected
at VM entry and what the hardware delivers without an exit, by the VM's
injection mode (``modes``), at the costs of ``costs``.  The hardware pieces
(posted-interrupt descriptors and posted IRTEs, the virtual CPU interface, the
GIC list registers) are in ``irqlab.hw`` and know no policy.
"""
