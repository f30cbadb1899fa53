"""Byte streams to an agent process: a local subprocess or an SSH exec channel. Each reads
lines with a deadline (None when it passes, b"" at end of stream) and `close()` kills the
agent: the process itself, or the channel, whose end closes the agent's stdin so its
supervisor kills the engine.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from typing import Any, Protocol

from harness.errors import DebuggerError

__all__ = ["LocalStream", "SshStream", "Stream"]


class Stream(Protocol):
    def write(self, data: bytes) -> None: ...

    def read_line(self, timeout: float) -> bytes | None: ...

    def exit_info(self) -> str: ...

    def close(self) -> None: ...


class LocalStream:
    """The agent as a child process of ours (host=local)."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(b"")

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except OSError as e:
            raise DebuggerError(f"agent died: {e}; {self.exit_info()}") from None

    def read_line(self, timeout: float) -> bytes | None:
        try:
            return self._lines.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None

    def exit_info(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "still running"
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        return f"exit status {code}; {err.strip()[-300:] or 'no stderr'}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


class SshStream:
    """The agent behind a paramiko exec channel."""

    def __init__(self, channel: Any, transport: Any) -> None:
        self.channel, self.transport = channel, transport
        self._buf = b""

    def write(self, data: bytes) -> None:
        try:
            self.channel.sendall(data)
        except OSError as e:
            raise DebuggerError(f"agent channel failed: {e}; {self.exit_info()}") from None

    def read_line(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.channel.settimeout(remaining)
            try:
                chunk = self.channel.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                return b""
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line + b"\n"

    def exit_info(self) -> str:
        if not self.channel.status_event.wait(5):
            return "no exit status"
        err = b""
        while self.channel.recv_stderr_ready():
            err += self.channel.recv_stderr(65536)
        tail = err.decode(errors="replace").strip()[-300:]
        return f"exit status {self.channel.recv_exit_status()}; {tail or 'no stderr'}"

    def close(self) -> None:
        self.channel.close()
        self.transport.close()
