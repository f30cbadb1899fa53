"""Static inspection of driver images with pefile: what a file is, and whether a Windows
loader and the harness can rely on it, for any driver and, more closely, for hsprobe.

Any file gets a verdict, never an exception from pefile: not a PE image or truncated
(INVALID), a user-mode image or a native user-mode program such as smss.exe (NOT_DRIVER),
or a kernel driver, judged by what every x64 driver needs (AMD64, imports from kernel
modules only, relocations, the PE checksum) and told whether it uses DriverProxy, through
static imports or by name (MmGetSystemRoutineAddress takes UTF-16 routine names). An hsprobe
image (it exports HspImageVersion) is also checked for the build the harness relies on: its
imports, the routine exports a debugger breaks on, its version, the DriverProxy routines that
version calls, its module name, and the sha256 the build manifest recorded.

Reads are bounded: at most MAX_IMAGE bytes, and only the header of a larger file.
"""

from __future__ import annotations

import hashlib
import stat
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import msgspec
from msgspec.structs import replace

from harness.actions import MODULES, ROUTINE_EXPORT
from harness.driver.artifact import Manifest
from harness.errors import BackendUnavailableError, InputError

__all__ = ["MAX_IMAGE", "REQUIRED_EXPORTS", "Finding", "Inspection", "Verdict", "inspect_image"]

#: the largest file read as an image (the biggest shipping drivers are around 100 MiB)
MAX_IMAGE: Final = 256 * 1024 * 1024
#: names both images export: the routine per endpoint, the phase callback, the version word
REQUIRED_EXPORTS: Final = (
    ROUTINE_EXPORT,
    "HspWorkerRoutineEp2",
    "HspPhaseCallback",
    "HspImageVersion",
)
VERSION_EXPORT: Final = "HspImageVersion"
#: the modules hsprobe's build links against
HSPROBE_DLLS: Final = frozenset({"ntoskrnl.exe", "hal.dll"})
#: DriverProxy routines each version calls; version 1 creates the extension, 2 takes it
PROXY_IMPORTS: Final = {
    1: frozenset(
        {
            "IoGetDriverProxyFeatures",
            "IoCreateDriverProxyExtension",
            "IoRegisterDriverProxyEndpoints",
            "IoGetDriverProxyEndpointWrapper",
            "IoDriverProxyCreateHotSwappableWorkerThread",
        }
    ),
    2: frozenset({"IoGetDriverProxyExtensionFromDriverObject", "IoRegisterDriverProxyEndpoints"}),
}
PROXY_ROUTINES: Final = frozenset().union(*PROXY_IMPORTS.values())
#: the routine only that version imports, where the routines are imported statically
VERSION_MARKERS: Final = {
    1: "IoCreateDriverProxyExtension",
    2: "IoGetDriverProxyExtensionFromDriverObject",
}
#: user-mode DLLs a kernel driver can never bind (api sets: api-ms-win-*, ext-ms-win-*)
USER_DLLS: Final = frozenset(
    {
        "ntdll.dll",
        "kernel32.dll",
        "kernelbase.dll",
        "user32.dll",
        "gdi32.dll",
        "advapi32.dll",
        "msvcrt.dll",
        "ucrtbase.dll",
        "ws2_32.dll",
        "ole32.dll",
        "oleaut32.dll",
        "shell32.dll",
        "rpcrt4.dll",
        "sechost.dll",
        "combase.dll",
        "shlwapi.dll",
        "crypt32.dll",
        "bcrypt.dll",
    }
)
_MACHINE_AMD64: Final = 0x8664
_RELOCS_STRIPPED: Final = 0x0001  # IMAGE_FILE_RELOCS_STRIPPED
_SUBSYSTEMS: Final = {1: "NATIVE", 2: "WINDOWS_GUI", 3: "WINDOWS_CUI", 10: "EFI_APPLICATION"}


class Verdict(StrEnum):
    OK = "ok"  # a kernel driver (hsprobe or any other) that passes every check
    FAILED = "failed"  # a kernel driver that fails a check
    NOT_DRIVER = "not a driver"  # a valid PE image, but not a kernel driver
    INVALID = "invalid"  # not a PE image, truncated, or too large to be one


class Finding(msgspec.Struct, frozen=True):
    """One check: its name, whether it passed, and what was seen."""

    check: str
    ok: bool
    detail: str


class Inspection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What inspect_image() found; `summary` is the one-sentence verdict for people."""

    path: str
    size: int
    sha256: str | None = None
    """Absent for a file larger than MAX_IMAGE (not read)."""
    verdict: Verdict
    summary: str
    kind: str | None = None
    """"hsprobe" or "driver" (any other kernel driver); absent for non-drivers."""
    version: int | None = None
    subsystem: str | None = None
    imports: dict[str, tuple[str, ...]] = {}
    exports: tuple[str, ...] = ()
    driverproxy: tuple[str, ...] = ()
    """DriverProxy routines the image imports or names for run-time lookup."""
    findings: tuple[Finding, ...] = ()


def _pefile() -> Any:
    try:
        import pefile
    except ImportError:
        raise BackendUnavailableError(
            "driver inspection needs pefile: install the driver extra: pip install -e '.[driver]'"
        ) from None
    return pefile


def _parse(data: bytes) -> tuple[Any, str | None]:
    """The parsed image, or None and why it is not a usable PE image."""
    pefile = _pefile()
    if len(data) < 64 or data[:2] != b"MZ":
        return None, "not a PE image (no MZ header)"
    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError as e:
        return None, f"not a valid PE image ({e.value})"
    end = max((s.PointerToRawData + s.SizeOfRawData for s in pe.sections), default=0)
    if pe.FILE_HEADER.PointerToSymbolTable:  # an unstripped image: COFF symbols come last
        end = max(
            end, pe.FILE_HEADER.PointerToSymbolTable + 18 * pe.FILE_HEADER.NumberOfSymbols + 4
        )
    if end > len(data):
        return None, f"truncated: its sections need {end} bytes, the file has {len(data)}"
    try:
        pe.parse_data_directories(
            directories=[
                pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
                pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"],
                pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_BASERELOC"],
            ]
        )
    except Exception as e:  # pefile raises assorted errors on corrupt directories
        return None, f"corrupt data directories ({e})"
    return pe, None


def _imports(pe: Any) -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for entry in getattr(pe, "DIRECTORY_ENTRY_IMPORT", ()):
        names = table.setdefault(entry.dll.decode("ascii", "replace").lower(), [])
        names.extend(
            imp.name.decode("ascii", "replace") if imp.name else f"#{imp.ordinal}"
            for imp in entry.imports
        )
    return {dll: tuple(sorted(names)) for dll, names in table.items()}


def _exports(pe: Any) -> tuple[dict[str, int], str]:
    """Export name -> RVA, and the module name the export directory carries."""
    directory = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    if directory is None:
        return {}, ""
    names = {s.name.decode("ascii", "replace"): s.address for s in directory.symbols if s.name}
    module = directory.name.decode("ascii", "replace") if directory.name else ""
    return names, module


def _is_user_dll(name: str) -> bool:
    return name in USER_DLLS or name.startswith(("api-ms-win-", "ext-ms-win-"))


def _proxy(data: bytes, imported: set[str]) -> tuple[set[str], set[str]]:
    """DriverProxy routines the image imports, and those it names in UTF-16 (the form
    MmGetSystemRoutineAddress takes) for looking up at run time."""
    by_name = {r for r in PROXY_ROUTINES if r.encode("utf-16-le") + b"\0\0" in data}
    return set(PROXY_ROUTINES & imported), by_name


def _proxy_finding(static: set[str], by_name: set[str]) -> Finding:
    if not static and not by_name:
        return Finding(
            "DriverProxy", True, "not used: it neither imports nor names any DriverProxy routine"
        )
    parts = [f"imports {', '.join(sorted(static))}"] if static else []
    if by_name - static:
        parts.append(f"looks up {', '.join(sorted(by_name - static))} at run time")
    return Finding("DriverProxy", True, "; ".join(parts))


def _driver_checks(pe: Any, imports: dict[str, tuple[str, ...]]) -> list[Finding]:
    """What every x64 kernel driver needs."""
    found: list[Finding] = []
    machine = pe.FILE_HEADER.Machine
    found.append(
        Finding(
            "machine",
            machine == _MACHINE_AMD64,
            "AMD64" if machine == _MACHINE_AMD64 else f"0x{machine:04x}, not AMD64",
        )
    )
    user = sorted(d for d in imports if _is_user_dll(d))
    if not imports:
        found.append(
            Finding(
                "kernel imports",
                False,
                "imports nothing: a driver links at least ntoskrnl.exe to call the kernel",
            )
        )
    else:
        found.append(
            Finding(
                "kernel imports",
                not user,
                ", ".join(sorted(imports))
                if not user
                else f"imports user-mode {', '.join(user)}: the kernel cannot bind these",
            )
        )
    found.append(_relocations(pe))
    checksum, computed = pe.OPTIONAL_HEADER.CheckSum, pe.generate_checksum()
    found.append(
        Finding(
            "checksum",
            checksum == computed,
            f"0x{checksum:08x}"
            if checksum == computed
            else f"0x{checksum:08x} is wrong (0x{computed:08x} by the bytes): they "
            "changed after the build (drivers/tools/pe-checksum sets it)",
        )
    )
    return found


def _relocations(pe: Any) -> Finding:
    """The kernel loads a driver at any base: it must not have had its relocations
    stripped. An image whose code holds no absolute address needs none at all."""
    if pe.FILE_HEADER.Characteristics & _RELOCS_STRIPPED:
        return Finding(
            "relocations",
            False,
            "stripped: the kernel cannot load it at another "
            "base (link with --enable-reloc-section)",
        )
    if getattr(pe, "DIRECTORY_ENTRY_BASERELOC", None):
        return Finding("relocations", True, "present")
    return Finding("relocations", True, "none needed (no absolute addresses; not stripped)")


def _version(pe: Any, exports: dict[str, int], static: set[str]) -> tuple[int, Finding]:
    """The image version from its HspImageVersion export, cross-checked with its imports
    where it imports DriverProxy routines statically."""
    version = int(pe.get_dword_at_rva(exports[VERSION_EXPORT]))
    by_imports = [v for v, marker in VERSION_MARKERS.items() if marker in static]
    if not by_imports:
        return version, Finding(
            "version",
            True,
            f"{version} (from {VERSION_EXPORT}; no static DriverProxy import to compare)",
        )
    if by_imports != [version]:
        seen = by_imports[0] if len(by_imports) == 1 else "neither"
        return version, Finding(
            "version",
            False,
            f"{VERSION_EXPORT} says {version} but the DriverProxy imports look like {seen}",
        )
    return version, Finding("version", True, f"{version} (export and imports agree)")


def _hsprobe_checks(
    pe: Any,
    imports: dict[str, tuple[str, ...]],
    exports: dict[str, int],
    module: str,
    referenced: tuple[set[str], set[str]],
) -> tuple[int, list[Finding]]:
    """What the harness relies on in its own images."""
    static, by_name = referenced
    found: list[Finding] = []
    foreign = sorted(set(imports) - HSPROBE_DLLS)
    found.append(
        Finding(
            "hsprobe imports",
            not foreign,
            "ntoskrnl.exe/hal.dll only"
            if not foreign
            else f"also imports {', '.join(foreign)}: not the hsprobe build",
        )
    )
    missing_exports = [n for n in REQUIRED_EXPORTS if n not in exports]
    found.append(
        Finding(
            "routine exports",
            not missing_exports,
            ", ".join(REQUIRED_EXPORTS)
            if not missing_exports
            else f"missing {', '.join(missing_exports)}",
        )
    )
    version, finding = _version(pe, exports, static)
    found.append(finding)
    if version in PROXY_IMPORTS:
        missing = sorted(PROXY_IMPORTS[version] - static - by_name)
        found.append(
            Finding(
                "DriverProxy routines",
                not missing,
                "all present (imported or named)"
                if not missing
                else f"neither imports nor names {', '.join(missing)}",
            )
        )
        expected = MODULES[version] + ".sys"
        found.append(
            Finding(
                "module name",
                module.lower() == expected,
                module
                if module.lower() == expected
                else f"export directory names {module!r}, expected {expected}",
            )
        )
    return version, found


def _manifest_finding(name: str, digest: str, version: int | None, manifest: Manifest) -> Finding:
    entry = manifest.entry(name)
    if entry is None:
        return Finding("manifest", False, f"{name} is not listed in build {manifest.build_id}")
    if entry.sha256 != digest:
        return Finding(
            "manifest",
            False,
            f"sha256 differs from build {manifest.build_id}: the file was rebuilt or altered since",
        )
    if version is not None and entry.version != version:
        return Finding("manifest", False, f"manifest says version {entry.version}")
    return Finding("manifest", True, f"sha256 matches build {manifest.build_id}")


def _read(path: Path) -> tuple[bytes | None, int]:
    """(the whole file, its size), or (None, size) for a file too large to be an image;
    InputError for anything that is not a readable regular file."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{_file_kind(info.st_mode)}, not a driver image file", path=str(path))
        with path.open("rb") as f:
            if info.st_size > MAX_IMAGE:
                return None, info.st_size
            data = f.read(MAX_IMAGE + 1)  # bounded even if the file grows meanwhile
    except FileNotFoundError:
        raise InputError(
            "no such file; build the images with `make -C drivers`", path=str(path)
        ) from None
    except OSError as e:
        raise InputError(f"cannot read it ({e.strerror})", path=str(path)) from None
    if len(data) > MAX_IMAGE:
        return None, len(data)
    return data, len(data)


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return f"is {name}"
    return "is not a regular file"


def _too_large(path: Path, size: int) -> Inspection:
    with path.open("rb") as f:
        head = f.read(2)
    why = (
        "not a PE image (no MZ header)"
        if head != b"MZ"
        else f"{size} bytes: larger than any driver image this harness reads ({MAX_IMAGE})"
    )
    return Inspection(path=str(path), size=size, verdict=Verdict.INVALID, summary=why)


def inspect_image(path: Path, manifest: Manifest | None = None) -> Inspection:
    """Inspect one file; only a path that is not a readable regular file raises
    (InputError)."""
    data, size = _read(path)
    if data is None:
        return _too_large(path, size)
    pe, problem = _parse(data)
    result = Inspection(
        path=str(path),
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
        verdict=Verdict.INVALID,
        summary=problem or "",
    )
    if problem is not None:
        return result
    subsystem = _SUBSYSTEMS.get(pe.OPTIONAL_HEADER.Subsystem, str(pe.OPTIONAL_HEADER.Subsystem))
    imports = _imports(pe)
    exports, module = _exports(pe)
    static, by_name = _proxy(data, {n for names in imports.values() for n in names})
    result = replace(
        result,
        subsystem=subsystem,
        imports=imports,
        exports=tuple(sorted(exports)),
        driverproxy=tuple(sorted(static | by_name)),
    )
    if subsystem != "NATIVE":
        return replace(
            result,
            verdict=Verdict.NOT_DRIVER,
            summary=f"subsystem {subsystem} (a user-mode image), expected NATIVE",
        )
    if imports and all(_is_user_dll(d) for d in imports):
        return replace(
            result,
            verdict=Verdict.NOT_DRIVER,
            summary=f"a native user-mode program (imports {', '.join(imports)}), "
            "not a kernel driver",
        )
    findings = _driver_checks(pe, imports)
    findings.append(_proxy_finding(static, by_name))
    version = None
    if VERSION_EXPORT in exports:
        version, more = _hsprobe_checks(pe, imports, exports, module, (static, by_name))
        findings += more
    if manifest is not None:
        findings.append(_manifest_finding(path.name, result.sha256 or "", version, manifest))
    return _judged(result, version, findings, static | by_name)


def _judged(
    result: Inspection, version: int | None, findings: list[Finding], proxy: set[str]
) -> Inspection:
    failed = [f.check for f in findings if not f.ok]
    if version is not None:
        kind, name = "hsprobe", f"{MODULES.get(version, 'hsprobe')} version {version}"
    else:
        kind = "driver"
        name = "a kernel driver " + (
            "using DriverProxy" if proxy else "that does not use DriverProxy"
        )
    summary = (
        f"{name}: every check passed" if not failed else f"{name}: failed " + ", ".join(failed)
    )
    return replace(
        result,
        kind=kind,
        version=version,
        findings=tuple(findings),
        verdict=Verdict.FAILED if failed else Verdict.OK,
        summary=summary,
    )
