"""The 64-bit Windows crash dump header (DUMP_HEADER64, the first 0x2000 bytes) as a pure
codec: `unpack` reads the fields triage needs and refuses what is not an x64 kernel dump;
`pack` writes one (the test corpus and the benchmark build their dumps with it).

Layout (offsets in the file; the documented DUMP_HEADER64 as kdmp-parser and rekall read it):

    0x000 "PAGE" "DU64"   (a 32-bit dump says "PAGE" "DUMP")
    0x008 MajorVersion u32, MinorVersion u32 (the build number)
    0x010 DirectoryTableBase, PfnDataBase, PsLoadedModuleList, PsActiveProcessHead  u64 each
    0x030 MachineImageType u32 (0x8664 x64, 0xAA64 ARM64), NumberProcessors u32
    0x038 BugCheckCode u32; 0x040 BugCheckParameter[4] u64
    0x080 KdDebuggerDataBlock u64
    0x088 PHYSICAL_MEMORY_DESCRIPTOR: NumberOfRuns u32, pad, NumberOfPages u64, runs from
          0x098 as (BasePage u64, PageCount u64)  (full dumps: the pages follow the header)
    0x348 CONTEXT (x64): Rsp +0x98, Rbp +0xA0, Rip +0xF8, MxCsr +0x34 == MxCsr2 +0x118
    0xF00 EXCEPTION_RECORD64; 0xF98 DumpType u32; 0xFA0 RequiredDumpSpace u64;
    0xFA8 SystemTime u64 (100 ns since 1601); 0xFB0 Comment[128]; 0x1030 SystemUpTime u64
    0x2000 the type's own header: bitmap (types 5, 6: "SDMP"/"FDMP" "DUMP", FirstPage at +0x20,
           present pages +0x28, bitmap pages +0x30, bitmap from +0x38) or RDMP (types 8, 9, A:
           marker 0x40, "RDMP" "DUMP", MetadataSize +0x10, FirstPageOffset +0x18, PFN ranges
           (pfn u64, count u64) from +0x30)
"""

from __future__ import annotations

import struct
from enum import IntEnum

import msgspec

from harness.triage.model import Unanalysable

__all__ = [
    "CONTEXT",
    "HEADER_SIZE",
    "PAGE",
    "SUPPORTED",
    "DumpHeader",
    "DumpType",
    "pack",
    "payload",
    "unpack",
]

PAGE = 0x1000
HEADER_SIZE = 0x2000
CONTEXT = 0x348
_MACHINES = {0x8664: "x64", 0xAA64: "ARM64", 0x14C: "x86", 0x1C4: "ARM"}
_REGS = {"rsp": 0x98, "rbp": 0xA0, "rip": 0xF8, "rax": 0x78, "rcx": 0x80, "rdx": 0x88}


class DumpType(IntEnum):
    FULL = 1
    KERNEL_LEGACY = 2
    MINI = 4
    BITMAP = 5
    LIVE_KERNEL = 6
    KERNEL = 8
    KERNEL_USER = 9
    COMPLETE = 0xA


#: physical memory runs the x64 header has room for (0x98..0x348)
_MAX_RUNS = 42
#: what kdmp-parser 0.7.4 opens
SUPPORTED = (
    DumpType.FULL,
    DumpType.BITMAP,
    DumpType.LIVE_KERNEL,
    DumpType.KERNEL,
    DumpType.KERNEL_USER,
    DumpType.COMPLETE,
)


class DumpHeader(msgspec.Struct, frozen=True, kw_only=True):
    dump_type: int
    bugcheck: int
    params: tuple[int, int, int, int]
    build: int
    processors: int
    directory_table_base: int
    loaded_modules: int
    """PsLoadedModuleList: the virtual address of the loaded-module list head."""
    runs: tuple[tuple[int, int], ...]
    """Physical memory runs (base page, page count) as the descriptor lists them."""
    registers: dict[str, int]
    context_valid: bool
    """The two MXCSR copies agree (kdmp-parser refuses the dump otherwise)."""
    system_time: int = 0
    comment: str = ""

    @property
    def pages(self) -> int:
        return sum(count for _, count in self.runs)


def unpack(data: bytes) -> DumpHeader:
    """The header of a dump whose first bytes are `data`; Unanalysable when it is not one
    this harness reads (truncated, another architecture, a minidump, not a dump at all)."""
    if len(data) < 8 or data[:4] != b"PAGE":
        raise Unanalysable("not a Windows crash dump (no PAGE signature)")
    if data[4:8] == b"DUMP":
        raise Unanalysable("a 32-bit Windows dump (PAGEDUMP): only x64 dumps are analysed")
    if data[4:8] != b"DU64":
        raise Unanalysable(f"not a Windows crash dump (signature {data[:8]!r})")
    if len(data) < HEADER_SIZE:
        raise Unanalysable(
            f"truncated dump: {len(data)} bytes, the header alone is {HEADER_SIZE:#x}"
        )
    machine = struct.unpack_from("<I", data, 0x30)[0]
    if machine != 0x8664:
        name = _MACHINES.get(machine, f"machine type {machine:#x}")
        raise Unanalysable(f"a dump of another architecture ({name}): only x64 is analysed")
    dump_type = struct.unpack_from("<I", data, 0xF98)[0]
    if dump_type not in tuple(SUPPORTED):
        name = (
            DumpType(dump_type).name.lower()
            if dump_type in DumpType._value2member_map_
            else f"unknown type {dump_type:#x}"
        )
        raise Unanalysable(
            f"dump type {name} is not supported (full, bitmap, live kernel, "
            "kernel, kernel+user and complete dumps are)"
        )
    nruns = struct.unpack_from("<I", data, 0x88)[0]
    if dump_type == DumpType.FULL and _MAX_RUNS < nruns != 0x45474150:  # "PAGE": not filled in
        raise Unanalysable(
            f"damaged full dump: its header lists {nruns} physical memory runs, "
            f"more than the {_MAX_RUNS} it has room for"
        )
    runs = tuple(
        struct.unpack_from("<QQ", data, 0x98 + 16 * i) for i in range(min(nruns, _MAX_RUNS))
    )
    ctx = {name: struct.unpack_from("<Q", data, CONTEXT + off)[0] for name, off in _REGS.items()}
    mxcsr, mxcsr2 = (struct.unpack_from("<I", data, CONTEXT + o)[0] for o in (0x34, 0x118))
    comment = data[0xFB0:0x1030].split(b"\0", 1)[0].decode("ascii", "replace")
    return DumpHeader(
        dump_type=dump_type,
        bugcheck=struct.unpack_from("<I", data, 0x38)[0],
        params=struct.unpack_from("<4Q", data, 0x40),
        build=struct.unpack_from("<I", data, 0xC)[0],
        processors=struct.unpack_from("<I", data, 0x34)[0],
        directory_table_base=struct.unpack_from("<Q", data, 0x10)[0],
        loaded_modules=struct.unpack_from("<Q", data, 0x20)[0],
        runs=runs if dump_type == DumpType.FULL and nruns != 0x45474150 else (),
        registers=ctx,
        context_valid=mxcsr == mxcsr2,
        system_time=struct.unpack_from("<Q", data, 0xFA8)[0],
        comment=comment,
    )


def pack(header: DumpHeader, *, machine: int = 0x8664) -> bytearray:
    """A 0x2000-byte header with `header`'s fields; unused bytes hold "PAGE" as Windows
    leaves them."""
    out = bytearray(b"PAGE" * (HEADER_SIZE // 4))
    struct.pack_into("<4s4sII", out, 0, b"PAGE", b"DU64", 15, header.build)
    struct.pack_into("<QQQQ", out, 0x10, header.directory_table_base, 0, header.loaded_modules, 0)
    struct.pack_into("<IIII", out, 0x30, machine, header.processors, header.bugcheck, 0)
    struct.pack_into("<4QQ", out, 0x40, *header.params, 0)
    out[0x60:0x80] = bytes(0x20)
    struct.pack_into("<QIIQ", out, 0x80, 0, len(header.runs), 0, header.pages)
    for i, (base, count) in enumerate(header.runs):
        struct.pack_into("<QQ", out, 0x98 + 16 * i, base, count)
    out[CONTEXT:0xF00] = bytes(0xF00 - CONTEXT)
    struct.pack_into("<I", out, CONTEXT + 0x30, 0x10001F)  # CONTEXT_ALL (x64)
    struct.pack_into("<I", out, CONTEXT + 0x34, 0x1F80)
    struct.pack_into("<I", out, CONTEXT + 0x118, 0x1F80 if header.context_valid else 0)
    for name, value in header.registers.items():
        struct.pack_into("<Q", out, CONTEXT + _REGS[name], value)
    out[0xF00:0xF98] = bytes(0x98)
    struct.pack_into("<IIqq", out, 0xF98, header.dump_type, 0, 0, header.system_time)
    comment = header.comment.encode("ascii")[:127]
    out[0xFB0:0x1030] = comment + bytes(128 - len(comment))
    out[0x1030:0x1058] = bytes(0x28)
    return out


def payload(dump_type: int, header: DumpHeader, after: bytes) -> tuple[int, int] | None:
    """(file offset of the first page, pages present) for a dump of `dump_type`, from the
    header and `after` (the bytes from 0x2000 on); None when `after` is too short to say."""
    if dump_type == DumpType.FULL:
        return HEADER_SIZE, header.pages
    if dump_type in (DumpType.BITMAP, DumpType.LIVE_KERNEL):
        if len(after) < 0x38 or after[:4] not in (b"SDMP", b"FDMP") or after[4:8] != b"DUMP":
            raise Unanalysable("bitmap dump without its SDMP/FDMP header at 0x2000")
        first, present = struct.unpack_from("<QQ", after, 0x20)
        return first, present
    if len(after) < 0x30 or after[4:12] != b"RDMPDUMP":
        raise Unanalysable("kernel dump without its RDMP header at 0x2000")
    metadata, first = struct.unpack_from("<QQ", after, 0x10)
    if len(after) < 0x20 + metadata:
        return None
    pages = 0
    for offset in range(0x30, 0x20 + metadata - 15, 16):
        pfn, count = struct.unpack_from("<QQ", after, offset)
        if pfn == 0:
            break
        pages += count
    return first, pages
