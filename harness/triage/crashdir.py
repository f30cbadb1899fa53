"""A crash directory, as the lab target writes it on a guest crash (OUT/crashes/CASE-rREP/):

    crash.json        CrashInfo: scenario, repetition, machine, profile, detected_by, time,
                      bugcheck (code and params from the hypervisor, or null), guest_build,
                      driver {file: sha256}
    console.log       the console tail
    memory.elf        host-side dump of a Linux guest (QEMU's ELF core), or
    memory.dmp        of a Windows guest (win-dmp), either possibly absent (.zst once retained)
    trace-tail.jsonl  the last trace records before the crash (a valid trace)
    analyze.txt       !analyze -v output, when a debugger host ran it

`read_info` parses crash.json once, at the edge; a bad one is one InputError naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from harness.errors import InputError

__all__ = [
    "ANALYZE",
    "CONSOLE",
    "DUMPS",
    "INFO",
    "TRACE_TAIL",
    "Bugcheck",
    "CrashInfo",
    "dump_file",
    "is_crash_dir",
    "read_info",
    "write_info",
]

INFO = "crash.json"
CONSOLE = "console.log"
TRACE_TAIL = "trace-tail.jsonl"
ANALYZE = "analyze.txt"
#: dump file names, by guest profile; retention may add a .zst suffix
DUMPS = {"linux": "memory.elf", "windows": "memory.dmp"}


class Bugcheck(msgspec.Struct, frozen=True):
    """The bug check the hypervisor reported (Hyper-V crash MSRs through QEMU)."""

    code: int
    params: list[int] = []


class CrashInfo(msgspec.Struct, frozen=True, kw_only=True):
    """crash.json. Unknown fields are kept out of the way, not refused: the writer may add."""

    scenario: str
    repetition: int = 0
    machine: str = ""
    profile: Literal["linux", "windows"]
    detected_by: Literal["pvpanic", "hyperv", "console", "unresponsive"]
    time: str
    """ISO 8601."""
    bugcheck: Bugcheck | None = None
    guest_build: str = ""
    driver: dict[str, str] = {}
    """Driver files and their sha256: the build that crashed."""
    dump_error: str | None = None
    """Why there is no memory dump, when the capture could not take one."""

    @property
    def driver_build(self) -> str:
        """One short name for the driver build: the first 12 hex digits of each file's hash."""
        return ",".join(f"{name}@{digest[:12]}" for name, digest in sorted(self.driver.items()))


_decoder = msgspec.json.Decoder(CrashInfo)


def is_crash_dir(path: Path) -> bool:
    return (path / INFO).is_file()


def read_info(directory: Path) -> CrashInfo:
    path = directory / INFO
    try:
        return _decoder.decode(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"no {INFO}: not a crash directory", path=str(directory)) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise InputError(f"bad crash record: {e}", path=str(path)) from None


def write_info(directory: Path, info: CrashInfo) -> None:
    (directory / INFO).write_bytes(msgspec.json.format(msgspec.json.encode(info)) + b"\n")


def dump_file(directory: Path) -> Path | None:
    """The memory dump in `directory` (compressed or not), or None."""
    for name in DUMPS.values():
        for candidate in (directory / name, directory / f"{name}.zst"):
            if candidate.is_file():
                return candidate
    return None
