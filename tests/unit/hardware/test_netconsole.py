"""The network console: a real loopback TCP console server, read into console.log and
waited on like a VM's console, across the server hanging up."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from harness.errors import InfrastructureError
from harness.hardware.netconsole import TcpPump
from harness.vm.console import ConsoleLog
from harness.vm.gdbstub import free_port


class ConsoleServer:
    """Accepts clients one after another and sends each the next chunk, then hangs up."""

    def __init__(self, *chunks: bytes) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.chunks = list(chunks)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.chunks:
            conn, _ = self.sock.accept()
            with conn:
                conn.sendall(self.chunks.pop(0))


def test_the_console_is_captured_across_a_hang_up_and_waited_on(tmp_path: Path) -> None:
    server = ConsoleServer(b"BIOS\r\nbooting\r\n", b"HSGUEST READY\r\n")
    log = ConsoleLog(tmp_path / "console.log", "rack1-07")
    pump = TcpPump("rack1-07", "127.0.0.1", server.port, log.path)
    mark = log.mark()
    pump.start()
    try:
        pump.wait_connected(5)
        found = log.wait_for(r"^HSGUEST READY$", 10, since=mark)
        assert found[0] == "HSGUEST READY"
        assert log.text(mark) == "BIOS\nbooting\nHSGUEST READY\n"
    finally:
        pump.stop()


def test_a_console_nobody_listens_on_is_named_with_the_reason(tmp_path: Path) -> None:
    port = free_port()
    pump = TcpPump("rack1-07", "127.0.0.1", port, tmp_path / "console.log")
    pump.start()
    try:
        with pytest.raises(
            InfrastructureError,
            match=(
                rf"rack1-07: the console at tcp://127.0.0.1:{port} could not be reached for "
                r"0.5 s after power-on \(Connection refused\)"
            ),
        ):
            pump.wait_connected(0.5)
    finally:
        pump.stop()
