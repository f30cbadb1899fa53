"""A rack machine's console, captured to its console.log the way QEMU writes a VM's: a thread
reads a raw TCP console port (a console server, ser2net's `accepter: tcp,PORT`, a QEMU `tcp`
chardev) or IPMI serial-over-LAN, and appends what comes; `harness.vm.console.ConsoleLog`
reads the file with the same mark() / wait_for() as a VM's console.

A console server drops its client when the machine's serial line resets, and QEMU's port
closes while a VM is off, so the reader reconnects until it is stopped; the last reason it
could not (`connection refused`) is kept for the message when no connection came at all.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import InfrastructureError

__all__ = ["ConsolePump", "SolPump", "TcpPump"]

_RETRY = 0.2  # seconds between connection attempts: a boot prints its first line in ~1 s
_READ = 0.5  # seconds a read waits before looking at the stop flag


class ConsolePump:
    """Appends a console's bytes to `path` from a thread of its own, until stopped."""

    def __init__(self, name: str, where: str, path: Path) -> None:
        self.name, self.where, self.path = name, where, path
        self.connected = threading.Event()
        self.last_error = "no attempt yet"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, daemon=True, name=f"console {self.name}"
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def wait_connected(self, timeout: float) -> None:
        """Return once the console was reached; InfrastructureError after `timeout` s."""
        if not self.connected.wait(timeout):
            raise InfrastructureError(
                f"{self.name}: the console at {self.where} could not be reached for "
                f"{timeout:g} s after power-on ({self.last_error}); fix: check the console "
                "server and the machine's console field in the inventory"
            )

    def _run(self) -> None:
        with self.path.open("ab", buffering=0) as out:
            while not self._stop.is_set():
                try:
                    self._session(out.write)
                except OSError as e:
                    self.last_error = e.strerror or type(e).__name__
                self._stop.wait(_RETRY)

    def _session(self, write: Callable[[bytes], Any]) -> None:
        """Read one connection until it ends or the pump stops."""
        raise NotImplementedError


class TcpPump(ConsolePump):
    """A raw TCP console port."""

    def __init__(self, name: str, host: str, port: int, path: Path) -> None:
        super().__init__(name, f"tcp://{host}:{port}", path)
        self._address = (host, port)

    def _session(self, write: Callable[[bytes], Any]) -> None:
        with socket.create_connection(self._address, timeout=2.0) as conn:
            conn.settimeout(_READ)
            self.connected.set()
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    return  # the server hung up: reconnect
                write(data)


class SolPump(ConsolePump):
    """IPMI serial-over-LAN through pyghmi's console client. Not exercised by this project's
    tests: virtualbmc, the IPMI emulator here, offers no SOL (docs/hardware.md)."""

    def __init__(
        self, name: str, host: str, port: int, user: str, password: str, path: Path
    ) -> None:
        super().__init__(name, f"ipmi://{host}:{port} (SOL)", path)
        self._login = {"bmc": host, "port": port, "userid": user, "password": password}

    def _session(self, write: Callable[[bytes], Any]) -> None:
        from pyghmi.ipmi.console import Console

        broken = threading.Event()

        def handle(data: Any) -> None:
            if isinstance(data, dict):  # pyghmi reports session events as dicts
                if "error" in data:
                    self.last_error = str(data["error"])[:200]
                    broken.set()
                return
            self.connected.set()
            write(data if isinstance(data, bytes) else str(data).encode())

        console = Console(iohandler=handle, force=True, **self._login)
        try:
            while not self._stop.is_set() and not broken.is_set():
                time.sleep(_READ)
        finally:
            console.close()
