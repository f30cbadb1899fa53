"""A libvirt that accepts and never answers: a real unix socket server (not a mock) that
accepts every connection, reads what the client sends and never writes a byte back, as a
hung libvirtd does."""

from __future__ import annotations

import socket
import threading
from pathlib import Path


class SilentServer:
    def __init__(self, path: Path):
        self.path = path
        self.accepted = 0
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(16)
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        """What becomes of an accepted connection: here, nothing (kept open, unanswered)."""

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()
