"""Windows bug-check knowledge: names, parameter meanings, the 0xE6 violation table.

Sources: MicrosoftDocs/windows-driver-docs ``debugger/bug-check-0x*.md`` (parameter
tables), ``bug-check-0xe6--driver-verifier-dma-violation.md`` (Arg1 table, incl. 0x26
"IOMMU detected DMA violation"), the Kernel DMA Protection documentation, and the
notes in ``shared/reference/interrupt-facts.md`` section 8 (``nt!IvtHandleInterrupt``
is the kernel's Intel VT-d fault-event ISR; it raises ``KeBugCheckEx(0xE6, 0x26,
DeviceObject, faulting page, VT-d fault reason)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from irqlab import vtd

if TYPE_CHECKING:
    from irqlab.triage.findings import BugCheck

DMA_VIOLATION = 0xE6
IOMMU_VIOLATION = 0x26  # 0xE6 Arg1: "IOMMU detected DMA violation"


class BugCheckInfo(NamedTuple):
    name: str
    summary: str
    parameters: tuple[str, str, str, str]
    steps: tuple[str, ...]


_RESERVED = "Reserved"
_DRIVER_STEPS = (
    "Identify the driver from IMAGE_NAME / the stack (!analyze -v) and update or remove it.",
    "Check Event Viewer (System log) around the crash for device or driver errors.",
)

BUGCHECKS: dict[int, BugCheckInfo] = {
    0x0A: BugCheckInfo(
        "IRQL_NOT_LESS_OR_EQUAL",
        "kernel code touched pageable or invalid memory at too high an IRQL",
        ("Memory address referenced", "IRQL at time of reference",
         "Access: bit 0 = 0 read / 1 write, bit 3 = execute",
         "Address of the instruction that referenced memory"),
        _DRIVER_STEPS),
    0x1E: BugCheckInfo(
        "KMODE_EXCEPTION_NOT_HANDLED",
        "a kernel-mode program raised an exception nobody handled",
        ("Exception code not handled", "Address where the exception occurred",
         "Exception information parameter 0", "Exception information parameter 1"),
        _DRIVER_STEPS),
    0x3B: BugCheckInfo(
        "SYSTEM_SERVICE_EXCEPTION",
        "an exception happened while executing a system service routine",
        ("Exception code", "Address of the instruction that caused it",
         "Address of the context record", "Zero"),
        _DRIVER_STEPS),
    0x50: BugCheckInfo(
        "PAGE_FAULT_IN_NONPAGED_AREA",
        "invalid system memory was referenced",
        ("Memory address referenced",
         "Access: 0 read, 1 or 2 write, 0x10 execute (values depend on Windows version)",
         "Address of the instruction that referenced memory (if known)",
         "Type of page fault"),
        (*_DRIVER_STEPS, "Run a memory test (Windows Memory Diagnostic) to rule out bad RAM.")),
    0x5A: BugCheckInfo(
        "CRITICAL_SERVICE_FAILED",
        "a critical service failed to initialize (parameters are not documented)",
        ("Not documented", "Not documented", "Not documented", "Not documented"),
        ("Boot into safe mode or recovery and check the System log for the failing service.",)),
    0x7E: BugCheckInfo(
        "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
        "a system thread raised an exception the error handler did not catch",
        ("Exception code not handled", "Address where the exception occurred",
         "Address of the exception record", "Address of the context record"),
        _DRIVER_STEPS),
    0x9F: BugCheckInfo(
        "DRIVER_POWER_STATE_FAILURE",
        "a driver is in an inconsistent or invalid power state",
        ("Violation type: 0x1 device object freed with a pending power IRP, 0x2 completed "
         "power IRP without PoStartNextPowerIrp, 0x3 device object blocked an IRP too long, "
         "0x4 power transition timed out synchronising with PnP",
         "0x3: physical device object of the stack; 0x4: timeout in seconds",
         "0x3: functional device object / nt!TRIAGE_9F_POWER; 0x4: thread holding the PnP lock",
         "0x3: the blocked IRP; 0x4: nt!TRIAGE_9F_PNP"),
        ("Run !devstack on Arg2 and !irp on Arg4 to find the stuck driver; update it.",
         "Update chipset, storage and network drivers and firmware; test with fast "
         "startup and selective suspend disabled.")),
    0xC4: BugCheckInfo(
        "DRIVER_VERIFIER_DETECTED_VIOLATION",
        "Driver Verifier caught a driver breaking a kernel rule",
        ("Violation type (see !analyze -v)", "Depends on Arg1", "Depends on Arg1",
         "Depends on Arg1"),
        ("The driver named in IMAGE_NAME is at fault: update it or report it to its vendor.",
         "Check 'verifier /query' and turn Driver Verifier off with 'verifier /reset' "
         "when done.")),
    0xC9: BugCheckInfo(
        "DRIVER_VERIFIER_IOMANAGER_VIOLATION",
        "Driver Verifier's I/O verification caught a driver misusing an IRP",
        ("Violation type (see !analyze -v)", "Depends on Arg1", "Depends on Arg1",
         "Depends on Arg1"),
        ("The driver named in IMAGE_NAME is at fault: update it or report it to its vendor.",
         "Check 'verifier /query' and turn Driver Verifier off with 'verifier /reset' "
         "when done.")),
    0xD1: BugCheckInfo(
        "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
        "a driver touched pageable or invalid memory at too high an IRQL",
        ("Memory referenced", "IRQL at time of reference",
         "Access: 0 read, 1 write, 2 or 8 execute", "Address that referenced memory"),
        _DRIVER_STEPS),
    DMA_VIOLATION: BugCheckInfo(
        "DRIVER_VERIFIER_DMA_VIOLATION",
        "an illegal DMA operation was attempted",
        ("Violation type", "Depends on Arg1", "Depends on Arg1", "Depends on Arg1"),
        ()),
    0xEF: BugCheckInfo(
        "CRITICAL_PROCESS_DIED",
        "a critical system process died",
        ("The process object", "0: a process died, 1: a thread died", _RESERVED, _RESERVED),
        ("Check the System and Application logs for the process that exited; run "
         "'sfc /scannow' and check the disk.",)),
    0x133: BugCheckInfo(
        "DPC_WATCHDOG_VIOLATION",
        "a DPC or ISR ran too long, or the CPU stayed at DISPATCH_LEVEL or above too long",
        ("0: a single DPC or ISR exceeded its time allotment; 1: cumulative time at "
         "DISPATCH_LEVEL or above",
         "Arg1=0: DPC time count (ticks); Arg1=1: watchdog period",
         "Arg1=0: DPC time allotment (ticks)", _RESERVED),
        ("The stack names the long-running DPC/ISR: update that driver (often storage, "
         "network or GPU).",
         "With Arg1=1, record an ETW/xperf DPC-ISR trace to find the driver.")),
    0x139: BugCheckInfo(
        "KERNEL_SECURITY_CHECK_FAILURE",
        "the kernel detected corruption of a critical data structure",
        ("Type of corruption (e.g. 2 stack cookie overrun, 3 LIST_ENTRY corrupted)",
         "Address of the trap frame", "Address of the exception record", _RESERVED),
        (*_DRIVER_STEPS, "Enable Driver Verifier with special pool to catch the corruptor.")),
}

NAMES: dict[str, int] = {info.name: code for code, info in BUGCHECKS.items()}


class Violation(NamedTuple):
    code: int
    meaning: str
    parameters: tuple[str, str, str]  # Arg2..Arg4 for this violation


_NA = ("", "", "")

E6_VIOLATIONS: dict[int, Violation] = {v.code: v for v in (
    Violation(0x00, "Miscellaneous DMA error",
              ("1: flushed too many bytes to the end of the map register file; 2: out of "
               "contiguous map registers",
               "1: bytes left in the MDL; 2: map registers needed",
               "1: bytes requested to flush; 2: contiguous map registers available")),
    Violation(0x01, "The performance counter has decreased", _NA),
    Violation(0x02, "The performance counter has increased too fast", _NA),
    Violation(0x03, "The driver freed too many DMA common buffers", ("Extra buffers freed", "", "")),
    Violation(0x04, "The driver freed too many DMA adapter channels", _NA),
    Violation(0x05, "The driver freed too many DMA map registers", _NA),
    Violation(0x06, "The driver freed too many DMA scatter/gather lists",
              ("Lists allocated", "Lists freed", "")),
    Violation(0x07, "The driver released the adapter without freeing all common buffers",
              ("The adapter", "Outstanding common buffers", "Verifier data")),
    Violation(0x08, "The driver released the adapter without freeing all adapter channels", _NA),
    Violation(0x09, "The driver released the adapter without freeing all map registers", _NA),
    Violation(0x0A, "The driver released the adapter without freeing all scatter/gather lists",
              _NA),
    Violation(0x0B, "The driver allocated too many adapter channels at once "
                    "(one per adapter is allowed)", _NA),
    Violation(0x0C, "The driver tried to allocate too many map registers at once",
              ("Map registers required", "Maximum allowed", "")),
    Violation(0x0D, "The driver did not flush its adapter buffers",
              ("Bytes mapped", "Maximum allowed", "")),
    Violation(0x0E, "The driver tried a DMA transfer without locking the buffer "
                    "(paged memory)", ("The MDL", "", "")),
    Violation(0x0F, "The driver or hardware wrote outside its allocated DMA buffer",
              ("1: tag before the buffer modified; 2: tag after; 3: free map register "
               "overwritten; 4: padding before; 5: padding after", "", "")),
    Violation(0x10, "The driver tried to free its map registers while some were still mapped",
              _NA),
    Violation(0x11, "The driver has too many outstanding reference counts for the adapter",
              _NA),
    Violation(0x13, "The driver called a DMA routine at an improper IRQL",
              ("1: IRQL differs from expected; 2: IRQL higher than expected",
               "Expected IRQL", "Current IRQL")),
    Violation(0x14, "The driver called a DMA routine at an improper IRQL", _NA),
    Violation(0x15, "The driver tried to allocate too many map registers", _NA),
    Violation(0x16, "The driver tried to flush a buffer that is not mapped", _NA),
    Violation(0x18, "The driver tried a DMA operation on an adapter that was already released",
              _NA),
    Violation(0x19, "The driver passed a NULL DMA_ADAPTER to a HAL routine", _NA),
    Violation(0x1B, "The driver tried to map an address that is not within the MDL bounds", _NA),
    Violation(0x1D, "The driver tried to map a range that is already mapped", _NA),
    Violation(0x1E, "The driver called HalGetAdapter, which is obsolete "
                    "(use IoGetDmaAdapter)", _NA),
    Violation(0x1F, "Invalid DMA buffer",
              ("1: VA before the first MDL page; 2: VA after; 3: extra transfer length "
               "crosses a page boundary; 4: VA not cache aligned; 5: length not cache "
               "aligned", "", "")),
    Violation(0x20, "The driver tried to flush a map register that is not mapped", _NA),
    Violation(0x21, "The driver tried to map a zero-length buffer", _NA),
    Violation(0x22, "The DMA buffer is not mapped in system virtual address space", _NA),
    Violation(0x23, "The driver flushed a DMA channel that was not completed or cancelled",
              ("0: illegal channel flush", "Controller ID", "Channel number")),
    Violation(0x24, "The buffer is too small for the requested transfer length", _NA),
    Violation(0x25, "Unknown device description version", _NA),
    Violation(IOMMU_VIOLATION, "IOMMU detected DMA violation",
              ("Device object of the faulting device",
               "Faulting information (usually the faulting physical address or page)",
               "Fault type (hardware specific; on Intel VT-d the fault reason)")),
)}


def lookup(code: int) -> BugCheckInfo:
    """Name and parameter meanings; a neutral record for codes not in the table."""
    known = BUGCHECKS.get(code)
    if known is not None:
        return known
    unknown = "See the Microsoft bug check reference"
    return BugCheckInfo(f"BUGCHECK_{code:X}", f"bug check {code:#x}",
                        (unknown, unknown, unknown, unknown), _DRIVER_STEPS)


def violation(code: int, arg1: int | None) -> Violation | None:
    """The 0xE6 violation named by Arg1 (None for other codes or unknown Arg1)."""
    if code != DMA_VIOLATION or arg1 is None:
        return None
    return E6_VIOLATIONS.get(arg1, Violation(arg1, "Undocumented violation type", _NA))


def _param(bc: BugCheck, index: int) -> str:
    value = bc.parameters[index]
    return "unknown" if value is None else f"{value:#x}"


def explain(bc: BugCheck) -> str:
    """A plain-language paragraph: what happened and what the parameters say."""
    info = lookup(bc.code)
    text = f"{info.name} ({bc.code:#x}): {info.summary}."
    found = violation(bc.code, bc.parameters[0])
    if bc.code != DMA_VIOLATION:
        details = [f"Arg{i + 1} {_param(bc, i)} = {meaning}"
                   for i, meaning in enumerate(info.parameters) if bc.parameters[i] is not None]
        return " ".join([text, *(f"{d}." for d in details)])
    if found is None:
        return (text + " The violation type (Arg1) is not known from this text; it is "
                "needed to tell a Driver Verifier DMA check from an IOMMU-blocked DMA.")
    text += f" Violation {found.code:#x}: {found.meaning}."
    if found.code != IOMMU_VIOLATION:
        extra = [f"Arg{i + 2} {_param(bc, i + 1)} = {m}"
                 for i, m in enumerate(found.parameters) if m and bc.parameters[i + 1] is not None]
        return " ".join([text, "Driver Verifier's DMA verification caught a driver misusing "
                         "the DMA API.", *(f"{e}." for e in extra)])
    text += (f" A device tried a DMA the IOMMU had not mapped for it and the IOMMU blocked it."
             f" Arg2 {_param(bc, 1)} is the device object of the faulting device;"
             f" Arg3 {_param(bc, 2)} is the faulting address or page.")
    reason = bc.parameters[3]
    if bc.in_ivt_handle_interrupt:
        text += (" nt!IvtHandleInterrupt is the kernel's interrupt handler for the Intel VT-d "
                 "IOMMU fault event (not an 'interrupt vector table'); it raised the bug "
                 "check while reading the fault record, so nt is only the messenger.")
        if reason is not None:
            text += (f" Arg4 {reason:#x} is the VT-d fault reason:"
                     f" {vtd.reason_text(reason)}.")
    elif reason is not None:
        text += f" Arg4 {reason:#x} is the hardware-specific fault type."
    return text


def next_steps(bc: BugCheck) -> list[str]:
    """What to do next, most useful first."""
    found = violation(bc.code, bc.parameters[0])
    if bc.code != DMA_VIOLATION:
        return list(lookup(bc.code).steps)
    device = _param(bc, 1)
    steps = []
    if found is None or found.code == IOMMU_VIOLATION:
        steps += [
            f"In WinDbg run '!devobj {device}' and '!devstack {device}' to name the device "
            "(Arg2); if it is a PCI bus PDO (pci.sys), the driver stacked above it is the "
            "culprit.",
            "Update that device's driver and firmware, plus Thunderbolt controller/dock "
            "firmware, chipset and PCIe device drivers (NICs, USB controllers, storage).",
            "Check Kernel DMA Protection (msinfo32, 'Kernel DMA Protection'); drivers must "
            "support DMA remapping (DmaRemappingCompatible). As a test only, disabling VT-d "
            "/ Kernel DMA Protection in firmware should make the crash stop - that confirms "
            "the device's DMA, it is not a fix.",
        ]
    if found is None or found.code != IOMMU_VIOLATION:
        steps.append("Driver Verifier DMA checks (flag 0x80) report this: find the driver "
                     "from IMAGE_NAME / the stack, use '!dma' in WinDbg, and update it.")
    steps.append("Run 'verifier /query'; if Driver Verifier is on and you are done "
                 "collecting dumps, turn it off with 'verifier /reset'.")
    return steps
