"""x86-64 Windows kernel introspection over any register and memory source: the IRQL, the
KPCR, the current thread and its id, the build number, and routine addresses from a driver
image's exports.

Standard library only (pefile imported when an image is read) and Python 3.8 syntax: the
debugger agent bundle ships this module.

Offsets that vary by build (ETHREAD.Cid) come, first found first: from the caller (read
them with `dt nt!_ETHREAD Cid`), from the kernel's own PDB when a symbol path is configured
(`harness.debug.symbols`), or from `CID_OFFSETS`; an unknown build is an error, never a
guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from harness.errors import BackendUnavailableError, ConfigError, DebuggerError, InputError

if TYPE_CHECKING:  # the agent bundle ships this module without harness.debug's package
    from harness.debug import Memory

__all__ = [
    "CID_OFFSETS",
    "CURRENT_THREAD",
    "KUSER_BUILD",
    "Registers",
    "build_number",
    "cid_offset",
    "current_thread",
    "export_rva",
    "irql",
    "kpcr",
    "thread_id",
]

#: KPCR.Prcb.CurrentThread on x64 Windows 10 and 11 (KPCR+0x180 is the KPRCB, +8 in it)
CURRENT_THREAD = 0x188
#: KUSER_SHARED_DATA.NtBuildNumber at its fixed kernel-mode address (documented, stable)
KUSER_BUILD = 0xFFFFF78000000260
#: ETHREAD.Cid offset by build, as header dumps made from Microsoft's public symbols give
#: it: ntdiff/headers (github.com/ntdiff/headers), x64/System32/ntoskrnl.exe/Standalone/
#: _ETHREAD.h of Win10_2004 (19041) and Win11_2409_24H2 (26100: `/* 0x0508 */ struct
#: _CLIENT_ID Cid;`, after a 0x4C0-byte KTHREAD). Not yet confirmed on the lab's own images:
#: confirm with `dt nt!_ETHREAD Cid`, or configure a symbol path to read it from the PDB.
#: Builds after 26100 (25H2 is 26200) are added only from their own symbol data.
CID_OFFSETS: dict[int, int] = {
    19041: 0x478,  # Windows 10 2004
    19042: 0x478,  # 20H2 (same kernel as 2004 plus enablement package)
    19043: 0x478,  # 21H1
    19044: 0x478,  # 21H2
    19045: 0x478,  # 22H2
    26100: 0x508,  # Windows 11 24H2 and Server 2025: the first with DriverProxy
}


class Registers(Protocol):
    """Anything that reads a stopped CPU's registers by gdb name (cr8, gs_base, cs...)."""

    def register(self, name: str) -> int: ...


def irql(regs: Registers) -> int:
    """The IRQL of the interrupted code: x64 Windows keeps it in CR8 (the APIC TPR)."""
    return regs.register("cr8") & 0xF


def kpcr(regs: Registers) -> int:
    """The KPCR address. In kernel mode (CS RPL 0) GS points at it; in user mode the kernel's
    GS base is parked in IA32_KERNEL_GS_BASE until the next swapgs.
    """
    if regs.register("cs") & 3 == 0:
        return regs.register("gs_base")
    return regs.register("k_gs_base")


def _qword(memory: Memory, address: int) -> int:
    return int.from_bytes(memory.read(address, 8), "little")


def current_thread(regs: Registers, memory: Memory) -> int:
    """Address of the KTHREAD/ETHREAD running on the stopped processor."""
    thread = _qword(memory, kpcr(regs) + CURRENT_THREAD)
    if thread >> 47 != 0x1FFFF:
        raise DebuggerError(
            f"KPCR+{CURRENT_THREAD:#x} holds {thread:#x}, not a kernel address: is this a "
            "Windows x64 guest stopped in a context with a valid KPCR?"
        )
    return thread


def build_number(memory: Memory) -> int:
    """NtBuildNumber from KUSER_SHARED_DATA (its top nibble flags checked/free builds)."""
    try:
        raw = int.from_bytes(memory.read(KUSER_BUILD, 4), "little")
    except DebuggerError as e:
        raise DebuggerError(
            f"cannot read the Windows build number from KUSER_SHARED_DATA ({e}); "
            "is the guest Windows? pass build=N to say which"
        ) from None
    return raw & 0xFFFF


def cid_offset(
    regs: Registers,
    memory: Memory,
    *,
    explicit: int | None = None,
    symbol_path: str | None = None,
    build: int | None = None,
) -> int:
    """ETHREAD.Cid's offset: `explicit`, else from the kernel's PDB in `symbol_path`, else
    from CID_OFFSETS by `build` (default: the one KUSER_SHARED_DATA names)."""
    if explicit is not None:
        return explicit
    if symbol_path:
        from harness.debug import symbols

        pdb = symbols.find_pdb(symbol_path, symbols.kernel_codeview(memory, kpcr(regs)))
        return symbols.field_offset(pdb, "_ETHREAD", "Cid")
    build = build_number(memory) if build is None else build
    offset = CID_OFFSETS.get(build)
    if offset is None:
        known = ", ".join(str(b) for b in sorted(CID_OFFSETS))
        raise ConfigError(
            f"no ETHREAD.Cid offset known for Windows build {build} (known: {known}); "
            "configure a symbol path (symbols=DIR) to read it from the kernel's PDB, or read "
            "it with `dt nt!_ETHREAD Cid` and pass cid_offset=0x..."
        )
    return offset


def thread_id(memory: Memory, thread: int, offset: int) -> int:
    """CLIENT_ID.UniqueThread of `thread`: the second pointer of ETHREAD.Cid at `offset`."""
    return _qword(memory, thread + offset + 8)


def export_rva(image_path: str, name: str) -> int:
    """RVA of export `name` in a PE image (the driver exports its routine by name)."""
    try:
        import pefile
    except ImportError:
        raise BackendUnavailableError(
            "reading driver exports needs pefile: install the driver extra"
        ) from None
    try:
        pe = pefile.PE(image_path, fast_load=True)
        pe.parse_data_directories(
            directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"]]
        )
    except (OSError, pefile.PEFormatError) as e:
        raise InputError(f"not a readable PE image: {e}", path=image_path) from None
    exports = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    for symbol in exports.symbols if exports else []:
        if symbol.name and symbol.name.decode("ascii", "replace") == name:
            return int(symbol.address)
    raise InputError(f"the image exports no {name!r}", path=image_path)
