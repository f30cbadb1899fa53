"""Static inspection of hsprobe images with pefile: is this file the driver it claims to be?

Checks what a Windows loader and the harness rely on before anything is copied to a guest:
x64, NATIVE subsystem, imports from ntoskrnl.exe / HAL only, the DriverProxy imports of its
version, the routine exports a debugger breaks on, relocations, the PE checksum, and the
sha256 the build manifest recorded. A file that is not a PE image, is truncated, or is not
a kernel driver gets a verdict saying so, never an exception from pefile.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import msgspec
from msgspec.structs import replace

from harness.actions import MODULES, ROUTINE_EXPORT
from harness.driver.artifact import Manifest
from harness.errors import BackendUnavailableError, InputError

__all__ = ["REQUIRED_EXPORTS", "Finding", "Inspection", "Verdict", "inspect_image"]

#: names both images export: the routine per endpoint, the phase callback, the version word
REQUIRED_EXPORTS: Final = (ROUTINE_EXPORT, "HspWorkerRoutineEp2", "HspPhaseCallback",
                           "HspImageVersion")
VERSION_EXPORT: Final = "HspImageVersion"
KERNEL_DLLS: Final = frozenset({"ntoskrnl.exe", "hal.dll"})
#: DriverProxy imports each version needs; version 1 creates the extension, version 2 takes it
PROXY_IMPORTS: Final = {
    1: frozenset({"IoGetDriverProxyFeatures", "IoCreateDriverProxyExtension",
                  "IoRegisterDriverProxyEndpoints", "IoGetDriverProxyEndpointWrapper",
                  "IoDriverProxyCreateHotSwappableWorkerThread"}),
    2: frozenset({"IoGetDriverProxyExtensionFromDriverObject",
                  "IoRegisterDriverProxyEndpoints"}),
}
#: the import only that version has: version 1 creates the extension, version 2 looks it up
VERSION_MARKERS: Final = {1: "IoCreateDriverProxyExtension",
                          2: "IoGetDriverProxyExtensionFromDriverObject"}
#: how hsprobe reaches the DriverProxy routines instead: by name at run time, so that it loads
#: on kernels that lack them (drivers/README.md)
RESOLVER: Final = "MmGetSystemRoutineAddress"
_MACHINE_AMD64: Final = 0x8664
_SUBSYSTEMS: Final = {1: "NATIVE", 2: "WINDOWS_GUI", 3: "WINDOWS_CUI", 10: "EFI_APPLICATION"}


class Verdict(StrEnum):
    OK = "ok"
    FAILED = "failed"  # an hsprobe image that fails a check
    NOT_DRIVER = "not a driver"  # a valid PE image, but not a kernel driver
    INVALID = "invalid"  # not a PE image, or truncated


class Finding(msgspec.Struct, frozen=True):
    """One check: its name, whether it passed, and what was seen."""

    check: str
    ok: bool
    detail: str


class Inspection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What inspect_image() found; `summary` is the one-sentence verdict for people."""

    path: str
    size: int
    sha256: str
    verdict: Verdict
    summary: str
    version: int | None = None
    subsystem: str | None = None
    imports: dict[str, tuple[str, ...]] = {}
    exports: tuple[str, ...] = ()
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
        end = max(end, pe.FILE_HEADER.PointerToSymbolTable
                  + 18 * pe.FILE_HEADER.NumberOfSymbols + 4)
    if end > len(data):
        return None, f"truncated: its sections need {end} bytes, the file has {len(data)}"
    try:
        pe.parse_data_directories(directories=[
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"],
            pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_BASERELOC"],
        ])
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


def _resolved(pe: Any, imported: set[str]) -> set[str]:
    """DriverProxy routines the image looks up by name at run time: their UTF-16 names in the
    image, with the resolver imported."""
    if RESOLVER not in imported:
        return set()
    data = bytes(pe.__data__)
    names: set[str] = set().union(*PROXY_IMPORTS.values())
    return {name for name in names if name.encode("utf-16-le") in data}


def _version(pe: Any, exports: dict[str, int], imported: set[str],
             resolved: set[str]) -> tuple[int | None, Finding]:
    """The image version from its HspImageVersion export, cross-checked with its imports."""
    by_imports = [v for v, marker in VERSION_MARKERS.items() if marker in imported]
    if VERSION_EXPORT not in exports:
        return None, Finding("version", False, f"no {VERSION_EXPORT} export: not an hsprobe "
                                               "image, or built from other sources")
    version = int(pe.get_dword_at_rva(exports[VERSION_EXPORT]))
    if not by_imports and resolved:
        return version, Finding("version", True, f"{version} (from {VERSION_EXPORT}; DriverProxy "
                                                 "is resolved at run time)")
    if by_imports != [version]:
        seen = by_imports[0] if len(by_imports) == 1 else "neither"
        return version, Finding("version", False, f"{VERSION_EXPORT} says {version} but the "
                                                   f"DriverProxy imports look like {seen}")
    return version, Finding("version", True, f"{version} (export and imports agree)")


def _checks(pe: Any, imports: dict[str, tuple[str, ...]], exports: dict[str, int],
            module: str) -> tuple[int | None, list[Finding]]:
    imported = {name for names in imports.values() for name in names}
    found: list[Finding] = []
    machine = pe.FILE_HEADER.Machine
    found.append(Finding("machine", machine == _MACHINE_AMD64,
                         "AMD64" if machine == _MACHINE_AMD64 else f"0x{machine:04x}, not AMD64"))
    foreign = sorted(set(imports) - KERNEL_DLLS)
    found.append(Finding("kernel imports only", not foreign,
                         "ntoskrnl.exe/hal.dll" if not foreign
                         else f"also imports {', '.join(foreign)}: the kernel cannot bind these"))
    missing_exports = [n for n in REQUIRED_EXPORTS if n not in exports]
    found.append(Finding("routine exports", not missing_exports,
                         ", ".join(REQUIRED_EXPORTS) if not missing_exports
                         else f"missing {', '.join(missing_exports)}"))
    relocs = bool(getattr(pe, "DIRECTORY_ENTRY_BASERELOC", None))
    found.append(Finding("relocations", relocs, "present" if relocs else
                         "no .reloc: the kernel cannot load it at another base "
                         "(link with --enable-reloc-section)"))
    checksum = pe.OPTIONAL_HEADER.CheckSum
    found.append(Finding("checksum", checksum == pe.generate_checksum(),
                         f"0x{checksum:08x}" if checksum == pe.generate_checksum()
                         else f"0x{checksum:08x} is wrong: the bytes changed after the build "
                              "(drivers/tools/pe-checksum sets it)"))
    resolved = _resolved(pe, imported)
    version, finding = _version(pe, exports, imported, resolved)
    found.append(finding)
    if version in PROXY_IMPORTS:
        missing = sorted(PROXY_IMPORTS[version] - imported - resolved)
        how = "resolved at run time" if resolved else "present"
        found.append(Finding("DriverProxy imports", not missing, f"all {how}" if not missing
                             else f"missing {', '.join(missing)}"))
        expected = MODULES[version] + ".sys"
        found.append(Finding("module name", module.lower() == expected,
                             module if module.lower() == expected
                             else f"export directory names {module!r}, expected {expected}"))
    return version, found


def _manifest_finding(name: str, digest: str, version: int | None,
                      manifest: Manifest) -> Finding:
    entry = manifest.entry(name)
    if entry is None:
        return Finding("manifest", False, f"{name} is not listed in build {manifest.build_id}")
    if entry.sha256 != digest:
        return Finding("manifest", False, f"sha256 differs from build {manifest.build_id}: "
                                          "the file was rebuilt or altered since")
    if version is not None and entry.version != version:
        return Finding("manifest", False, f"manifest says version {entry.version}")
    return Finding("manifest", True, f"sha256 matches build {manifest.build_id}")


def inspect_image(path: Path, manifest: Manifest | None = None) -> Inspection:
    """Inspect one file; only an unreadable path raises (InputError)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read it ({e.strerror})", path=str(path)) from None
    pe, problem = _parse(data)
    result = Inspection(path=str(path), size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                        verdict=Verdict.INVALID, summary=problem or "")
    if problem is not None:
        return result
    subsystem = _SUBSYSTEMS.get(pe.OPTIONAL_HEADER.Subsystem, str(pe.OPTIONAL_HEADER.Subsystem))
    imports = _imports(pe)
    exports, module = _exports(pe)
    result = replace(result, subsystem=subsystem, imports=imports,
                     exports=tuple(sorted(exports)))
    if subsystem != "NATIVE":
        return replace(result, verdict=Verdict.NOT_DRIVER,
                       summary=f"subsystem {subsystem} (a user-mode image), expected NATIVE")
    version, findings = _checks(pe, imports, exports, module)
    if manifest is not None:
        findings.append(_manifest_finding(path.name, result.sha256, version, manifest))
    failed = [f.check for f in findings if not f.ok]
    name = MODULES.get(version or 0, "unknown image")
    summary = (f"{name} version {version}: every check passed" if not failed
               else f"{name}: failed {', '.join(failed)}")
    return replace(result, version=version, findings=tuple(findings),
                   verdict=Verdict.FAILED if failed else Verdict.OK, summary=summary)
