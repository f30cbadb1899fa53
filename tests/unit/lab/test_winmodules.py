"""The Windows loaded-module walk over guest memory laid out here as the PE/COFF
specification and the public x64 structure definitions describe it."""

from __future__ import annotations

import struct

import pytest

from harness.errors import DebuggerError
from harness.lab import winmodules

KPCR = 0xFFFF_F800_1000_0000
IDT = 0xFFFF_F800_1000_2000
NT = 0xFFFF_F800_4000_0000  # ntoskrnl image base
HANDLER = NT + 0x3_4567  # an interrupt handler inside it
LIST = NT + 0x50_0000  # PsLoadedModuleList (RVA 0x500000)
ENTRIES = 0xFFFF_F800_2000_0000
HSPROBE = 0xFFFF_F806_1A00_0000


class Space:
    """Sparse guest memory: reading an unmapped byte fails as a debugger read does."""

    def __init__(self) -> None:
        self.bytes: dict[int, int] = {}

    def put(self, address: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.bytes[address + i] = b

    def read(self, address: int, size: int) -> bytes:
        try:
            return bytes(self.bytes[a] for a in range(address, address + size))
        except KeyError as e:
            raise DebuggerError(f"memory at {e.args[0]:#x} is not readable") from None

    def write(self, address: int, data: bytes) -> None:
        self.put(address, data)


class Regs:
    def register(self, name: str) -> int:
        return {"cs": 0x10, "gs_base": KPCR, "k_gs_base": 0}[name]


def _image(space: Space) -> None:
    """ntoskrnl's headers and an export directory naming PsLoadedModuleList."""
    space.put(NT, b"MZ" + bytes(0x3A) + struct.pack("<I", 0x100))
    space.put(NT + 0x100, b"PE\0\0")
    export_dir = 0x2000
    space.put(NT + 0x100 + 24 + 112, struct.pack("<I", export_dir))
    names = [b"KeBugCheckEx", b"PsLoadedModuleList"]
    space.put(NT + export_dir + 0x18, struct.pack("<IIII", len(names), 0x3000, 0x3100, 0x3200))
    for i, name in enumerate(names):
        space.put(NT + 0x3100 + 4 * i, struct.pack("<I", 0x3300 + 0x40 * i))
        space.put(NT + 0x3300 + 0x40 * i, name.ljust(0x40, b"\0"))
        space.put(NT + 0x3200 + 2 * i, struct.pack("<H", 1 - i))  # ordinals, out of order
    space.put(NT + 0x3000, struct.pack("<II", 0x50_0000, 0x1_2340))  # functions by ordinal


def _modules(space: Space, names: list[tuple[str, int]]) -> None:
    """A circular LIST_ENTRY at LIST through one LDR_DATA_TABLE_ENTRY per module."""
    entries = [ENTRIES + 0x200 * i for i in range(len(names))]
    chain = [LIST, *entries, LIST]
    for i, node in enumerate(chain[:-1]):
        space.put(node, struct.pack("<Q", chain[i + 1]))
    for entry, (name, base) in zip(entries, names, strict=True):
        text = name.encode("utf-16-le")
        space.put(entry + 0x30, struct.pack("<Q", base))
        space.put(entry + 0x40, struct.pack("<I", 0x10000))
        space.put(entry + 0x58, struct.pack("<HH4xQ", len(text), len(text), entry + 0x100))
        space.put(entry + 0x100, text)


@pytest.fixture
def space() -> Space:
    s = Space()
    s.put(KPCR + 0x38, struct.pack("<Q", IDT))
    s.put(
        IDT,
        struct.pack(
            "<HHHHII", HANDLER & 0xFFFF, 0x10, 0x8E00, HANDLER >> 16 & 0xFFFF, HANDLER >> 32, 0
        ),
    )
    for page in range(NT, HANDLER, 0x1000):  # the image's pages are mapped (zero)
        if page != NT:
            s.put(page, bytes(2))
    _image(s)
    _modules(s, [("ntoskrnl.exe", NT), ("hal.dll", NT + 0x100_0000), ("hsprobe.sys", HSPROBE)])
    return s


def test_kernel_base_from_the_first_interrupt_handler(space: Space) -> None:
    assert winmodules.kernel_base(Regs(), space) == NT


def test_export_by_name_through_the_ordinal_table(space: Space) -> None:
    assert winmodules.export_rva(space, NT, "PsLoadedModuleList") == 0x50_0000
    assert winmodules.export_rva(space, NT, "KeBugCheckEx") == 0x1_2340
    with pytest.raises(DebuggerError, match="exports no 'Nope'"):
        winmodules.export_rva(space, NT, "Nope")


def test_module_base_from_the_loaded_module_list(space: Space) -> None:
    assert winmodules.module_base(Regs(), space, "hsprobe") == HSPROBE
    assert winmodules.module_base(Regs(), space, "HSPROBE.SYS") == HSPROBE
    with pytest.raises(DebuggerError, match=r"hsprobe2\.sys is not in the loaded-module list"):
        winmodules.module_base(Regs(), space, "hsprobe2")


def test_a_list_that_never_closes_is_an_error(space: Space) -> None:
    _modules(space, [("a.sys", 1)])
    space.put(ENTRIES, struct.pack("<Q", ENTRIES))  # points at itself, never back to LIST
    with pytest.raises(DebuggerError, match="does not close"):
        winmodules.loaded_modules(space, LIST)


def test_no_image_below_the_handlers_is_an_error() -> None:
    s = Space()
    s.put(KPCR + 0x38, struct.pack("<Q", IDT))
    s.put(IDT, struct.pack("<HHHHII", 0x1000, 0x10, 0x8E00, 0, 0xFFFFF800, 0))
    with pytest.raises(DebuggerError, match="no PE image header"):
        winmodules.kernel_base(Regs(), s)
