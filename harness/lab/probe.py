"""The resident hsprobectl (`hsprobectl serve`, Linux stand-in) and the channel that routes
hsprobectl commands to it.

After a snapshot revert under TCG every guest code path runs through QEMU's translator
again, and a fork plus exec of hsprobectl per command is the dearest of them (about 200 ms
for the first command after a revert, docs/lab-target.md). A resident hsprobectl, started
before the ready snapshot is saved and so waiting in every revert of it, runs each command
in its own process image: no fork, no exec. It sits on its own virtio-serial port,
`org.hotswap.probe.0`, whose socket QEMU makes in the machine's directory (`probe.sock`).

Protocol (drivers/hsprobectl/device_linux_serve.c): a request is hsprobectl's arguments
joined by 0x1F and ended by a newline; the answer is `HSPS STATUS OUTLEN ERRLEN`, a newline,
then the command's standard output and standard error.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.guest.link import UnixLink
from harness.guest.ssh import CommandResult
from harness.lab.channel import Channel

__all__ = ["PORT", "ProbeClient", "ServedChannel"]

PORT = "org.hotswap.probe.0"
"""The resident hsprobectl's virtio-serial port (vm/templates/linux-standin.xml.j2)."""
_HEAD = re.compile(rb"HSPS (-?\d+) (\d+) (\d+)")
_FORBIDDEN = ("\x1f", "\n")


class ProbeClient:
    """Requests to a resident hsprobectl through its port's socket."""

    def __init__(self, path: str | Path, where: str, command_timeout: float) -> None:
        self.where = where
        self.command_timeout = command_timeout
        self._link = UnixLink(path, f"resident hsprobectl on {where}")
        self._lock = threading.Lock()

    def run(self, args: list[str] | tuple[str, ...], timeout: float | None = None) -> CommandResult:
        """`hsprobectl ARGS` as the resident process answers it (status, stdout, stderr)."""
        bad = [a for a in args if any(c in a for c in _FORBIDDEN)]
        if bad:
            raise InfrastructureError(
                f"resident hsprobectl on {self.where}: argument {bad[0]!r} holds a newline "
                "or 0x1F, which its requests cannot carry"
            )
        limit = self.command_timeout if timeout is None else timeout
        with self._lock:
            deadline = self._link.begin(limit)
            try:
                self._link.send("\x1f".join(args).encode() + b"\n", deadline)
                head = self._link.line(deadline)
                found = _HEAD.fullmatch(head)
                if not found:
                    raise InfrastructureError(
                        f"resident hsprobectl on {self.where}: not an answer: {head[:80]!r}"
                    )
                out = self._link.exactly(int(found[2]), deadline)
                err = self._link.exactly(int(found[3]), deadline)
                return CommandResult(int(found[1]), out, err)
            except HarnessTimeoutError:
                raise HarnessTimeoutError(
                    f"resident hsprobectl on {self.where}: {args[0] if args else ''} ran "
                    f"over {limit:g} s"
                ) from None
            except InfrastructureError:
                self._link.close()
                raise

    def close(self) -> None:
        self._link.close()


class ServedChannel:
    """A channel whose hsprobectl commands go to the resident hsprobectl; everything else
    (other programs, files, connecting) goes to the channel it wraps."""

    def __init__(self, channel: Channel, prefix: tuple[str, ...], probe: ProbeClient) -> None:
        """`prefix`: the argv that runs hsprobectl (the profile's `command()`)."""
        self.inner = channel
        self.prefix = prefix
        self.probe = probe
        self.survives_revert = channel.survives_revert

    @property
    def where(self) -> str:
        return self.inner.where

    def connect(self, timeout: float) -> float:
        return self.inner.connect(timeout)

    def run(
        self,
        argv: tuple[str, ...] | list[str],
        *,
        timeout: float | None = None,
        check: bool = False,
    ) -> CommandResult:
        n = len(self.prefix)
        args = list(argv[n:])
        if tuple(argv[:n]) != self.prefix or not args or args[0] == "serve":
            return self.inner.run(argv, timeout=timeout, check=check)
        result = self.probe.run(args, timeout)
        return (
            result.checked(f"resident hsprobectl on {self.probe.where}", args[0])
            if check
            else result
        )

    def sha256(self, remote: str) -> str:
        return self.inner.sha256(remote)

    def put(self, local: Path, remote: str) -> None:
        self.inner.put(local, remote)

    def fetch(self, remote: str) -> bytes:
        return self.inner.fetch(remote)

    def read(self, remote: str) -> bytes:
        return self.inner.read(remote)

    def get(self, remote: str, local: Path) -> None:
        self.inner.get(remote, local)

    def drop(self) -> None:
        self.inner.drop()

    def close(self) -> None:
        self.probe.close()
        self.inner.close()
