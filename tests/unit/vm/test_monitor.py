"""What the monitor and snapshot modules read from QEMU's text output (golden strings
captured from QEMU 7.2 through libvirt)."""

from __future__ import annotations

import socket

import pytest

from harness.errors import ConfigError
from harness.vm.gdbstub import check_free, free_port
from harness.vm.monitor import _FAILURE
from harness.vm.snapshot import parse_snapshot_table

INFO_SNAPSHOTS = (
    "List of snapshots present on all disks:\r\n"
    "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\r\n"
    "--        a                0.978 MiB 2026-11-21 19:54:40 00:00:00.018           \r\n"
    "--        b-1.x            1.15 MiB 2026-11-21 19:54:40 00:00:00.051           \r\n"
)


def test_snapshot_table_lists_tags() -> None:
    assert parse_snapshot_table(INFO_SNAPSHOTS) == ["a", "b-1.x"]
    assert parse_snapshot_table("There is no snapshot available.\r\n") == []


@pytest.mark.parametrize(
    ("output", "failed"),
    [
        ("", False),
        (INFO_SNAPSHOTS, False),
        ("Error: Snapshot 'nope' does not exist in one or more devices\r\n", True),
        (
            "Failed to bind socket: Address already in use\r\n"
            "Could not open gdbserver on device 'tcp:127.0.0.1:1'\r\n",
            True,
        ),
        ("unknown command: 'savevmm'\r\n", True),
    ],
)
def test_hmp_failure_text_is_recognised(output: str, failed: bool) -> None:
    assert bool(_FAILURE.search(output)) is failed


def test_free_port_is_bindable_and_a_busy_one_is_refused() -> None:
    port = free_port()
    check_free(port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{taken} is busy"):
            check_free(taken)
