"""The Windows loaded-module list read from a stopped guest's memory: where ntoskrnl is, its
export `PsLoadedModuleList`, and each driver's base, so `hsprobe!HspWorkerRoutine` resolves
with no symbols: module base from the list, routine RVA from the image's export table.

Layouts used (x64, stable since Windows Vista; documented by the PE/COFF specification and
the public LDR_DATA_TABLE_ENTRY / KIDTENTRY64 definitions):
- KPCR.IdtBase at +0x38; a KIDTENTRY64 splits its handler address into OffsetLow (+0,
  16 bits), OffsetMiddle (+6, 16 bits) and OffsetHigh (+8, 32 bits). Every interrupt
  handler lives in ntoskrnl, so the image base is the nearest `MZ` page below one.
- LDR_DATA_TABLE_ENTRY: InLoadOrderLinks +0x0, DllBase +0x30, SizeOfImage +0x40,
  BaseDllName (UNICODE_STRING: Length +0, Buffer +8) +0x58.
Pure over a `Memory` and `Registers`: unit-tested on memory laid out by the tests.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from harness.debug import windows
from harness.errors import DebuggerError

if TYPE_CHECKING:
    from harness.debug import Memory
    from harness.debug.windows import Registers

__all__ = ["KPCR_IDT", "export_rva", "kernel_base", "loaded_modules", "module_base"]

KPCR_IDT = 0x38
LDR_DLLBASE, LDR_SIZE, LDR_BASENAME = 0x30, 0x40, 0x58
PAGE = 0x1000
#: how far below an interrupt handler to look for ntoskrnl's header (its image is < 32 MiB)
MAX_SCAN = 32 << 20
MAX_MODULES = 4096


def _u(memory: Memory, address: int, fmt: str) -> int:
    size = struct.calcsize(fmt)
    value: int = struct.unpack(fmt, memory.read(address, size))[0]
    return value


def kernel_base(regs: Registers, memory: Memory) -> int:
    """ntoskrnl's image base: the nearest PE header below the first interrupt handler."""
    idt = _u(memory, windows.kpcr(regs) + KPCR_IDT, "<Q")
    entry = memory.read(idt, 16)
    low, middle, high = (
        struct.unpack_from("<H", entry, 0)[0],
        struct.unpack_from("<H", entry, 6)[0],
        struct.unpack_from("<I", entry, 8)[0],
    )
    page = int(low | middle << 16 | high << 32) & ~(PAGE - 1)
    for _ in range(MAX_SCAN // PAGE):
        try:
            if memory.read(page, 2) == b"MZ" and _is_pe(memory, page):
                return page
        except DebuggerError:  # an unmapped page between sections: keep looking
            pass
        page -= PAGE
    raise DebuggerError(
        "no PE image header within 32 MiB below the interrupt handlers: is "
        "this an x64 Windows guest stopped in kernel mode?"
    )


def _is_pe(memory: Memory, base: int) -> bool:
    lfanew = _u(memory, base + 0x3C, "<I")
    return lfanew < PAGE and memory.read(base + lfanew, 4) == b"PE\0\0"


def export_rva(memory: Memory, base: int, name: str) -> int:
    """RVA of export `name` of the image mapped at `base` (its export directory in memory)."""
    lfanew = _u(memory, base + 0x3C, "<I")
    # PE32+: optional header at +24, data directory 0 (exports) at +112 in it
    directory = _u(memory, base + lfanew + 24 + 112, "<I")
    if not directory:
        raise DebuggerError(f"the image at {base:#x} has no export directory")
    count = _u(memory, base + directory + 0x18, "<I")
    functions, names, ordinals = (
        _u(memory, base + directory + off, "<I") for off in (0x1C, 0x20, 0x24)
    )
    wanted = name.encode()
    for i in range(count):
        at = base + _u(memory, base + names + 4 * i, "<I")
        if memory.read(at, len(wanted) + 1) == wanted + b"\0":
            ordinal = _u(memory, base + ordinals + 2 * i, "<H")
            return _u(memory, base + functions + 4 * ordinal, "<I")
    raise DebuggerError(f"the image at {base:#x} exports no {name!r}")


def loaded_modules(memory: Memory, head: int) -> dict[str, tuple[int, int]]:
    """Lower-case BaseDllName -> (DllBase, SizeOfImage) for every entry of the list at
    `head` (the address of PsLoadedModuleList, a LIST_ENTRY)."""
    found: dict[str, tuple[int, int]] = {}
    entry = _u(memory, head, "<Q")
    for _ in range(MAX_MODULES):
        if entry == head:
            return found
        length = _u(memory, entry + LDR_BASENAME, "<H")
        buffer = _u(memory, entry + LDR_BASENAME + 8, "<Q")
        name = memory.read(buffer, length).decode("utf-16-le", "replace") if length else ""
        found[name.lower()] = (
            _u(memory, entry + LDR_DLLBASE, "<Q"),
            _u(memory, entry + LDR_SIZE, "<I"),
        )
        entry = _u(memory, entry, "<Q")
    raise DebuggerError(
        f"the loaded-module list at {head:#x} does not close within {MAX_MODULES} entries"
    )


def module_base(regs: Registers, memory: Memory, module: str) -> int:
    """Where driver `module` (hsprobe, hsprobe.sys) is loaded now."""
    kernel = kernel_base(regs, memory)
    head = kernel + export_rva(memory, kernel, "PsLoadedModuleList")
    modules = loaded_modules(memory, head)
    name = module.lower() if module.lower().endswith(".sys") else f"{module.lower()}.sys"
    if name not in modules:
        raise DebuggerError(
            f"{name} is not in the loaded-module list (loaded: "
            f"{', '.join(sorted(modules)[:12])}...); is that image loaded?"
        )
    return modules[name][0]
