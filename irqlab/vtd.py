"""Intel VT-d fault reason codes and their texts.

Tables from Linux ``drivers/iommu/intel/dmar.c``: ``dma_remap_fault_reasons[]``
(legacy mode, 0x00-0x0D), ``irq_remap_fault_reasons[]`` (interrupt remapping,
0x20-0x26) and ``dma_remap_sm_fault_reasons[]`` (scalable mode, 0x30-0x90, texts
prefixed "SM: "); lookup order as in ``dmar_get_fault_reason``.  Codes in the gaps
read "Unknown".
"""

from __future__ import annotations

DMA_REMAP_REASONS: tuple[str, ...] = (
    "Software",
    "Present bit in root entry is clear",
    "Present bit in context entry is clear",
    "Invalid context entry",
    "Access beyond MGAW",
    "PTE Write access is not set",
    "PTE Read access is not set",
    "Next page table ptr is invalid",
    "Root table address invalid",
    "Context table ptr is invalid",
    "non-zero reserved fields in RTP",
    "non-zero reserved fields in CTP",
    "non-zero reserved fields in PTE",
    "PCE for translation request specifies blocking",
)

IRQ_REMAP_BASE = 0x20
IRQ_REMAP_REASONS: tuple[str, ...] = (
    "Detected reserved fields in the decoded interrupt-remapped request",
    "Interrupt index exceeded the interrupt-remapping table size",
    "Present field in the IRTE entry is clear",
    "Error accessing interrupt-remapping table pointed by IRTA_REG",
    "Detected reserved fields in the IRTE entry",
    "Blocked a compatibility format interrupt request",
    "Blocked an interrupt request due to source-id verification failure",
)

SM_BASE = 0x30
_SM_TABLE: dict[int, str] = {
    0x30: "Invalid Root Table Address",
    0x31: "TTM 0 for request with PASID",
    0x32: "TTM 0 for page group request",
    0x38: "Error attempting to access Root Entry",
    0x39: "Present bit in Root Entry is clear",
    0x3A: "Non-zero reserved field set in Root Entry",
    0x40: "Error attempting to access Context Entry",
    0x41: "Present bit in Context Entry is clear",
    0x42: "Non-zero reserved field set in the Context Entry",
    0x43: "Invalid Context Entry",
    0x44: "DTE field in Context Entry is clear",
    0x45: "PASID Enable field in Context Entry is clear",
    0x46: "PASID is larger than the max in Context Entry",
    0x47: "PRE field in Context-Entry is clear",
    0x48: "RID_PASID field error in Context-Entry",
    0x50: "Error attempting to access the PASID Directory Entry",
    0x51: "Present bit in Directory Entry is clear",
    0x52: "Non-zero reserved field set in PASID Directory Entry",
    0x58: "Error attempting to access PASID Table Entry",
    0x59: "Present bit in PASID Table Entry is clear",
    0x5A: "Non-zero reserved field set in PASID Table Entry",
    0x5B: "Invalid Scalable-Mode PASID Table Entry",
    0x5C: "ERE field is clear in PASID Table Entry",
    0x5D: "SRE field is clear in PASID Table Entry",
    0x70: "Error attempting to access first-level paging entry",
    0x71: "Present bit in first-level paging entry is clear",
    0x72: "Non-zero reserved field set in first-level paging entry",
    0x73: "Error attempting to access FL-PML4 entry",
    0x74: "First-level entry address beyond MGAW in Nested translation",
    0x75: "Read permission error in FL-PML4 entry in Nested translation",
    0x76: "Read permission error in first-level paging entry in Nested translation",
    0x77: "Write permission error in first-level paging entry in Nested translation",
    0x78: "Error attempting to access second-level paging entry",
    0x79: "Read/Write permission error in second-level paging entry",
    0x7A: "Non-zero reserved field set in second-level paging entry",
    0x7B: "Invalid second-level page table pointer",
    0x7C: "A/D bit update needed in second-level entry when set up in no snoop",
    0x80: "Address in first-level translation is not canonical",
    0x81: "U/S set 0 for first-level translation with user privilege",
    0x82: "No execute permission for request with PASID and ER=1",
    0x83: "Address beyond the DMA hardware max",
    0x84: "Second-level entry address beyond the max",
    0x85: "No write permission for Write/AtomicOp request",
    0x86: "No read permission for Read/AtomicOp request",
    0x87: "Invalid address-interrupt address",
    0x90: "A/D bit update needed in first-level entry when set up in no snoop",
}
# The kernel's array runs 0x30..0x90 with "SM: " strings and NULL gaps.
SM_REASONS: dict[int, str] = {code: f"SM: {text}" for code, text in _SM_TABLE.items()}

UNKNOWN = "Unknown"

_BY_TEXT: dict[str, int] = {
    **{text: code for code, text in SM_REASONS.items()},
    **{text: IRQ_REMAP_BASE + i for i, text in enumerate(IRQ_REMAP_REASONS)},
    **{text: code for code, text in enumerate(DMA_REMAP_REASONS)},
}


def reason_text(code: int) -> str:
    """``dmar_get_fault_reason``: interrupt-remapping, scalable-mode, then legacy table."""
    if IRQ_REMAP_BASE <= code < IRQ_REMAP_BASE + len(IRQ_REMAP_REASONS):
        return IRQ_REMAP_REASONS[code - IRQ_REMAP_BASE]
    if code >= SM_BASE:
        return SM_REASONS.get(code, UNKNOWN)
    if 0 <= code < len(DMA_REMAP_REASONS):
        return DMA_REMAP_REASONS[code]
    return UNKNOWN


def is_irq_remap(code: int) -> bool:
    """True for interrupt-remapping reasons (0x20-0x26)."""
    return IRQ_REMAP_BASE <= code < IRQ_REMAP_BASE + len(IRQ_REMAP_REASONS)


def resolve(code: int, printed: str) -> tuple[int, str]:
    """Prefer the table entry the printed text names; else translate the number."""
    named = _BY_TEXT.get(printed.strip())
    if named is not None:
        return named, reason_text(named)
    return code, reason_text(code)
