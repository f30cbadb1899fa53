"""Small, valid x64 kernel dumps built from the documented layout (harness/triage/dumpheader.py),
for the test corpus and the benchmark: physical pages, 4-level page tables that map the
kernel addresses used, a loaded-module list (KLDR_DATA_TABLE_ENTRY: links at +0x0, DllBase
+0x30, SizeOfImage +0x40, FullDllName +0x48, BaseDllName +0x58) and a stack, in each dump
type kdmp-parser reads. No Windows is needed to make one, and none is claimed: these test
the reader, not a belief about what Windows writes beyond the documented layout.
"""

from __future__ import annotations

import struct
from pathlib import Path

from harness.triage.dumpheader import HEADER_SIZE, PAGE, DumpHeader, DumpType, pack

__all__ = ["GuestMemory", "build_dump", "write_sparse_full_dump"]

_PRESENT_WRITE = 0x3


class GuestMemory:
    """Physical pages and the page tables that map virtual addresses onto them."""

    def __init__(self) -> None:
        self.pages: dict[int, bytearray] = {}
        self._next = 0x10
        self.dtb = self._alloc() * PAGE

    def _alloc(self) -> int:
        pfn = self._next
        self._next += 1
        self.pages[pfn] = bytearray(PAGE)
        return pfn

    def _entry(self, table_pfn: int, index: int) -> int:
        table = self.pages[table_pfn]
        (entry,) = struct.unpack_from("<Q", table, index * 8)
        if not entry & 1:
            entry = self._alloc() * PAGE | _PRESENT_WRITE
            struct.pack_into("<Q", table, index * 8, entry)
        return int(entry >> 12) & 0xFFFFFFFFF

    def page(self, va: int) -> bytearray:
        """The physical page behind virtual page `va`, mapping it on first use."""
        pfn = self.dtb // PAGE
        for shift in (39, 30, 21, 12):
            pfn = self._entry(pfn, (va >> shift) & 0x1FF)
        return self.pages[pfn]

    def write(self, va: int, data: bytes) -> None:
        while data:
            room = PAGE - va % PAGE
            self.page(va)[va % PAGE : va % PAGE + min(room, len(data))] = data[:room]
            va, data = va + room, data[room:]

    def module_list(self, head: int, modules: list[tuple[str, int, int]]) -> None:
        """A PsLoadedModuleList at `head` with (name, base, size) entries after it."""
        entries = [head + 0x100 * (i + 1) for i in range(len(modules))]
        ring = [head, *entries]
        for i, va in enumerate(ring):
            struct.pack_into("<QQ", buf := bytearray(16), 0, ring[(i + 1) % len(ring)], ring[i - 1])
            self.write(va, bytes(buf))
        for va, (name, base, size) in zip(entries, modules, strict=True):
            text = name.encode("utf-16-le")
            full = f"\\SystemRoot\\System32\\drivers\\{name}".encode("utf-16-le")
            names = va + 0x80
            self.write(va + 0x30, struct.pack("<QQI", base, 0, size))
            self.write(va + 0x48, struct.pack("<HHIQ", len(full), len(full), 0, names + 0x40))
            self.write(va + 0x58, struct.pack("<HHIQ", len(text), len(text), 0, names))
            self.write(names, text)
            self.write(names + 0x40, full)


def _pages_in(layout: list[int], memory: GuestMemory) -> bytes:
    return b"".join(bytes(memory.pages[pfn]) for pfn in layout)


def _runs(pfns: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for pfn in pfns:
        if runs and runs[-1][0] + runs[-1][1] == pfn:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((pfn, 1))
    return runs


def build_dump(dump_type: int, header: DumpHeader, memory: GuestMemory) -> bytes:
    """A whole dump of `dump_type` holding `memory`; `header` gives everything else."""
    pfns = sorted(memory.pages)
    fields = {f: getattr(header, f) for f in header.__struct_fields__}
    fields.update(
        dump_type=dump_type,
        directory_table_base=memory.dtb,
        runs=tuple(_runs(pfns)) if dump_type == DumpType.FULL else ((0, 1),),
    )
    head = bytes(pack(DumpHeader(**fields)))
    if dump_type == DumpType.FULL:
        return head + _pages_in(pfns, memory)
    if dump_type in (DumpType.BITMAP, DumpType.LIVE_KERNEL):
        total = pfns[-1] + 1
        bitmap = bytearray((total + 63) // 64 * 8)
        for pfn in pfns:
            bitmap[pfn // 8] |= 1 << pfn % 8
        first = HEADER_SIZE + -(-(0x38 + len(bitmap)) // PAGE) * PAGE
        second = struct.pack("<4s4s24xQQQ", b"SDMP", b"DUMP", first, len(pfns), len(bitmap) * 8)
        second += bytes(bitmap)
    else:
        ranges = b"".join(struct.pack("<QQ", base, count) for base, count in _runs(pfns))
        ranges += bytes(16)  # a zero pfn ends the list
        first = HEADER_SIZE + -(-(0x30 + len(ranges)) // PAGE) * PAGE
        extra = (
            struct.pack("<IHHQ", len(_runs(pfns)), 0, 0, len(pfns))
            if dump_type == DumpType.COMPLETE
            else bytes(16)
        )
        second = (
            struct.pack("<I4s4sIQQ", 0x40, b"RDMP", b"DUMP", 0, first - HEADER_SIZE - 0x20, first)
            + extra
            + ranges
        )
    second += bytes(first - HEADER_SIZE - len(second))
    return head + second + _pages_in(pfns, memory)


def write_sparse_full_dump(path: Path, header: DumpHeader, size: int) -> None:
    """A full dump of `size` bytes of memory in one run, written as a sparse file: the
    benchmark's multi-GiB dump costs a header's worth of disk."""
    pages = size // PAGE
    fields = {f: getattr(header, f) for f in header.__struct_fields__}
    fields.update(dump_type=DumpType.FULL, runs=((0, pages),))
    with path.open("wb") as f:
        f.write(pack(DumpHeader(**fields)))
        f.truncate(HEADER_SIZE + pages * PAGE)
