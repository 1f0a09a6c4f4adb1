"""ARM GICv3: distributor, redistributors and the CPU interface of each core.

Sources: Arm GICv3/v4 architecture (IHI0069) as summarised in the
system-register pages ICC_IAR1_EL1, ICC_EOIR1_EL1, ICC_DIR_EL1, ICC_RPR_EL1,
ICC_PMR_EL1, ICC_BPR1_EL1; QEMU ``hw/intc/arm_gicv3_cpuif.c``
(``icc_hppi_can_preempt``, ``icc_activate_irq``, ``icc_drop_prio``,
``icc_eoir_write``, ``icc_dir_write``, ``icc_gprio_mask``,
``icc_highest_active_prio``); Linux ``drivers/irqchip/irq-gic-v3.c`` and
``irq-gic-common.c`` for the values the kernel programs.

* INTIDs: SGI 0-15 and PPI 16-31 are banked per CPU (redistributor), SPI
  32-1019 are shared (distributor, routed by GICD_IROUTER), 1020-1023 are
  special, LPI >= 8192 are message based (ITS).  The GICv3.1 extended PPI/SPI
  ranges are not modelled.
* State per INTID: inactive, pending, active, active+pending.  A level-
  sensitive INTID is pending while its line is high (QEMU: ``pend | (~edge &
  level)``), so deactivation re-samples the line; an edge sets the single
  pending latch, so edges that arrive while it is set merge.
* ICC_IAR1 read: highest-priority pending INTID if ``prio < PMR`` and its
  group priority beats the running priority; it becomes active (LPIs go
  straight to inactive: they have no active state) and its group priority is
  set in ICC_AP1R.  Otherwise 1023, and nothing changes.  Equal priorities
  go lowest INTID first (QEMU's scan order; the architecture leaves it
  IMPLEMENTATION DEFINED).
* ICC_EOIR1 write: priority drop (clears the lowest-numbered AP1R bit, i.e.
  the highest active priority, whatever INTID is written), plus deactivate in
  EOImode 0.  ICC_DIR write deactivates (EOImode 1 only).  Writes of special
  INTIDs, EOIR with no active priority, and DIR in EOImode 0 or for an LPI
  are ignored, as QEMU does.
* Priorities are the values the CPU interface sees (a single Security state
  view); unimplemented low bits read as 0.  The binary point is the
  Non-secure ICC_BPR1_EL1: value n makes bits [7:n] the group priority, and
  writes below the minimum (8 - preemption bits, 3 for 5 bits as on
  Cortex-A76) set the minimum.
"""

from __future__ import annotations

from irqlab.hw.controller import (
    CallNotify,
    IrqController,
    LineSink,
    Notify,
    NotifySink,
    StateSink,
    no_notify,
    notify_sink,
)

SGI_BASE = 0
PPI_BASE = 16
SPI_BASE = 32
SPI_END = 1020  # first INTID after the SPI range
INTID_SPURIOUS = 1023  # "no pending interrupt" (ICC_IAR1_EL1)
SPECIAL_INTIDS = range(1020, 1024)
LPI_BASE = 8192
INTID_BITS = 24  # ICC_CTLR_EL1.IDbits = 0b001; Linux LPI_RANGE ends at GENMASK(23, 0)
IDLE_PRIORITY = 0xFF  # ICC_RPR_EL1 with no active priority

# Values Linux programs (drivers/irqchip/irq-gic-v3.c, include/linux/irqchip/arm-gic.h).
DEFAULT_PMR_VALUE = 0xF0  # irq-gic-v3.c
GICD_INT_DEF_PRI = 0xA0  # gic_dist_config / gic_cpu_config / LPI_PROP_DEFAULT_PRIO
LINUX_BPR1 = 0  # gic_cpu_sys_reg_init: gic_write_bpr1(0) -> reset (minimum) value

# Exception cost of an arm64 core taking / returning from an IRQ.  Model
# parameters (a few tens of ns at 2-3 GHz), not figures from a manual.
DEFAULT_ENTRY_NS = 40
DEFAULT_EXIT_NS = 20

STATES = ("inactive", "pending", "active", "active+pending")

# Per-INTID state bits of an SGI/PPI/SPI (GICD/GICR ISENABLER, ICFGR,
# the input wire, the pending latch of ISPENDR, ISACTIVER).
ENABLED = 1
EDGE = 2  # rising-edge; clear = level-high
LINE = 4  # input wire is high
LATCHED = 8  # pending latch: set by an edge, an SGI or ISPENDR; cleared by IAR
ACTIVE = 16

_KEY_SHIFT = INTID_BITS  # candidate key = priority << 24 | INTID: min() = best
_INTID_MASK = (1 << INTID_BITS) - 1


def intid_kind(intid: int) -> str:
    """Range an INTID belongs to (Linux ``__get_intid_range``): "SGI", "PPI",
    "SPI", "special", "EPPI", "ESPI", "LPI" or "reserved"."""
    if not 0 <= intid <= _INTID_MASK:
        raise ValueError(f"GICv3: INTID {intid} outside 0..{_INTID_MASK} (24 ID bits)")
    if intid < PPI_BASE:
        return "SGI"
    if intid < SPI_BASE:
        return "PPI"
    if intid < SPI_END:
        return "SPI"
    if intid in SPECIAL_INTIDS:
        return "special"
    if 1056 <= intid < 1120:
        return "EPPI"
    if 4096 <= intid < 5120:
        return "ESPI"
    if intid >= LPI_BASE:
        return "LPI"
    return "reserved"



def _pending(flags: int) -> bool:
    """Latched, or a level-sensitive line held high (QEMU ``pend | (~edge & level)``)."""
    return bool(flags & LATCHED) or flags & (LINE | EDGE) == LINE


class GicV3(LineSink, IrqController):
    """GICv3 personality of :class:`irqlab.hw.controller.IrqController`.

    Defaults are the state after Linux init: PMR 0xF0, BPR1 at its minimum,
    every priority 0xA0, SPIs level-triggered, disabled and routed to CPU 0,
    SGIs enabled, PPIs disabled and level-triggered, LPIs disabled.
    ``eoi_mode`` 1 is what Linux uses when booted at EL2 (split priority drop
    / deactivate); 0 otherwise.

    ``notify(cpu)`` is called after every change that leaves ``cpu`` with a
    deliverable interrupt (arrival, enable, priority/routing/PMR/BPR write,
    priority drop, deactivation of a level line still high).

    Counters: ``merged`` (edge, SGI or LPI arrivals folded into a pending bit
    already set), ``spurious_reads`` (IAR reads returning 1023),
    ``ignored_writes`` (EOIR/DIR writes the GIC ignores).
    """

    @property
    def name(self) -> str:
        return "GICv3"

    @property
    def spurious(self) -> int:
        return INTID_SPURIOUS

    @property
    def ack_before_entry(self) -> bool:
        return False  # gic_handle_irq reads ICC_IAR1_EL1 after exception entry

    __slots__ = (
        "_apr", "_apr_shift", "_cand", "_entry_ns", "_exit_ns", "_flags", "_gmask", "_key",
        "_lpi_enabled", "_lpi_pend", "_lpi_prio", "_lpi_route", "_min_bpr", "_notify", "_pmr",
        "_prio_mask", "_target", "cpus", "eoi_mode", "ignored_writes", "its_unmapped", "merged",
        "priority_bits", "spurious_reads", "state_sink",
    )

    def __init__(
        self,
        cpus: int,
        *,
        eoi_mode: int = 0,
        priority_bits: int = 5,
        entry_ns: int = DEFAULT_ENTRY_NS,
        exit_ns: int = DEFAULT_EXIT_NS,
    ) -> None:
        if cpus < 1:
            raise ValueError(f"GICv3: cpus must be >= 1, got {cpus}")
        if eoi_mode not in (0, 1):
            raise ValueError(f"GICv3: eoi_mode must be 0 or 1 (ICC_CTLR_EL1.EOImode), got {eoi_mode}")
        if not 4 <= priority_bits <= 8:
            raise ValueError(
                f"GICv3: priority_bits must be 4..8 (ICC_CTLR_EL1.PRIbits + 1), got {priority_bits}"
            )
        if entry_ns < 0 or exit_ns < 0:
            raise ValueError(f"GICv3: entry_ns/exit_ns must be >= 0, got {entry_ns}/{exit_ns}")
        self.cpus = cpus
        self.eoi_mode = eoi_mode
        self.priority_bits = priority_bits
        self._entry_ns = entry_ns
        self._exit_ns = exit_ns
        self._notify: NotifySink = CallNotify(no_notify)
        self.state_sink: StateSink | None = None
        self.merged = 0
        self.spurious_reads = 0
        self.ignored_writes = 0

        self._prio_mask = (0xFF << (8 - priority_bits)) & 0xFF
        # At most 7 preemption bits (QEMU prebits); one AP1R bit per group priority.
        self._apr_shift = 8 - min(priority_bits, 7)
        self._min_bpr = self._apr_shift  # Non-secure ICC_BPR1_EL1 minimum

        # SGI/PPI/SPI state, one slot each: SPI n -> n, CPU c's SGI/PPI n ->
        # SPI_END + 32 * c + n (slots 0-31 are unused).
        slots = SPI_END + 32 * cpus
        prio = GICD_INT_DEF_PRI & self._prio_mask
        self._key = [prio << _KEY_SHIFT | self._intid_of(s) for s in range(slots)]
        self._flags = [0] * slots
        self._target = [0] * SPI_END + [c for c in range(cpus) for _ in range(32)]
        for cpu in range(cpus):
            for sgi in range(SGI_BASE, PPI_BASE):
                # GICD_INT_EN_SET_SGI; SGIs are edge only
                self._flags[self._banked(sgi, cpu)] = ENABLED | EDGE

        # LPIs: global configuration table, per-redistributor pending tables.
        self._lpi_prio: dict[int, int] = {}
        self._lpi_enabled: set[int] = set()
        self._lpi_pend: list[set[int]] = [set() for _ in range(cpus)]
        # ITS: each LPI's event -> collection -> redistributor, folded into LPI -> CPU.
        self._lpi_route: dict[int, int] = {}
        self.its_unmapped = 0  # device writes to an event with no mapping (dropped)

        # CPU interface.  _cand[c]: keys of pending, enabled, not active INTIDs.
        self._cand: list[set[int]] = [set() for _ in range(cpus)]
        self._pmr = [DEFAULT_PMR_VALUE & self._prio_mask] * cpus
        self._gmask = [(0xFF << max(LINUX_BPR1, self._min_bpr)) & 0xFF] * cpus
        self._apr = [0] * cpus

    # -- wiring -----------------------------------------------------------------
    def attach(self, notify: Notify | NotifySink) -> None:
        self._notify = notify_sink(notify)

    # -- CPU interface (IrqController) --------------------------------------------
    def deliverable(self, cpu: int) -> bool:
        """Whether the highest pending INTID would be signalled: ``prio < PMR``
        and, with an active priority, group priority below the running
        priority's (QEMU ``icc_hppi_can_preempt``)."""
        cand = self._cand[cpu]
        if not cand:
            return False
        prio = min(cand) >> _KEY_SHIFT
        if prio >= self._pmr[cpu]:
            return False
        if not self._apr[cpu]:
            return True
        gmask = self._gmask[cpu]
        return (prio & gmask) < (self.running_priority(cpu) & gmask)

    def acknowledge(self, cpu: int) -> int:
        """ICC_IAR1_EL1 read (QEMU ``icc_iar1_read`` / ``icc_activate_irq``)."""
        if not self.deliverable(cpu):
            self.spurious_reads += 1
            return INTID_SPURIOUS
        cand = self._cand[cpu]
        key = min(cand)
        prio = key >> _KEY_SHIFT
        cand.remove(key)
        self._apr[cpu] |= 1 << ((prio & self._gmask[cpu]) >> self._apr_shift)
        intid = key & _INTID_MASK
        if intid >= LPI_BASE:
            self._lpi_pend[cpu].remove(intid)  # no active state
            self._lpi_state(intid, cpu)
        else:
            slot = self._banked(intid, cpu)
            self._flags[slot] = (self._flags[slot] | ACTIVE) & ~LATCHED
            self._state(slot)
        return intid

    def eoi(self, cpu: int, intid: int) -> None:
        """ICC_EOIR1_EL1 write (QEMU ``icc_eoir_write``, ``icc_drop_prio``)."""
        wired = 0 <= intid < SPI_END and 0 <= cpu < self.cpus
        kind = "" if wired else self._cpuif_kind(intid, cpu, "eoi")
        apr = self._apr[cpu]
        if kind == "special" or not apr:
            self.ignored_writes += 1
            return
        self._apr[cpu] = apr & (apr - 1)
        if wired and not self.eoi_mode:
            self._deactivate(self._banked(intid, cpu))
        self._kick(cpu)

    def deactivate(self, cpu: int, intid: int) -> None:
        """ICC_DIR_EL1 write (QEMU ``icc_dir_write``): EOImode 1 only, never
        for LPIs or special INTIDs."""
        wired = 0 <= intid < SPI_END and 0 <= cpu < self.cpus
        if not wired:
            self._cpuif_kind(intid, cpu, "deactivate")  # raises unless special / LPI
        if not wired or not self.eoi_mode:
            self.ignored_writes += 1
            return
        self._deactivate(self._banked(intid, cpu))

    def entry_ns(self, cpu: int, tail_chain: bool) -> int:
        """IRQ exception entry.  AArch64 has no hardware tail-chaining."""
        return self._entry_ns

    def exit_ns(self, cpu: int, tail_chain: bool) -> int:
        """ERET back to the interrupted context."""
        return self._exit_ns

    # -- CPU interface registers ------------------------------------------------
    def set_pmr(self, cpu: int, value: int) -> None:
        """ICC_PMR_EL1: only priorities strictly below it are signalled."""
        self._check_cpu(cpu, "set_pmr")
        self._check_byte(value, "set_pmr", "PMR")
        self._pmr[cpu] = value & self._prio_mask
        self._kick(cpu)

    def set_bpr(self, cpu: int, value: int) -> None:
        """ICC_BPR1_EL1 (Non-secure): group priority = bits [7:value]; values
        below the minimum set the minimum (Linux writes 0 for that)."""
        self._check_cpu(cpu, "set_bpr")
        if not 0 <= value <= 7:
            raise ValueError(f"GICv3 set_bpr: BPR {value} out of range 0..7")
        self._gmask[cpu] = (0xFF << max(value, self._min_bpr)) & 0xFF
        self._kick(cpu)

    def running_priority(self, cpu: int) -> int:
        """ICC_RPR_EL1: group priority of the highest active priority not yet
        dropped, 0xFF when idle (QEMU ``icc_highest_active_prio``)."""
        apr = self._apr[cpu]
        if not apr:
            return IDLE_PRIORITY
        return ((apr & -apr).bit_length() - 1) << self._apr_shift

    def highest_pending(self, cpu: int) -> int:
        """ICC_HPPIR1_EL1: highest-priority pending enabled INTID whether or not
        PMR and the running priority let it through; 1023 if none."""
        cand = self._cand[cpu]
        return min(cand) & _INTID_MASK if cand else INTID_SPURIOUS

    # -- distributor / redistributor configuration ------------------------------
    def enable(self, intid: int, cpu: int | None = None) -> None:
        """GICD/GICR_ISENABLER, or the LPI configuration table enable bit.

        In all configuration calls ``cpu`` picks the redistributor of a banked
        SGI/PPI (None: every CPU's); SPIs and LPIs are not banked and ignore it.
        """
        if intid_kind(intid) == "LPI":
            self._lpi_configure(intid, cpu, "enable", enabled=True)
            return
        for slot in self._slots(intid, cpu, "enable"):
            self._flags[slot] |= ENABLED
            self._sync(slot)

    def disable(self, intid: int, cpu: int | None = None) -> None:
        """GICD/GICR_ICENABLER: delivery stops; a pending state stays latched."""
        if intid_kind(intid) == "LPI":
            self._lpi_configure(intid, cpu, "disable", enabled=False)
            return
        for slot in self._slots(intid, cpu, "disable"):
            self._flags[slot] &= ~ENABLED
            self._sync(slot)

    def set_priority(self, intid: int, prio: int, cpu: int | None = None) -> None:
        """GICD/GICR_IPRIORITYR (LPI: configuration table); unimplemented low
        bits read as 0."""
        self._check_byte(prio, "set_priority", "priority")
        prio &= self._prio_mask
        if intid_kind(intid) == "LPI":
            self._lpi_configure(intid, cpu, "set_priority", prio=prio)
            return
        for slot in self._slots(intid, cpu, "set_priority"):
            self._cand[self._target[slot]].discard(self._key[slot])
            self._key[slot] = prio << _KEY_SHIFT | intid
            self._sync(slot)

    def set_trigger(self, intid: int, level: bool, cpu: int | None = None) -> None:
        """GICD/GICR_ICFGR: level-high (``level=True``) or rising edge; no
        other type exists (Linux ``gic_set_type``).  SGIs and LPIs are edge."""
        kind = intid_kind(intid)
        if kind in ("SGI", "LPI"):
            if level:
                raise ValueError(f"GICv3 set_trigger: INTID {intid} is an {kind}, edge only")
            return
        for slot in self._slots(intid, cpu, "set_trigger"):
            self._flags[slot] = self._flags[slot] & ~EDGE if level else self._flags[slot] | EDGE
            self._sync(slot)

    def route(self, intid: int, cpu: int) -> None:
        """GICD_IROUTER: deliver the SPI to ``cpu`` (Linux default: boot CPU)."""
        if intid_kind(intid) != "SPI":
            raise ValueError(f"GICv3 route: INTID {intid} is not an SPI (32-1019)")
        self._check_cpu(cpu, "route")
        old = self._target[intid]
        if old != cpu:
            self._cand[old].discard(self._key[intid])
            self._target[intid] = cpu
            self._sync(intid)

    # -- interrupt sources ------------------------------------------------------
    def set_line(self, intid: int, level: bool, cpu: int | None = None) -> None:
        """Drive the wire of an SPI, or of CPU ``cpu``'s PPI.  Edge-configured:
        a low-to-high change sets the pending latch (merged if already set).
        Level-configured: pending exactly while the line is high."""
        if SPI_BASE <= intid < SPI_END:
            slot = intid  # the SPI wire goes to the distributor: cpu is not used
        else:
            slot = self._wire(intid, cpu)
        flags = self._flags[slot]
        if level:
            if flags & (EDGE | LINE) == EDGE:  # rising edge
                if flags & LATCHED:
                    self.merged += 1
                flags |= LATCHED
            flags |= LINE
        else:
            flags &= ~LINE
        self._flags[slot] = flags
        self._sync(slot)

    def send_sgi(self, intid: int, target_cpu: int) -> None:
        """ICC_SGI1R_EL1 write aimed at ``target_cpu``: sets its SGI pending."""
        if intid_kind(intid) != "SGI":
            raise ValueError(f"GICv3 send_sgi: INTID {intid} is not an SGI (0-15)")
        self._check_cpu(target_cpu, "send_sgi")
        slot = self._banked(intid, target_cpu)
        if self._flags[slot] & LATCHED:
            self.merged += 1
        self._flags[slot] |= LATCHED
        self._sync(slot)

    def send_lpi(self, intid: int, cpu: int) -> None:
        """ITS translation result: set the LPI pending in ``cpu``'s
        redistributor pending table (merged if already pending)."""
        if intid_kind(intid) != "LPI":
            raise ValueError(f"GICv3 send_lpi: INTID {intid} is not an LPI (>= {LPI_BASE})")
        self._check_cpu(cpu, "send_lpi")
        pend = self._lpi_pend[cpu]
        if intid in pend:
            self.merged += 1
            return
        pend.add(intid)
        self._lpi_sync(intid, cpu)

    # -- ITS (GICv3 spec ch. 5; QEMU hw/intc/arm_gicv3_its.c) --------------------
    def map_lpi(self, intid: int, cpu: int) -> None:
        """MAPTI + MAPC: the device's event becomes LPI ``intid`` on ``cpu``'s redistributor."""
        if intid_kind(intid) != "LPI":
            raise ValueError(f"GICv3 map_lpi: INTID {intid} is not an LPI (>= {LPI_BASE})")
        self._check_cpu(cpu, "map_lpi")
        self._lpi_route[intid] = cpu

    def its_translate(self, intid: int) -> None:
        """A device writes the event to GITS_TRANSLATER: the ITS makes the LPI
        pending on the redistributor it is mapped to; an unmapped event is dropped."""
        cpu = self._lpi_route.get(intid)
        if cpu is None:
            self.its_unmapped += 1
            return
        self.send_lpi(intid, cpu)

    def move_lpi(self, intid: int, cpu: int) -> None:
        """MOVI (Linux ``its_set_affinity``): later events go to ``cpu``, and an
        LPI pending on the old redistributor becomes pending on the new one
        (QEMU ``gicv3_redist_mov_lpi``)."""
        old = self._lpi_route.get(intid)
        if old is None:
            raise ValueError(f"GICv3 move_lpi: LPI {intid} is not mapped (MAPTI)")
        self._check_cpu(cpu, "move_lpi")
        self._lpi_route[intid] = cpu
        if old != cpu and intid in self._lpi_pend[old]:
            self._lpi_pend[old].remove(intid)
            self._lpi_sync(intid, old)
            self.send_lpi(intid, cpu)

    def set_pending(self, intid: int, cpu: int | None = None) -> None:
        """GICD/GICR_ISPENDR write (Linux ``gic_retrigger``): sets the pending
        latch, which the next IAR clears.  For an LPI: the ITS INT command,
        making it pending on ``cpu``."""
        if intid_kind(intid) == "LPI":
            if cpu is None:
                raise ValueError(f"GICv3 set_pending: LPI {intid} needs the target cpu=")
            self.send_lpi(intid, cpu)
            return
        for slot in self._slots(intid, cpu, "set_pending"):
            self._flags[slot] |= LATCHED
            self._sync(slot)

    # -- inspection -------------------------------------------------------------
    def state(self, intid: int, cpu: int = 0) -> str:
        """"inactive", "pending", "active" or "active+pending" (GICD/GICR
        ISPENDR/ISACTIVER view; LPIs are never active)."""
        kind = self._cpuif_kind(intid, cpu, "state")
        if kind == "LPI":
            return "pending" if intid in self._lpi_pend[cpu] else "inactive"
        if kind == "special":
            raise ValueError(f"GICv3 state: INTID {intid} is special and has no state")
        flags = self._flags[self._banked(intid, cpu)]
        return STATES[bool(flags & ACTIVE) << 1 | _pending(flags)]

    # -- internals --------------------------------------------------------------
    def _kick(self, cpu: int) -> None:
        if self.deliverable(cpu):
            self._notify.notify(cpu)

    def _state(self, slot: int) -> None:
        """Report ``slot``'s pending and active bits (on its target CPU) to a listening sink."""
        sink = self.state_sink
        if sink is not None and sink.controller_state:
            flags = self._flags[slot]
            sink.irq_state(self._target[slot], self._intid_of(slot), _pending(flags),
                           bool(flags & ACTIVE))

    def _lpi_state(self, intid: int, cpu: int) -> None:
        sink = self.state_sink
        if sink is not None and sink.controller_state:
            sink.irq_state(cpu, intid, intid in self._lpi_pend[cpu], False)

    def _sync(self, slot: int) -> None:
        """Recompute whether ``slot`` is a delivery candidate on its target
        (after any change of its state, which is reported from here)."""
        self._state(slot)
        target = self._target[slot]
        cand = self._cand[target]
        key = self._key[slot]
        flags = self._flags[slot]
        if flags & (ENABLED | ACTIVE) == ENABLED and _pending(flags):
            if key not in cand:
                cand.add(key)
                if self.deliverable(target):
                    self._notify.notify(target)
        else:
            cand.discard(key)

    def _deactivate(self, slot: int) -> None:
        flags = self._flags[slot]
        if not flags & ACTIVE:
            self.ignored_writes += 1
            return
        self._flags[slot] = flags & ~ACTIVE
        self._sync(slot)  # a level line still high is pending again

    def _lpi_key(self, intid: int) -> int:
        return self._lpi_prio.get(intid, GICD_INT_DEF_PRI & self._prio_mask) << _KEY_SHIFT | intid

    def _lpi_sync(self, intid: int, cpu: int) -> None:
        self._lpi_state(intid, cpu)
        key = self._lpi_key(intid)
        cand = self._cand[cpu]
        if intid in self._lpi_enabled and intid in self._lpi_pend[cpu]:
            if key not in cand:
                cand.add(key)
                self._kick(cpu)
        else:
            cand.discard(key)

    def _cpuif_kind(self, intid: int, cpu: int, op: str) -> str:
        """Kind of an INTID written to / read from CPU ``cpu``'s interface."""
        self._check_cpu(cpu, op)
        kind = intid_kind(intid)
        if kind in ("EPPI", "ESPI", "reserved"):
            raise ValueError(f"GICv3 {op}: INTID {intid} is {kind}, not modelled")
        return kind

    @staticmethod
    def _banked(intid: int, cpu: int) -> int:
        """Slot of an SPI, or of CPU ``cpu``'s copy of an SGI/PPI."""
        return intid if intid >= SPI_BASE else SPI_END + 32 * cpu + intid

    @staticmethod
    def _intid_of(slot: int) -> int:
        return slot if slot < SPI_END else (slot - SPI_END) & 31

    def _wire(self, intid: int, cpu: int | None) -> int:
        """Slot of the wire ``set_line`` drives: an SPI, or ``cpu``'s PPI."""
        kind = intid_kind(intid)
        if kind not in ("SPI", "PPI"):
            raise ValueError(
                f"GICv3 set_line: INTID {intid} is {kind}; only SPIs and PPIs have a wire"
                " (use send_sgi / send_lpi)"
            )
        if kind == "PPI" and cpu is None:
            raise ValueError(f"GICv3 set_line: PPI {intid} is wired per CPU; give cpu=")
        return self._slots(intid, cpu, "set_line")[0]

    def _slots(self, intid: int, cpu: int | None, op: str) -> list[int]:
        kind = intid_kind(intid)
        if kind == "SPI":
            if cpu is not None:
                self._check_cpu(cpu, op)
            return [intid]
        if kind in ("SGI", "PPI"):
            if cpu is None:
                return [self._banked(intid, c) for c in range(self.cpus)]
            self._check_cpu(cpu, op)
            return [self._banked(intid, cpu)]
        raise ValueError(f"GICv3 {op}: INTID {intid} is {kind}, not configurable here")

    def _lpi_configure(
        self, intid: int, cpu: int | None, op: str, *, enabled: bool | None = None,
        prio: int | None = None,
    ) -> None:
        """Write the global LPI configuration table entry and resync every CPU."""
        if cpu is not None:
            self._check_cpu(cpu, op)
        for c in range(self.cpus):
            self._cand[c].discard(self._lpi_key(intid))
        if enabled is not None:
            if enabled:
                self._lpi_enabled.add(intid)
            else:
                self._lpi_enabled.discard(intid)
        if prio is not None:
            self._lpi_prio[intid] = prio
        for c in range(self.cpus):
            self._lpi_sync(intid, c)

    def _check_cpu(self, cpu: int, op: str) -> None:
        if not 0 <= cpu < self.cpus:
            raise ValueError(f"GICv3 {op}: cpu {cpu} out of range 0..{self.cpus - 1}")

    @staticmethod
    def _check_byte(value: int, op: str, field: str) -> None:
        if not 0 <= value <= 0xFF:
            raise ValueError(f"GICv3 {op}: {field} {value:#x} out of range 0x00..0xff")
