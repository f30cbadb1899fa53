"""Byte streams to an agent process: a local subprocess or an SSH exec channel. Each reads
lines with a deadline (None when it passes, b"" at end of stream), each line capped by
`wire.LineBuffer`, and `close()` kills the agent: the process itself, or the channel, whose
end closes the agent's stdin so its supervisor kills the engine. `close()` never raises,
whatever state the agent left its pipes in.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import threading
import time
from typing import IO, Any, Protocol

from harness.debug.agent import wire
from harness.errors import DebuggerError

__all__ = ["LocalStream", "SshStream", "Stream"]

_TAIL = 2048  # bytes of the agent's stderr kept for error messages


class Stream(Protocol):
    def write(self, data: bytes) -> None: ...

    def read_line(self, timeout: float) -> bytes | None:
        """The next line; None when `timeout` passed first, b"" at end of stream. Raises
        DebuggerError for a line longer than the protocol allows."""
        ...

    def exit_info(self) -> str: ...

    def close(self) -> None: ...


class LocalStream:
    """The agent as a child process of ours (host=local)."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._lines: queue.Queue[bytes | Exception] = queue.Queue()
        self._stderr = b""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        # the pumps own stdout and stderr and close them at end of stream, so no fd is
        # closed under a thread still reading it
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True),
            threading.Thread(target=self._pump_stderr, args=(self.proc.stderr,), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stdout: IO[bytes]) -> None:
        buffer = wire.LineBuffer()
        with stdout:
            try:
                for chunk in iter(lambda: os.read(stdout.fileno(), 65536), b""):
                    for line in buffer.feed(chunk):
                        self._lines.put(line + b"\n")
            except wire.WireError as e:
                self._lines.put(e)
            except OSError:
                pass
        self._lines.put(b"")

    def _pump_stderr(self, stderr: IO[bytes]) -> None:
        with stderr:
            try:
                for chunk in iter(lambda: os.read(stderr.fileno(), 4096), b""):
                    self._stderr = (self._stderr + chunk)[-_TAIL:]
            except OSError:
                pass

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (OSError, ValueError) as e:
            raise DebuggerError(f"agent died: {e}; {self.exit_info()}") from None

    def read_line(self, timeout: float) -> bytes | None:
        try:
            item = self._lines.get(timeout=min(max(timeout, 0.0), wire.MAX_TIMEOUT))
        except queue.Empty:
            return None
        if isinstance(item, Exception):
            raise DebuggerError(f"agent sent {item}")
        return item

    def exit_info(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "still running"
        self._pumps[1].join(timeout=2)  # the last words on stderr
        err = self._stderr.decode(errors="replace").strip()[-300:]
        return f"exit status {code}; {err or 'no stderr'}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)  # killed; if not reaped in time, the kernel finishes it
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # may hold unflushed bytes for a reader now dead
        for pump in self._pumps:
            pump.join(timeout=2)


class SshStream:
    """The agent behind a paramiko exec channel."""

    def __init__(self, channel: Any, transport: Any) -> None:
        self.channel, self.transport = channel, transport
        self._buffer = wire.LineBuffer()
        self._ready: list[bytes] = []

    def write(self, data: bytes) -> None:
        try:
            self.channel.sendall(data)
        except OSError as e:
            raise DebuggerError(f"agent channel failed: {e}; {self.exit_info()}") from None

    def read_line(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while not self._ready:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.channel.settimeout(remaining)
            try:
                chunk = self.channel.recv(65536)
            except socket.timeout:  # noqa: UP041 - paramiko raises socket.timeout
                return None
            except OSError as e:
                raise DebuggerError(f"agent channel failed: {e}") from None
            if not chunk:
                return b""
            try:
                self._ready += self._buffer.feed(chunk)
            except wire.WireError as e:
                raise DebuggerError(f"agent sent {e}") from None
        return self._ready.pop(0) + b"\n"

    def exit_info(self) -> str:
        if not self.channel.status_event.wait(5):
            return "no exit status"
        err = b""
        while self.channel.recv_stderr_ready() and len(err) < 65536:
            err += self.channel.recv_stderr(65536)
        tail = err.decode(errors="replace").strip()[-300:]
        return f"exit status {self.channel.recv_exit_status()}; {tail or 'no stderr'}"

    def close(self) -> None:
        for thing in (self.channel, self.transport):
            with contextlib.suppress(Exception):  # paramiko's errors on a dead connection
                thing.close()
