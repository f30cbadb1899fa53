"""`GuestAgent`: commands and files over the QEMU guest agent (qemu-ga), the lab's command
channel that a snapshot revert cannot break.

The agent runs in the guest on a virtio-serial port the hypervisor owns (Debian's qemu-ga
in the Linux stand-in; the virtio-win guest agent service on Windows). A revert rewinds the
agent with the guest, where it waits, idle, for the next request: no connection to make
again, no key exchange, no login. How a request reaches the agent is one function,
`send(request_json, timeout) -> reply_json`: libvirt's agent command for a lab machine
(`LibvirtMachine.agent_command`), a unix socket for a qemu-ga run on the host in tests.

The protocol (QEMU's qapi/qga schema): `guest-exec` starts a program (argv, no shell) and
gives its pid; `guest-exec-status` says whether it exited, its exit code and its captured
output (base64, at most 16 MiB per stream); `guest-file-open/read/write/close` move files in
chunks (base64); `guest-ping` answers when the agent is up.

`SocketSend` reaches an agent on a unix socket: the harness's own agent port on a lab VM
(the stand-in's `org.hotswap.agent.0`, whose socket QEMU makes in the machine's directory),
or a qemu-ga run on the host. libvirt's agent API is the other way in (any guest whose agent
is on `org.qemu.guest_agent.0`, Windows' included), but libvirt refuses requests while it
thinks the agent's port closed, and after a `loadvm` it learns that the port is open again
up to a second late (QEMU rate-limits the VSERPORT_CHANGE event to one a second per port).
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.guest.link import UnixLink
from harness.guest.ssh import CommandResult, parse_sha256, sha256_argv

__all__ = ["GuestAgent", "Send", "SocketSend"]

Send = Callable[[str, float], str]
"""A request as JSON and the seconds to wait for it -> the agent's reply as JSON."""

CHUNK = 1 << 20
"""Bytes per guest-file-read / guest-file-write request."""
_POLL = (0.002, 0.05)
"""First and longest pause between two guest-exec-status requests (the first answers most
commands: a hsprobectl call takes a few milliseconds)."""
_SPAWN_FAILED = re.compile(r"Failed to execute child process|No such file|cannot find", re.I)


class GuestAgent:
    """One guest's agent, reached through `send`; `where` names it in messages."""

    def __init__(self, send: Send, where: str, *, command_timeout: float = 30.0) -> None:
        self._send = send
        self.where = where
        self.command_timeout = command_timeout

    def call(
        self, command: str, arguments: dict[str, Any] | None = None, timeout: float = 0
    ) -> Any:
        """The `return` of one agent command; an error reply is an InfrastructureError."""
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        text = self._send(json.dumps(request), timeout or self.command_timeout)
        try:
            reply = json.loads(text)
        except ValueError:
            raise InfrastructureError(
                f"guest agent {self.where}: {command} answered with no JSON: {text[:200]!r}"
            ) from None
        if not isinstance(reply, dict) or "return" not in reply:
            error = reply.get("error", {}) if isinstance(reply, dict) else {}
            why = error.get("desc", text[:200]) if isinstance(error, dict) else text[:200]
            raise InfrastructureError(f"guest agent {self.where}: {command} failed: {why}")
        return reply["return"]

    def ping(self, timeout: float) -> None:
        self.call("guest-ping", timeout=timeout)

    # -- programs ----------------------------------------------------------------------------
    def run(
        self, argv: list[str], *, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        """Run argv (no shell) to completion. A program the guest cannot start is exit status
        127, as a shell says it; one over its time is a HarnessTimeoutError (the agent has no
        way to kill it: it finishes in the guest, unwatched, until the next revert)."""
        limit = self.command_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        try:
            started = self.call(
                "guest-exec",
                {"path": argv[0], "arg": list(argv[1:]), "capture-output": True},
                timeout=limit,
            )
        except InfrastructureError as e:
            if not _SPAWN_FAILED.search(str(e)):
                raise
            result = CommandResult(127, b"", f"{argv[0]}: {e}".encode())
        else:
            result = self._wait(int(started["pid"]), argv[0], deadline, limit)
        return result.checked(f"guest agent {self.where}", argv[0]) if check else result

    def _wait(self, pid: int, program: str, deadline: float, limit: float) -> CommandResult:
        pause = _POLL[0]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessTimeoutError(
                    f"guest agent {self.where}: {program} ran over {limit:g} s"
                )
            status = self.call("guest-exec-status", {"pid": pid}, timeout=max(left, 1.0))
            if status.get("exited"):
                break
            time.sleep(min(pause, max(left, 0)))
            pause = min(pause * 2, _POLL[1])
        for stream in ("out", "err"):
            if status.get(f"{stream}-truncated"):
                raise InfrastructureError(
                    f"guest agent {self.where}: {program} wrote more than the agent keeps "
                    f"(16 MiB) to std{stream}; have it write to a file and fetch that instead"
                )
        code = status.get("exitcode")
        signal = status.get("signal")
        exit_status = int(code) if code is not None else 128 + int(signal or 0)
        return CommandResult(
            exit_status,
            base64.b64decode(status.get("out-data", "")),
            base64.b64decode(status.get("err-data", "")),
        )

    # -- files ---------------------------------------------------------------------------------
    def read(self, remote: str, sink: Callable[[bytes], object]) -> None:
        """Every byte of `remote`, handed to `sink` chunk by chunk."""
        handle = self.call("guest-file-open", {"path": remote, "mode": "rb"})
        try:
            while True:
                chunk = self.call("guest-file-read", {"handle": handle, "count": CHUNK})
                sink(base64.b64decode(chunk.get("buf-b64", "")))
                if chunk.get("eof") or not chunk.get("count"):
                    return
        finally:
            self.call("guest-file-close", {"handle": handle})

    def get(self, remote: str, local: str | Path) -> None:
        with Path(local).open("wb") as f:
            self.read(remote, f.write)

    def fetch(self, remote: str) -> bytes:
        parts: list[bytes] = []
        self.read(remote, parts.append)
        return b"".join(parts)

    def put(self, local: str | Path, remote: str) -> None:
        """Copy `local` to `remote` (replaced), in chunks."""
        handle = self.call("guest-file-open", {"path": remote, "mode": "wb"})
        try:
            with Path(local).open("rb") as f:
                while chunk := f.read(CHUNK):
                    self.call(
                        "guest-file-write",
                        {"handle": handle, "buf-b64": base64.b64encode(chunk).decode()},
                    )
        finally:
            self.call("guest-file-close", {"handle": handle})

    def sha256(self, remote: str, windows: bool = False) -> str:
        """The SHA-256 of `remote`, computed by the guest itself (sha256sum; certutil on
        Windows)."""
        argv = sha256_argv("cmd" if windows else "sh", remote)  # programs, no shell needed
        output = self.run(argv, check=True).stdout
        return parse_sha256(output, f"guest agent {self.where}", remote)


class SocketSend:
    """`send` over an agent's unix socket (a `UnixLink`): one JSON request, one JSON line
    back. A fresh connection is synchronised first (`guest-sync-delimited`)."""

    def __init__(self, path: str | Path, where: str) -> None:
        self.where = where
        self._link = UnixLink(path, f"guest agent {where}")
        self._lock = threading.Lock()

    def __call__(self, request: str, timeout: float) -> str:
        with self._lock:
            fresh = not self._link.connected
            deadline = self._link.begin(timeout)
            try:
                if fresh:
                    self._sync(deadline)
                self._link.send(request.encode() + b"\n", deadline)
                return self._line(deadline)
            except BaseException:
                self._link.close()
                raise

    def _sync(self, deadline: float) -> None:
        """Skip whatever an older request left on the port: the agent answers a sync with
        0xFF then the reply."""
        ident = random.randrange(1, 1 << 31)
        sync = json.dumps({"execute": "guest-sync-delimited", "arguments": {"id": ident}})
        self._link.send(sync.encode() + b"\n", deadline)
        while _reply_id(self._line(deadline)) != ident:
            pass

    def _line(self, deadline: float) -> str:
        return self._link.line(deadline).lstrip(b"\xff").decode(errors="replace")

    def close(self) -> None:
        self._link.close()


def _reply_id(line: str) -> object:
    """The `return` of a sync's reply; None for anything else (an older reply, a torn line)."""
    try:
        reply = json.loads(line)
    except ValueError:
        return None
    return reply.get("return") if isinstance(reply, dict) else None
