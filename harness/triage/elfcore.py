"""QEMU's ELF guest-memory dump (dump-guest-memory / `virsh dump --memory-only`), read with
pyelftools: one NT_PRSTATUS note per vCPU (the registers, elf_prstatus.pr_reg from +0x70),
QEMU's own note per vCPU (QEMUCPUState: adds CR0-CR4 and the segment bases), VMCOREINFO
when the guest published it, and the memory segments. The oops text is on the console, not
here: this adds what the console cannot say (every vCPU's state) and checks the dump whole.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import msgspec

from harness.errors import BackendUnavailableError
from harness.triage.model import Unanalysable

__all__ = ["ElfCore", "read_elf"]

# elf_prstatus.pr_reg on x86-64: struct user_regs_struct
_PR_REG = 0x70
_REG_NAMES = (
    "r15",
    "r14",
    "r13",
    "r12",
    "rbp",
    "rbx",
    "r11",
    "r10",
    "r9",
    "r8",
    "rax",
    "rcx",
    "rdx",
    "rsi",
    "rdi",
    "orig_rax",
    "rip",
    "cs",
    "eflags",
    "rsp",
    "ss",
    "fs_base",
    "gs_base",
    "ds",
    "es",
    "fs",
    "gs",
)
# QEMUCPUState: version, size, 18 registers, 10 segments of 24 bytes, then cr[5]
_QEMU_CR = 8 + 18 * 8 + 10 * 24


class ElfCore(msgspec.Struct, frozen=True, kw_only=True):
    cpus: tuple[dict[str, int], ...]
    """Registers per vCPU (rip, rsp, cr3 when QEMU's note is there...)."""
    vmcoreinfo: dict[str, str] = {}
    memory: int = 0
    """Bytes of guest memory the segments describe."""
    truncated: str | None = None

    def details(self) -> dict[str, str]:
        out = {"elf_cpus": str(len(self.cpus)), "elf_memory": f"{self.memory >> 20} MiB"}
        for i, regs in enumerate(self.cpus):
            out[f"cpu{i}"] = " ".join(
                f"{k}={regs[k]:#x}" for k in ("rip", "rsp", "cr3") if k in regs
            )
        if "OSRELEASE" in self.vmcoreinfo:
            out["kernel"] = self.vmcoreinfo["OSRELEASE"]
        return out


def _elffile(stream: Any) -> Any:
    try:
        from elftools.elf.elffile import ELFFile
    except ImportError:
        raise BackendUnavailableError(
            "reading ELF dumps needs pyelftools: pip install 'hotswap-harness[triage]'"
        ) from None
    return ELFFile(stream)


def _damaged() -> tuple[type[Exception], ...]:
    """What pyelftools raises on a damaged file (its own errors and construct's leftovers)."""
    from elftools.common.exceptions import ELFError
    from elftools.construct.core import ConstructError

    return (
        ELFError,
        ConstructError,
        struct.error,
        ValueError,
        KeyError,
        IndexError,
        AssertionError,
        UnicodeDecodeError,
        OverflowError,
        EOFError,
        OSError,
    )


def _notes(elf: Any) -> tuple[list[dict[str, int]], dict[str, str]]:
    cpus: list[dict[str, int]] = []
    qemu: list[bytes] = []
    info: dict[str, str] = {}
    for segment in elf.iter_segments():
        if segment["p_type"] != "PT_NOTE":
            continue
        for note in segment.iter_notes():
            desc = note["n_desc"]
            if note["n_name"] == "CORE" and note["n_type"] == "NT_PRSTATUS":
                regs = struct.unpack_from(f"<{len(_REG_NAMES)}Q", desc, _PR_REG)
                cpus.append(dict(zip(_REG_NAMES, regs, strict=True)))
            elif note["n_name"] == "QEMU" and len(desc) >= _QEMU_CR + 40:
                qemu.append(desc)
            elif note["n_name"] == "VMCOREINFO":
                text = desc if isinstance(desc, str) else desc.decode("ascii", "replace")
                for line in text.splitlines():
                    key, _, value = line.partition("=")
                    if value:
                        info[key] = value
    for state, desc in zip(cpus, qemu, strict=False):
        for i, cr in enumerate(struct.unpack_from("<5Q", desc, _QEMU_CR)):
            state[f"cr{i}"] = cr
    return cpus, info


def read_elf(path: Path) -> ElfCore:
    """The vCPU states and extent of a QEMU ELF core of an x86-64 guest."""
    try:
        stream = path.open("rb")
    except OSError as e:
        raise Unanalysable(f"cannot read the ELF dump: {e.strerror}") from None
    with stream:
        try:
            elf = _elffile(stream)
        except _damaged() as e:
            raise Unanalysable(f"not a readable ELF file: {e}") from None
        if elf["e_type"] != "ET_CORE":
            raise Unanalysable(f"an ELF {elf['e_type']} file, not a core dump")
        if elf["e_machine"] != "EM_X86_64":
            raise Unanalysable(
                f"a dump of another architecture ({elf['e_machine']}): only "
                "x86-64 guests are analysed"
            )
        size = path.stat().st_size
        try:
            cpus, info = _notes(elf)
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            end = max((s["p_offset"] + s["p_filesz"] for s in loads), default=0)
            memory = sum(s["p_memsz"] for s in loads)
        except _damaged() as e:
            raise Unanalysable(f"the ELF dump's headers or notes are damaged: {e}") from None
    if not cpus:
        raise Unanalysable("the ELF dump has no NT_PRSTATUS note: no vCPU state in it")
    truncated = (
        f"truncated ELF dump: {size} bytes of the {end} its segments describe"
        if size < end
        else None
    )
    return ElfCore(cpus=tuple(cpus), vmcoreinfo=info, truncated=truncated, memory=memory)
