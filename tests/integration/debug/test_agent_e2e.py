"""The whole DbgEng-path plumbing end to end: PykdDebugger -> real sshd -> agent zipapp ->
gdbstub engine -> QEMU. Only the engine differs from a Windows debugger host.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from harness.debug import open_debugger
from harness.debug.gdbstub import GdbstubDebugger
from harness.debug.pykd import PykdDebugger
from harness.errors import DebuggerError

from .guest import QemuGuest, elf_sections
from .sshd import Sshd

pytestmark = pytest.mark.integration


def spec(sshd: Sshd, qemu: QemuGuest) -> str:
    return (
        f"pykd:host=127.0.0.1,port={sshd.port},user={sshd.user},identity={sshd.client_key},"
        f"known_hosts={sshd.known_hosts},shell=sh,python={sys.executable},dir={sshd.dir},"
        f"engine=gdbstub,kd=127.0.0.1:{qemu.port},timeout=60"
    )


def test_breakpoints_irql_and_memory_over_ssh(sshd: Sshd, qemu: QemuGuest, vmlinux: Path) -> None:
    debugger = open_debugger(spec(sshd, qemu))
    assert isinstance(debugger, PykdDebugger)
    try:
        address = qemu.ksyms["do_nanosleep"]
        bp = debugger.break_at(f"{address:#x}")
        for _ in range(2):
            stop = debugger.wait_break(timeout=60)
            assert (stop.breakpoint, stop.address) == (bp, address)
            assert 0 <= debugger.irql() <= 15
        rodata, offset, _ = elf_sections(vmlinux)[".rodata"]
        image = vmlinux.read_bytes()[offset : offset + 8192]
        assert debugger.read(rodata, 8192) == image
        assert debugger.command("qC").startswith("QC")
    finally:
        debugger.detach()
    assert list(sshd.dir.glob("hsagent-*.pyz"))  # shipped over SFTP, verified


def test_agent_killed_mid_wait_is_a_clear_error(sshd: Sshd, qemu: QemuGuest) -> None:
    debugger = open_debugger(spec(sshd, qemu))
    assert isinstance(debugger, PykdDebugger)
    try:
        debugger.break_at("0xffffffff81000000")  # _stext: never executed again
        os.kill(debugger.client.ready["pid"], signal.SIGKILL)  # the agent on the "host"
        started = time.monotonic()
        with pytest.raises(DebuggerError, match=r"died|failed"):
            debugger.wait_break(timeout=120)
        assert time.monotonic() - started < 30
    finally:
        debugger.client.close()
    # the dead engine's connection is gone: the stub takes a new client
    with GdbstubDebugger("127.0.0.1", qemu.port, timeout=30) as gdb:
        assert len(gdb.read(qemu.ksyms["_stext"], 1)) == 1
