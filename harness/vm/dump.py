"""Host-side memory dumps through libvirt (QEMU's dump-guest-memory): WinDbg's win-dmp when
the guest supports it (Windows with vmcoreinfo on and the FwCfg driver loaded), else ELF,
which QEMU's elf2dmp converts for WinDbg. Works on a hung guest: nothing runs inside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import ConfigError, InfrastructureError
from harness.vm.connection import import_libvirt

__all__ = ["FORMATS", "dump"]

FORMATS = ("auto", "win-dmp", "elf")


def _write(domain: Any, path: Path, fmt: str) -> None:
    libvirt = import_libvirt()
    code = {
        "win-dmp": libvirt.VIR_DOMAIN_CORE_DUMP_FORMAT_WIN_DMP,
        # a memory-only dump in libvirt's "raw" format is an ELF core
        "elf": libvirt.VIR_DOMAIN_CORE_DUMP_FORMAT_RAW,
    }[fmt]
    domain.coreDumpWithFormat(str(path), code, libvirt.VIR_DUMP_MEMORY_ONLY)


def dump(domain: Any, path: Path, fmt: str, machine: str) -> str:
    """Dump `domain`'s memory to `path` in `fmt`; returns the format written."""
    if fmt not in FORMATS:
        raise ConfigError(f"dump format {fmt!r}: use one of {', '.join(FORMATS)}")
    libvirt = import_libvirt()
    tried = ["win-dmp", "elf"] if fmt == "auto" else [fmt]
    errors = []
    for each in tried:
        try:
            _write(domain, path, each)
            return each
        except libvirt.libvirtError as e:
            # QEMU refuses win-dmp without a Windows vmcoreinfo note: fall back to ELF
            errors.append(f"{each}: {e.get_error_message()}")
            path.unlink(missing_ok=True)
    raise InfrastructureError(f"{machine}: memory dump to {path} failed: {'; '.join(errors)}")
