"""Structure offsets from Microsoft's symbols instead of a table: the running kernel's PDB
identity read from its image in guest memory, the PDB found in a local symbol store, and a
field's offset read from the PDB's type records.

- The kernel image: KPCR.IdtBase (KPCR+0x38 on x64) -> the first interrupt handler, which
  lies in ntoskrnl.exe -> page by page down to its MZ header -> the CodeView (RSDS) record
  of its debug directory: PDB name, GUID and age.
- The symbol path: directories separated by `;`, each a symbol store (`DIR/ntkrnlmp.pdb/
  <GUID><AGE>/ntkrnlmp.pdb`, the layout symchk and WinDbg's cache write) or a directory
  holding the PDB itself; `srv*DIR*URL` means DIR. Nothing is downloaded: fetch PDBs into
  the store on a machine that can (`symchk /r ntoskrnl.exe /s srv*DIR*...`).
- The PDB: an MSF container whose TPI stream (stream 2) holds the type records; a
  structure's LF_STRUCTURE names its LF_FIELDLIST, whose LF_MEMBERs carry the offsets.
  Format: LLVM's "The PDB File Format" and Microsoft's microsoft-pdb cvinfo.h.

Standard library only and Python 3.8 syntax: the debugger agent bundle ships this module.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from harness.errors import ConfigError, DebuggerError, InputError

if TYPE_CHECKING:
    from harness.debug import Memory

__all__ = ["CodeView", "field_offset", "find_pdb", "kernel_codeview", "pdb_guid"]

KPCR_IDT_BASE = 0x38
#: how far below its first interrupt handler the kernel image may start
MAX_KERNEL_SPAN = 64 << 20
_MSF_MAGIC = b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0"
_LF_STRUCTURE, _LF_CLASS, _LF_UNION = 0x1505, 0x1504, 0x1506
_LF_FIELDLIST, _LF_MEMBER, _LF_INDEX = 0x1203, 0x150D, 0x1404
_FORWARD_REF = 0x80
#: numeric leaves: kind -> size of the value that follows (cvinfo.h LF_CHAR...)
_NUMERIC = {0x8000: 1, 0x8001: 2, 0x8002: 2, 0x8003: 4, 0x8004: 4, 0x8009: 8, 0x800A: 8}
#: field records other than LF_MEMBER (BCLASS, NESTTYPE, STMEMBER, VFUNCTAB): kind ->
#: (whether a numeric offset, whether a name follows the 8 bytes of kind, attributes, type)
_SKIP = {
    0x1400: (True, False),
    0x1510: (False, True),
    0x150E: (False, True),
    0x1409: (False, False),
}


class CodeView(NamedTuple):
    """An image's PDB identity (its RSDS record)."""

    pdb: str
    guid: bytes
    age: int

    @property
    def key(self) -> str:
        """The store directory name: GUID as symstore writes it, then the age in hex."""
        d1, d2, d3 = struct.unpack_from("<IHH", self.guid)  # the GUID's first three fields
        return f"{d1:08X}{d2:04X}{d3:04X}{self.guid[8:].hex().upper()}{self.age:X}"


def _u(memory: Memory, address: int, fmt: str) -> int:
    value: int = struct.unpack(fmt, memory.read(address, struct.calcsize(fmt)))[0]
    return value


def _kernel_base(memory: Memory, kpcr: int) -> int:
    idt = _u(memory, kpcr + KPCR_IDT_BASE, "<Q")
    low, middle, high = struct.unpack_from("<H4xHI", memory.read(idt, 12))
    handler = int(low | middle << 16 | high << 32)
    page = handler & ~0xFFF
    while page > handler - MAX_KERNEL_SPAN:
        try:
            if memory.read(page, 2) == b"MZ":
                lfanew = _u(memory, page + 0x3C, "<I")
                if lfanew < 0x1000 and memory.read(page + lfanew, 4) == b"PE\0\0":
                    return page
        except DebuggerError:
            pass  # a page the kernel freed (INIT) or never mapped: keep looking
        page -= 0x1000
    raise DebuggerError(
        f"no kernel image within {MAX_KERNEL_SPAN >> 20} MiB below the "
        f"interrupt handler at {handler:#x}: is this a Windows x64 guest?"
    )


def kernel_codeview(memory: Memory, kpcr: int) -> CodeView:
    """The running kernel's PDB identity, read from its image in memory."""
    base = _kernel_base(memory, kpcr)
    pe = base + _u(memory, base + 0x3C, "<I")
    if _u(memory, pe + 24, "<H") != 0x20B:
        raise DebuggerError(f"the kernel image at {base:#x} is not PE32+")
    rva, size = struct.unpack("<II", memory.read(pe + 24 + 112 + 6 * 8, 8))  # DEBUG dir
    directory = memory.read(base + rva, min(size, 28 * 16)) if size else b""
    for offset in range(0, len(directory) - 27, 28):
        kind, length, data_rva = struct.unpack_from("<12xIII", directory, offset)
        if kind == 2 and 24 < length < 1024:  # IMAGE_DEBUG_TYPE_CODEVIEW
            record = memory.read(base + data_rva, length)
            if record[:4] == b"RSDS":
                name = record[24:].split(b"\0", 1)[0].decode("ascii", "replace")
                return CodeView(name, record[4:20], struct.unpack_from("<I", record, 20)[0])
    raise DebuggerError(f"the kernel image at {base:#x} has no CodeView record")


def _stores(symbol_path: str) -> list[Path]:
    stores = []
    for element in filter(None, (e.strip() for e in symbol_path.split(";"))):
        if element.lower().startswith(("srv*", "cache*")):
            parts = [p for p in element.split("*")[1:] if p and "://" not in p]
            stores += [Path(p) for p in parts]
        else:
            stores.append(Path(element))
    return stores


def find_pdb(symbol_path: str, codeview: CodeView) -> Path:
    """The PDB matching `codeview` in a symbol path; ConfigError says where it looked."""
    looked = []
    for store in _stores(symbol_path):
        for candidate in (store / codeview.pdb / codeview.key / codeview.pdb, store / codeview.pdb):
            looked.append(str(candidate))
            if candidate.is_file() and pdb_guid(candidate) == codeview.guid:
                return candidate
    raise ConfigError(
        f"no {codeview.pdb} with id {codeview.key} in the symbol path "
        f"(looked at {', '.join(looked) or 'nothing'}); fetch it into a store "
        "there, e.g. symchk /r ntoskrnl.exe /s srv*DIR*SYMBOL_SERVER"
    )


class _Msf:
    """Streams of an MSF 7.0 file (the PDB container)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes()
        if self.data[:32] != _MSF_MAGIC:
            raise InputError("not a PDB (MSF 7.0) file", path=str(path))
        try:
            self.block, _, blocks, dir_bytes, _, map_addr = struct.unpack_from("<6I", self.data, 32)
            if (
                self.block not in (512, 1024, 2048, 4096)
                or blocks * self.block > len(self.data)
                or dir_bytes > len(self.data)
            ):
                raise InputError(
                    f"a PDB with {blocks} blocks of {self.block} bytes and a "
                    f"{dir_bytes}-byte directory cannot be {len(self.data)} bytes "
                    "long: truncated or corrupt",
                    path=str(path),
                )
            dir_blocks = struct.unpack_from(
                f"<{self._count(dir_bytes)}I", self.data, map_addr * self.block
            )
            directory = b"".join(self._block(b) for b in dir_blocks)[:dir_bytes]
            (count,) = struct.unpack_from("<I", directory)
            sizes = struct.unpack_from(f"<{count}I", directory, 4)
            self.streams: list[tuple[int, tuple[int, ...]]] = []
            pos = 4 + 4 * count
            for size in sizes:
                n = 0 if size == 0xFFFFFFFF else self._count(size)
                if n > blocks:
                    raise struct.error(f"a {size}-byte stream")
                self.streams.append((size, struct.unpack_from(f"<{n}I", directory, pos)))
                pos += 4 * n
        except struct.error:
            raise InputError("truncated PDB stream directory", path=str(path)) from None

    def _count(self, size: int) -> int:
        return int(-(-size // self.block))

    def _block(self, index: int) -> bytes:
        return self.data[index * self.block : (index + 1) * self.block]

    def stream(self, index: int) -> bytes:
        if index >= len(self.streams):
            raise InputError(f"the PDB has no stream {index}", path=str(self.path))
        size, blocks = self.streams[index]
        return b"".join(self._block(b) for b in blocks)[:size]


def pdb_guid(path: Path) -> bytes:
    """The GUID in a PDB's info stream (stream 1), which an image's RSDS record names."""
    info = _Msf(path).stream(1)
    if len(info) < 28:
        raise InputError("the PDB info stream is truncated", path=str(path))
    return info[12:28]


def _numeric(data: bytes, pos: int) -> tuple[int, int]:
    (value,) = struct.unpack_from("<H", data, pos)
    if value < 0x8000:
        return value, pos + 2
    size = _NUMERIC.get(value)
    if size is None:
        raise ValueError(f"numeric leaf {value:#x}")
    fmt = {
        1: "<b",
        2: "<h" if value == 0x8001 else "<H",
        4: "<i" if value == 0x8003 else "<I",
        8: "<q" if value == 0x8009 else "<Q",
    }[size]
    number: int = struct.unpack_from(fmt, data, pos + 2)[0]
    return number, pos + 2 + size


def _name(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode("utf-8", "replace"), end + 1


def _records(tpi: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """(first type index, [(kind, payload)]) of a TPI stream."""
    _, header_size, first, _, length = struct.unpack_from("<5I", tpi)
    out, pos, end = [], header_size, min(header_size + length, len(tpi))
    while pos + 4 <= end:
        size, kind = struct.unpack_from("<HH", tpi, pos)
        out.append((kind, tpi[pos + 4 : pos + 2 + size]))
        pos += 2 + size
    return first, out


def _members(records: list[tuple[int, bytes]], first: int, index: int) -> dict[str, int]:
    """Member name -> offset of a field list, following LF_INDEX continuations."""
    found: dict[str, int] = {}
    seen: set[int] = set()
    while index:
        if index in seen:
            raise ValueError(f"field list {index:#x} continues into itself")
        seen.add(index)
        kind, data = records[index - first]
        if kind != _LF_FIELDLIST:
            raise ValueError(f"type {index:#x} is not a field list")
        pos, index = 0, 0
        while pos + 2 <= len(data):
            if data[pos] >= 0xF0:  # LF_PAD bytes between records
                pos += 1
                continue
            (leaf,) = struct.unpack_from("<H", data, pos)
            if leaf == _LF_MEMBER:
                offset, pos = _numeric(data, pos + 8)
                name, pos = _name(data, pos)
                found[name] = offset
            elif leaf == _LF_INDEX:
                (index,) = struct.unpack_from("<I", data, pos + 4)
                pos += 8
            elif leaf in _SKIP:
                has_offset, has_name = _SKIP[leaf]
                pos += 8
                if has_offset:
                    _, pos = _numeric(data, pos)
                if has_name:
                    _, pos = _name(data, pos)
            else:
                raise ValueError(f"field record {leaf:#x}")
            while pos < len(data) and data[pos] >= 0xF0:
                pos += 1
    return found


def field_offset(pdb: Path, type_name: str, field: str) -> int:
    """The offset of `type_name.field` in a PDB's type records."""
    try:
        first, records = _records(_Msf(pdb).stream(2))
        for kind, data in records:
            if kind not in (_LF_STRUCTURE, _LF_CLASS, _LF_UNION):
                continue
            options, field_list = struct.unpack_from("<HI", data, 2)
            skip = 16 if kind != _LF_UNION else 8  # to the size: after derived and vshape
            if options & _FORWARD_REF or not field_list:
                continue
            _, pos = _numeric(data, skip)
            if _name(data, pos)[0] == type_name:
                members = _members(records, first, field_list)
                if field not in members:
                    raise ConfigError(f"{type_name} in {pdb} has no field {field}")
                return members[field]
    except (struct.error, ValueError, IndexError) as e:
        raise InputError(f"unreadable type records ({e})", path=str(pdb)) from None
    raise ConfigError(f"{pdb} describes no {type_name}")
