"""The Windows dump corpus: one small dump per type kdmp-parser reads, built from the documented
layout with a loaded-module list, a stack and a crash in hsprobe.sys; and its expected fields."""

from __future__ import annotations

import struct
from pathlib import Path

from harness.triage.dumpheader import SUPPORTED, DumpHeader
from harness.triage.dumpwriter import GuestMemory, build_dump

NT, HSPROBE = 0xFFFFF80040000000, 0xFFFFF80051230000
MODULE_LIST = 0xFFFFF80040C2A000
RSP = 0xFFFFD00012345F00
RIP = HSPROBE + 0x1100

EXPECTED = {
    "bugcheck": 0xD1,
    "params": (0x0, 0x2, 0x0, RIP),
    "title": "0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL in hsprobe",
    "frames": ["hsprobe+0x1100", "hsprobe+0x1234", "ntoskrnl+0x5555"],
    "modules": [("ntoskrnl", NT, 0x1000000), ("hsprobe", HSPROBE, 0x8000)],
}


def header(**changes: object) -> DumpHeader:
    fields: dict[str, object] = dict(
        dump_type=1,
        bugcheck=0xD1,
        params=(0, 2, 0, RIP),
        build=26100,
        processors=2,
        directory_table_base=0,
        loaded_modules=MODULE_LIST,
        runs=(),
        registers={"rip": RIP, "rsp": RSP},
        context_valid=True,
        comment="hotswap corpus",
    )
    fields.update(changes)
    return DumpHeader(**fields)  # type: ignore[arg-type]


def memory() -> GuestMemory:
    mem = GuestMemory()
    mem.module_list(
        MODULE_LIST, [("ntoskrnl.exe", NT, 0x1000000), ("HsProbe.sys", HSPROBE, 0x8000)]
    )
    mem.write(RSP, struct.pack("<4Q", 0, HSPROBE + 0x1234, 7, NT + 0x5555))
    return mem


def dump_bytes(dump_type: int, **changes: object) -> bytes:
    return build_dump(dump_type, header(**changes), memory())


def write_corpus(directory: Path) -> dict[int, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for dump_type in SUPPORTED:
        path = directory / f"type{int(dump_type):x}.dmp"
        path.write_bytes(dump_bytes(dump_type))
        out[int(dump_type)] = path
    return out
