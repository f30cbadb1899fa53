"""The Linux test guest under plain qemu-system-x86_64 with a gdbstub, for debugger tests and
the benchmark: boot, wait for the serial ready marker, read the KSYM lines, always kill.
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_KSYM = re.compile(r"^KSYM (\S+) ([0-9a-f]+)\s*$", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def guest_dir() -> Path:
    out = subprocess.run(
        [str(ROOT / "vm/testguest/build")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


class QemuGuest:
    """A TCG guest with `-gdb tcp:127.0.0.1:PORT`; a context manager that always kills it."""

    def __init__(self, directory: Path, ready_timeout: float = 180.0) -> None:
        self.dir = directory
        self.tmp = tempfile.TemporaryDirectory(prefix="hsdbg-")
        self.serial = Path(self.tmp.name) / "serial.log"
        self.port = free_port()
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.ksyms: dict[str, int] = {}

    def __enter__(self) -> QemuGuest:
        cmdline = (self.dir / "cmdline").read_text().strip()
        self.proc = subprocess.Popen(
            [
                "qemu-system-x86_64",
                "-accel",
                "tcg",
                "-m",
                "256",
                "-smp",
                "1",
                "-display",
                "none",
                "-monitor",
                "none",
                "-nodefaults",
                "-no-reboot",
                "-kernel",
                str(self.dir / "vmlinuz"),
                "-initrd",
                str(self.dir / "initrd.img"),
                "-append",
                cmdline,
                "-serial",
                f"file:{self.serial}",
                "-gdb",
                f"tcp:127.0.0.1:{self.port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"qemu exited with {self.proc.returncode}: {err[-500:]}")
            text = self.serial.read_text(errors="replace") if self.serial.exists() else ""
            if "HSGUEST READY" in text:
                self.ksyms = {name: int(addr, 16) for name, addr in _KSYM.findall(text)}
                return
            time.sleep(0.2)  # polling the serial log for the marker, bounded by the deadline
        raise TimeoutError(f"guest not READY within {self.ready_timeout} s: {self.serial}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.tmp.cleanup()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def kernel_elf(vmlinuz: Path, out: Path) -> Path:
    """Extract the ELF vmlinux from a bzImage: the payload named by the setup header
    (payload_offset/payload_length at 0x248, after the real-mode setup sectors) decompressed
    with the matching tool, the way scripts/extract-vmlinux does by magic.
    """
    data = vmlinuz.read_bytes()
    start = (data[0x1F1] + 1) * 512
    offset, length = struct.unpack_from("<II", data, 0x248)
    payload = data[start + offset : start + offset + length]
    tools = {
        b"\x02\x21\x4c\x18": ["lz4", "-dc"],
        b"\x28\xb5\x2f\xfd": ["zstd", "-dc"],
        b"\xfd7zXZ": ["xz", "-dc"],
        b"\x1f\x8b": ["gzip", "-dc"],
    }
    tool = next((t for magic, t in tools.items() if payload.startswith(magic)), None)
    if tool is None:
        raise RuntimeError(f"unknown kernel compression {payload[:4].hex()}")
    # these tools complain about the 4-byte size trailer after the stream; the ELF is whole
    result = subprocess.run(tool, input=payload, capture_output=True)
    if not result.stdout.startswith(b"\x7fELF"):
        raise RuntimeError(f"{tool[0]} did not produce an ELF: {result.stderr[-300:]!r}")
    out.write_bytes(result.stdout)
    return out


def elf_sections(path: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (virtual address, file offset, size) of a 64-bit ELF's sections."""
    elf = path.read_bytes()
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    entsize, count, strndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", elf, shoff + i * entsize) for i in range(count)]
    names_at = headers[strndx][4]
    sections = {}
    for name, _type, _flags, addr, offset, size in headers:
        start = names_at + name
        sections[elf[start : elf.index(b"\0", start)].decode()] = (addr, offset, size)
    return sections
