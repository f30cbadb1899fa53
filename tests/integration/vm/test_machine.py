"""A booted test guest: its console, both snapshot paths, dumps, and the gdbstub."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from harness.errors import InfrastructureError
from harness.vm import Dumps, Gdbstub, Machine, Snapshots
from harness.vm.libvirt import LibvirtPool
from tests.integration.vm.conftest import MakeConfig

pytestmark = pytest.mark.integration
TICK = r"^TICK (\d+)$"


def next_tick(machine: Any, timeout: float = 120) -> int:
    machine.console.mark()
    return int(machine.console.wait_for(TICK, timeout)[1])


def test_boots_to_the_marker_after_printing_its_symbols(booted: Any) -> None:
    assert all(isinstance(booted, p) for p in (Machine, Snapshots, Dumps, Gdbstub))
    assert booted.is_running()
    text = booted.console.text()
    assert "KSYM _stext ffffffff81000000" in text  # nokaslr
    assert text.index("KSYM") < text.index("HSGUEST READY")


@pytest.mark.parametrize("path", ["hmp", "libvirt"])
def test_revert_brings_the_earlier_tick_back(booted: Any, path: str) -> None:
    saved_at = next_tick(booted)
    booted.snapshot(f"ready-{path}", path=path)
    assert f"ready-{path}" in booted.snapshots()
    booted.console.mark()
    booted.console.wait_for(rf"^TICK {saved_at + 3}$", 120)
    booted.revert(f"ready-{path}", path=path)
    after = next_tick(booted)
    # the guest had printed saved_at + 3; after the revert it counts on from the snapshot
    assert saved_at + 1 <= after <= saved_at + 2
    assert booted.is_running()


def test_revert_to_an_unknown_snapshot_is_an_infrastructure_error(booted: Any) -> None:
    with pytest.raises(InfrastructureError, match=rf"{booted.name}: no snapshot named 'nope'"):
        booted.revert("nope", path="hmp")
    with pytest.raises(InfrastructureError, match=rf"{booted.name}: revert to snapshot 'nope'"):
        booted.revert("nope", path="libvirt")


def test_auto_dump_falls_back_to_elf_on_a_linux_guest(booted: Any, tmp_path: Path) -> None:
    dump = tmp_path / "guest.core"
    assert booted.dump(dump) == "elf"  # win-dmp tried first: QEMU finds no Windows note
    assert dump.read_bytes()[:4] == b"\x7fELF"
    assert dump.stat().st_size > 200 * 2**20  # all of the guest's 256 MiB


def test_win_dmp_on_a_linux_guest_says_why_it_failed(booted: Any, tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match=r"win-dmp: .*vmcoreinfo"):
        booted.dump(tmp_path / "guest.dmp", "win-dmp")
    assert not (tmp_path / "guest.dmp").exists()


def rsp_stop_reason(address: tuple[str, int]) -> bytes:
    """Ask a GDB remote stub why the target stopped (the `?` packet); its raw reply."""
    with socket.create_connection(address, timeout=30) as s:
        s.sendall(b"+$?#3f")
        reply = b""
        while b"#" not in reply:
            chunk = s.recv(4096)
            assert chunk, "the stub closed the connection"
            reply += chunk
        return reply


def test_gdbstub_opens_on_a_free_loopback_port_of_a_running_guest(booted: Any) -> None:
    host, port = booted.gdbstub()
    assert host == "127.0.0.1" and port > 1024
    assert booted.gdbstub() == (host, port)  # idempotent
    assert b"$T" in rsp_stop_reason((host, port)) or b"$S" in rsp_stop_reason((host, port))


def test_gdbstub_at_start_is_listening_as_soon_as_qemu_runs(make_config: MakeConfig) -> None:
    with LibvirtPool(make_config("g", gdbstub_at_start=True)) as pool:
        machine = pool.lease()
        for _ in range(2):  # each start picks a port free at that moment
            machine.destroy()
            machine.start()
            reply = rsp_stop_reason(machine.gdbstub())
            assert b"$T" in reply or b"$S" in reply
