"""`UnixLink`: a kept connection to a guest's virtio-serial port, through the unix socket
QEMU listens on for it (a `<channel type='unix'>` with `mode='bind'`).

The connection is the host's, so it survives a snapshot revert; the program on the guest's
end is rewound with the guest to where it waited for the next request. Bytes left over from
before (an answer nobody waited for) are dropped before each request, and a connection
whose answer is overdue is closed, so a late answer never answers the next request. A
socket file made anew since the connection (a new QEMU: restarted after a crash, or by
libvirt's revert) is connected again. Every failure is an InfrastructureError naming
`where`; an overdue answer is its HarnessTimeoutError.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from harness.errors import HarnessTimeoutError, InfrastructureError

__all__ = ["UnixLink"]


class UnixLink:
    """One connection to `path`, made on first use and again after a failure."""

    def __init__(self, path: str | Path, where: str) -> None:
        self.path = str(path)
        self.where = where
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._limit = 0.0
        self._made: tuple[int, int, int] | None = None
        """The socket file connected to (device, inode, change time)."""

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def begin(self, timeout: float) -> float:
        """Ready for one request within `timeout` s: connected, stale bytes dropped. Returns
        the deadline (time.monotonic()) the request's answer must meet."""
        self._limit = timeout
        deadline = time.monotonic() + timeout
        if self._sock is not None and self._identity() != self._made:
            self.close()  # the socket QEMU listened on is gone or made anew
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX)
            try:
                sock.settimeout(max(timeout, 0.1))
                sock.connect(self.path)
            except OSError as e:
                sock.close()
                raise InfrastructureError(
                    f"{self.where}: cannot connect to {self.path}: {e.strerror or e}"
                ) from None
            self._sock, self._buffer, self._made = sock, b"", self._identity()
        else:
            self._drain()
        return deadline

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_ctime_ns

    def _drain(self) -> None:
        assert self._sock is not None
        self._buffer = b""
        self._sock.setblocking(False)
        try:
            while self._sock.recv(1 << 16):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self._sock.setblocking(True)

    def send(self, data: bytes, deadline: float) -> None:
        assert self._sock is not None
        try:
            self._sock.settimeout(max(deadline - time.monotonic(), 0.1))
            self._sock.sendall(data)
        except OSError as e:
            self.close()
            raise InfrastructureError(f"{self.where}: {e.strerror or e}") from None

    def line(self, deadline: float) -> bytes:
        """The next line (without its newline)."""
        while b"\n" not in self._buffer:
            self._fill(deadline)
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def exactly(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _fill(self, deadline: float) -> None:
        assert self._sock is not None
        try:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self._sock.settimeout(left)
            chunk = self._sock.recv(1 << 20)
        except TimeoutError:
            self.close()
            raise HarnessTimeoutError(f"{self.where}: no answer within {self._limit:g} s") from None
        except OSError as e:
            self.close()
            raise InfrastructureError(f"{self.where}: {e.strerror or e}") from None
        if not chunk:
            self.close()
            raise InfrastructureError(f"{self.where}: the socket closed")
        self._buffer += chunk

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
