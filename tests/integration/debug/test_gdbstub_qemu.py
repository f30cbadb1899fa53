"""GdbstubDebugger against a real QEMU 7.2 gdbstub and the Linux test guest."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.debug import open_debugger
from harness.debug.gdbstub import GdbstubDebugger
from harness.errors import DebuggerError, HarnessTimeoutError

from .guest import QemuGuest, elf_sections

pytestmark = pytest.mark.integration


def test_hardware_breakpoint_hit_repeatedly_with_cr8_and_gs_base(qemu: QemuGuest) -> None:
    address = qemu.ksyms["do_nanosleep"]  # busybox `sleep 1` reaches it once a second
    debugger = open_debugger(f"gdbstub:port={qemu.port},timeout=30")
    assert isinstance(debugger, GdbstubDebugger)
    try:
        bp = debugger.break_at(f"{address:#x}")
        seen = []
        for _ in range(3):
            stop = debugger.wait_break(timeout=60)
            assert (stop.breakpoint, stop.address) == (bp, address)
            cr8, gs_base = debugger.register("cr8"), debugger.register("gs_base")
            assert debugger.irql() == cr8 & 0xF
            assert gs_base >> 47 == 0x1FFFF  # a kernel per-CPU base in the upper half
            seen.append((stop.address, gs_base))
        assert len(seen) == 3 and len({g for _, g in seen}) == 1  # one vCPU, one per-CPU area
        debugger.clear(bp)
        with pytest.raises(HarnessTimeoutError):
            debugger.wait_break(timeout=2.5)  # cleared: nothing stops the guest any more
    finally:
        debugger.detach()
    debugger.detach()  # idempotent


def test_memory_matches_the_kernel_image(qemu: QemuGuest, vmlinux: Path) -> None:
    # .text is patched at boot (alternatives, ftrace nops), so compare read-only data: the
    # first 64 KiB of .rodata (above QEMU's 2048-byte packet limit) and the build-id notes.
    sections = elf_sections(vmlinux)
    image = vmlinux.read_bytes()
    with GdbstubDebugger("127.0.0.1", qemu.port, timeout=30) as debugger:
        for name, size in ((".rodata", 65536), (".notes", None)):
            address, offset, length = sections[name]
            size = size or length
            assert debugger.read(address, size) == image[offset : offset + size], name
        assert debugger.read(qemu.ksyms["_stext"], 1) == image[sections[".text"][1] :][:1]


def test_write_then_read_back_restores(qemu: QemuGuest) -> None:
    with GdbstubDebugger("127.0.0.1", qemu.port, timeout=30) as debugger:
        address = qemu.ksyms["_stext"] + 0x800000 - 4096  # inside .text, not executed here
        before = debugger.read(address, 3000)
        debugger.write(address, bytes(range(256)) * 11 + b"$#}*")
        assert debugger.read(address, 2820) == bytes(range(256)) * 11 + b"$#}*"
        debugger.write(address, before)
        assert debugger.read(address, 3000) == before


def test_guest_keeps_running_after_detach(qemu: QemuGuest) -> None:
    def ticks() -> int:
        return qemu.serial.read_text(errors="replace").count("TICK")

    with GdbstubDebugger("127.0.0.1", qemu.port, timeout=30) as debugger:
        stopped_at = ticks()
        debugger.read(qemu.ksyms["_stext"], 8)
        assert ticks() == stopped_at
    deadline = time.monotonic() + 60
    while ticks() <= stopped_at + 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ticks() > stopped_at + 1


def test_unreadable_memory_is_a_clear_error(qemu: QemuGuest) -> None:
    with (
        GdbstubDebugger("127.0.0.1", qemu.port, timeout=30) as debugger,
        pytest.raises(DebuggerError, match="cannot read"),
    ):
        debugger.read(0x1000, 16)


def test_a_second_client_is_told_why_quickly(qemu: QemuGuest) -> None:
    # QEMU serves one debugger at a time: the second connection gets no answer at all
    with GdbstubDebugger("127.0.0.1", qemu.port, timeout=30):
        started = time.monotonic()
        with pytest.raises(
            DebuggerError,
            match=r"does not look like a gdbstub.*another "
            "debugger is attached",
        ):
            GdbstubDebugger("127.0.0.1", qemu.port, timeout=30, connect_timeout=2)
        assert time.monotonic() - started < 10
