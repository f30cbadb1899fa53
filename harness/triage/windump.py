"""Windows kernel dumps read with kdmp-parser: bug check, context, physical memory, the
loaded-module list (walked through the dump's own page tables) and the faulting module.

`peek` is the fast path (the first verdict line): it reads the header and what the header
points to, never the memory, so a multi-GiB dump answers in well under 50 ms. `read_dump`
then opens the dump with kdmp-parser for everything else, in a child process
(harness.triage.isolation): kdmp-parser trusts the header, and a damaged one can crash it.
Without symbols (no debugger host) the fault is a module, and the crash says so in its
`corrupted` reason.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import BackendUnavailableError
from harness.triage.bugchecks import describe
from harness.triage.dumpheader import HEADER_SIZE, PAGE, DumpHeader, DumpType, payload, unpack
from harness.triage.isolation import isolated
from harness.triage.model import Crash, Frame, Unanalysable
from harness.triage.signature import module_name

__all__ = ["Module", "peek", "read_dump"]

#: bytes read past the header for the type's own header and PFN ranges
_SECOND = 0x10000
_MAX_MODULES = 1024
_STACK_BYTES = 2 * PAGE
_SCANNED = 16

Module = tuple[str, int, int]  # name, base, size


def peek(path: Path) -> tuple[DumpHeader, str | None]:
    """The header, and why the file is shorter than the header says (None if it is not)."""
    try:
        with path.open("rb") as f:
            data = f.read(HEADER_SIZE + _SECOND)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise Unanalysable(f"cannot read the dump: {e.strerror}") from None
    header = unpack(data)
    where = payload(header.dump_type, header, data[HEADER_SIZE:])
    if where is None:
        return header, "the dump's page list is cut short"
    first, pages = where
    want = first + pages * PAGE
    if size < want:
        return header, f"truncated dump: {size} bytes of the {want} its header describes"
    return header, None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """kdmp-parser prints its complaints with C printf; keep them off our stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _parser(path: Path) -> Any:
    try:
        import kdmp_parser
    except ImportError:
        raise BackendUnavailableError(
            "reading Windows dumps needs kdmp-parser: pip install 'hotswap-harness[triage]'"
        ) from None
    try:
        with _quiet():
            return kdmp_parser.KernelDumpParser(path)
    except (RuntimeError, ValueError) as e:
        raise Unanalysable(f"kdmp-parser refused the dump: {e}") from None


def _read(dump: Any, va: int, size: int) -> bytes | None:
    out = b""
    while len(out) < size:
        with _quiet():
            page = dump.read_virtual_page(va - va % PAGE)
        if page is None:
            return None
        take = min(size - len(out), PAGE - va % PAGE)
        out += bytes(page[va % PAGE : va % PAGE + take])
        va += take
    return out


def modules(dump: Any, head: int) -> list[Module] | None:
    """The loaded-module list at `head` (PsLoadedModuleList); None when it cannot be read."""
    found: list[Module] = []
    link = _read(dump, head, 8)
    if link is None:
        return None
    entry = struct.unpack("<Q", link)[0]
    while entry != head and len(found) < _MAX_MODULES:
        raw = _read(dump, entry, 0x68)
        if raw is None:
            return found or None
        (flink,) = struct.unpack_from("<Q", raw, 0)
        (base,), (size,) = struct.unpack_from("<Q", raw, 0x30), struct.unpack_from("<I", raw, 0x40)
        length, _, _, buffer = struct.unpack_from("<HHIQ", raw, 0x58)
        name = _read(dump, buffer, min(length, 512)) or b""
        found.append((module_name(name.decode("utf-16-le", "replace")), base, size))
        entry = flink
    return found


def _frame(address: int, mods: list[Module], how: str) -> Frame | None:
    for name, base, size in mods:
        if base <= address < base + size:
            return Frame(module=name, offset=address - base, address=address, how=how)
    return None


def _scan(dump: Any, rsp: int, mods: list[Module]) -> list[Frame]:
    """Values on the stack that point into a module: candidates, not an unwound stack."""
    data = _read(dump, rsp, PAGE - rsp % PAGE) or b""
    if data:  # the next stack page too, when the dump has it
        data += _read(dump, rsp + len(data), _STACK_BYTES - PAGE) or b""
    frames = []
    for (value,) in struct.iter_unpack("<Q", data[: len(data) // 8 * 8]):
        frame = _frame(value, mods, "scanned")
        if frame is not None:
            frames.append(frame)
            if len(frames) == _SCANNED:
                break
    return frames


def _walk(path: Path, header: DumpHeader) -> tuple[int, list[Module] | None, list[Frame]]:
    """What only kdmp-parser can read: the page count, the module list, the stack scan."""
    dump = _parser(path)
    pages = len(dump.pages) if header.dump_type != DumpType.FULL else header.pages
    mods = modules(dump, header.loaded_modules)
    return pages, mods, _scan(dump, header.registers["rsp"], mods) if mods is not None else []


def read_dump(path: Path) -> Crash:
    """The crash in a Windows kernel dump."""
    header, truncated = peek(path)
    details = {
        "dump_type": DumpType(header.dump_type).name.lower(),
        "build": str(header.build),
        "processors": str(header.processors),
        "rip": f"{header.registers['rip']:#x}",
        "rsp": f"{header.registers['rsp']:#x}",
    }
    if truncated:
        # kdmp-parser indexes every page the header promises: a damaged page count would
        # have it allocate without bound, so a dump shorter than its header is read no further
        return Crash(
            platform="windows",
            kind=describe(header.bugcheck),
            bugcheck=header.bugcheck,
            params=tuple(header.params),
            fault=None,
            frames=(),
            corrupted=truncated,
            details=details,
        )
    # kdmp-parser index: a map entry per page, so the budget grows with the dump
    pages, mods, scanned = isolated(_walk, path, header, memory=(512 << 20) + 128 * header.pages)
    details["pages"] = str(pages)
    reasons: list[str] = []
    frames: list[Frame] = []
    if mods is None:
        reasons.append("the loaded-module list cannot be read from the dump")
    else:
        details["modules"] = str(len(mods))
        rip = _frame(header.registers["rip"], mods, "context")
        frames = ([rip] if rip else []) + scanned
        if rip is None:
            reasons.append(f"RIP {header.registers['rip']:#x} is in no loaded module")
    fault = frames[0] if frames and frames[0].how == "context" else None
    if fault is not None:
        reasons.append(
            f"no symbols for {fault.module}: bucketed by module only "
            "(run !analyze on a debugger host for the function)"
        )
    return Crash(
        platform="windows",
        kind=describe(header.bugcheck),
        bugcheck=header.bugcheck,
        params=tuple(header.params),
        fault=fault.point if fault else None,
        frames=tuple(frames),
        corrupted="; ".join(reasons) or None,
        details=details,
    )
