"""`SshTransport`: paramiko to guests and debugger hosts. Key authentication only; host keys
checked against a known_hosts file with RejectPolicy (an unknown or changed key is refused,
never learnt); timeouts on connect and on every command; retries for transient network
failures only; SFTP copies verified against a SHA-256 computed on the remote side.

Nothing here logs key material, passphrases or command input.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NamedTuple

from harness.errors import (
    BackendUnavailableError,
    ConfigError,
    HarnessTimeoutError,
    InfrastructureError,
)
from harness.guest.quoting import quote_line

__all__ = ["CommandResult", "SshTransport", "import_paramiko"]

log = logging.getLogger(__name__)
_TRANSIENT = (ConnectionRefusedError, ConnectionResetError, TimeoutError, socket.timeout, EOFError)
_SHA256 = re.compile(r"\b([0-9a-fA-F]{64})\b")


def import_paramiko() -> Any:
    try:
        import paramiko
    except ImportError:
        raise BackendUnavailableError("SSH needs paramiko: install the remote extra") from None
    return paramiko


class CommandResult(NamedTuple):
    status: int
    stdout: bytes
    stderr: bytes

    def checked(self, where: str, program: str) -> CommandResult:
        """Itself, or InfrastructureError naming `where`, `program`, the status and the tail
        of stderr when the status is not 0."""
        if self.status != 0:
            tail = self.stderr[-400:].decode(errors="replace").strip()
            raise InfrastructureError(f"{where}: {program} exited {self.status}: {tail}")
        return self


def sha256_argv(shell: str, remote: str) -> list[str]:
    """The command that prints a file's SHA-256 in a guest whose commands `shell` reads."""
    return {
        "sh": ["sha256sum", "--", remote],
        "cmd": ["certutil", "-hashfile", remote, "SHA256"],
        "powershell": ["Get-FileHash", "-Algorithm", "SHA256", "-LiteralPath", remote],
    }[shell]


def parse_sha256(output: bytes, where: str, remote: str) -> str:
    """The SHA-256 (lowercase hex) in the output of `sha256_argv`'s command."""
    match = _SHA256.search(output.decode(errors="replace"))
    if not match:
        raise InfrastructureError(f"{where}: no SHA-256 in the output for {remote}")
    return match.group(1).lower()


class SshTransport:
    """One SSH connection; `shell` is how the remote side reads command lines (sh, cmd,
    powershell: OpenSSH for Windows defaults to cmd).
    """

    def __init__(
        self,
        host: str,
        *,
        user: str,
        key_file: str | Path,
        known_hosts: str | Path,
        port: int = 22,
        shell: str = "sh",
        connect_timeout: float = 15.0,
        command_timeout: float = 120.0,
        retries: int = 3,
        passphrase: str | None = None,
    ) -> None:
        self.host, self.port, self.user, self.shell = host, port, user, shell
        self.key_file, self.known_hosts = str(key_file), str(known_hosts)
        self.connect_timeout, self.command_timeout = connect_timeout, command_timeout
        self.retries = retries
        self._passphrase = passphrase  # never logged, never part of a message
        self._client: Any = None
        if not Path(self.known_hosts).is_file():
            raise ConfigError(f"known_hosts file {self.known_hosts} does not exist")

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def connect(self) -> SshTransport:
        paramiko = import_paramiko()
        for attempt in range(1, self.retries + 1):
            client = paramiko.SSHClient()
            client.load_host_keys(self.known_hosts)  # only this file, never ~/.ssh
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            try:
                client.connect(
                    self.host,
                    self.port,
                    username=self.user,
                    key_filename=self.key_file,
                    passphrase=self._passphrase,
                    look_for_keys=False,
                    allow_agent=False,
                    timeout=self.connect_timeout,
                    banner_timeout=self.connect_timeout,
                    auth_timeout=self.connect_timeout,
                )
            except (*_TRANSIENT, paramiko.ssh_exception.NoValidConnectionsError) as e:
                client.close()
                if attempt == self.retries:
                    raise InfrastructureError(
                        f"ssh {self.where}: {e or type(e).__name__} ({attempt} attempts)"
                    ) from None
                log.info("ssh %s: transient failure (%s), retrying", self.where, type(e).__name__)
                time.sleep(min(2.0**attempt, 10.0))
                continue
            except paramiko.BadHostKeyException:
                client.close()
                raise InfrastructureError(
                    f"ssh {self.where}: host key does not match {self.known_hosts}; refusing"
                ) from None
            except paramiko.AuthenticationException:
                client.close()
                raise InfrastructureError(f"ssh {self.where}: key authentication failed") from None
            except (paramiko.SSHException, OSError) as e:
                client.close()
                raise InfrastructureError(f"ssh {self.where}: {e}") from None
            self._client = client
            return self
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> SshTransport:
        return self if self._client is not None else self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transport(self) -> Any:
        if self._client is None:
            self.connect()
        return self._client.get_transport()

    def open(self, argv: list[str]) -> Any:
        """Start argv remotely and return its paramiko Channel (stdin/stdout/stderr stay
        open for a long-lived process such as the debugger agent)."""
        channel = self._transport().open_session(timeout=self.connect_timeout)
        command = quote_line(argv, self.shell)
        self._request(channel, lambda: channel.exec_command(command), f"{argv[0]}: the command")
        return channel

    def _request(self, channel: Any, request: Callable[[], None], what: str) -> None:
        """Make a channel request (exec, subsystem) within the connect timeout. paramiko
        waits for the server's answer with no bound: a guest that stops answering (a panic)
        between the channel's open and the request would hold the call forever. Past the
        bound the channel is closed, which ends paramiko's wait."""
        started, gave_up = threading.Event(), threading.Event()

        def give_up() -> None:
            if not started.is_set():
                gave_up.set()
                # close() marks the channel closed (ending the wait) before it tells the
                # server; telling a dead server fails, and that is expected here
                with suppress(Exception):
                    channel.close()

        timer = threading.Timer(self.connect_timeout, give_up)
        timer.daemon = True
        timer.start()
        try:
            request()
            started.set()
        except Exception:
            if gave_up.is_set():  # the bound passed: the close above ended the wait
                raise HarnessTimeoutError(
                    f"ssh {self.where}: {what} did not start within {self.connect_timeout:g} s"
                ) from None
            raise
        finally:
            timer.cancel()

    @contextmanager
    def _sftp(self) -> Iterator[Any]:
        """An SFTP client whose channel request is bounded as a command's is, and whose every
        read waits at most the command timeout (paramiko's own client waits forever)."""
        channel = self._transport().open_session(timeout=self.connect_timeout)
        self._request(channel, lambda: channel.invoke_subsystem("sftp"), "sftp")
        channel.settimeout(self.command_timeout)
        sftp = import_paramiko().SFTPClient(channel)
        try:
            yield sftp
        finally:
            sftp.close()

    def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        check: bool = True,
        stdin: bytes = b"",
    ) -> CommandResult:
        """Run argv to completion; a command over its time is killed (channel closed)."""
        limit = self.command_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        channel = self.open(argv)
        out, err = bytearray(), bytearray()
        try:
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            channel.settimeout(0.2)
            while True:
                if time.monotonic() > deadline:
                    raise HarnessTimeoutError(f"ssh {self.where}: {argv[0]} ran over {limit:g} s")
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                try:
                    chunk = channel.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:  # stdout closed: wait for the exit status, still bounded
                    if not channel.status_event.wait(max(deadline - time.monotonic(), 0)):
                        raise HarnessTimeoutError(
                            f"ssh {self.where}: {argv[0]} ran over {limit:g} s"
                        )
                    break
                out += chunk
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            status = channel.recv_exit_status()
        finally:
            channel.close()
        result = CommandResult(status, bytes(out), bytes(err))
        return result.checked(f"ssh {self.where}", argv[0]) if check else result

    # -- files ------------------------------------------------------------------------------
    def sha256(self, remote: str) -> str:
        """The SHA-256 of a remote file, computed by the remote host itself."""
        output = self.run(sha256_argv(self.shell, remote)).stdout
        return parse_sha256(output, f"ssh {self.where}", remote)

    def exists(self, remote: str) -> bool:
        with self._sftp() as sftp:
            try:
                sftp.stat(remote)
            except FileNotFoundError:
                return False
        return True

    def put(self, local: str | Path, remote: str) -> None:
        self.put_bytes(Path(local).read_bytes(), remote)

    def put_bytes(self, data: bytes, remote: str) -> None:
        with self._sftp() as sftp:
            sftp.putfo(_Reader(data), remote, file_size=len(data), confirm=True)
        self._verify(remote, hashlib.sha256(data).hexdigest())

    def get(self, remote: str, local: str | Path) -> None:
        with self._sftp() as sftp:
            sftp.get(remote, str(local))
        self._verify(remote, hashlib.sha256(Path(local).read_bytes()).hexdigest())

    def _verify(self, remote: str, expected: str) -> None:
        actual = self.sha256(remote)
        if actual != expected:
            raise InfrastructureError(
                f"ssh {self.where}: {remote} checksum {actual[:16]} != local {expected[:16]}"
            )


class _Reader:
    """A minimal file object over bytes for SFTP putfo."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk
