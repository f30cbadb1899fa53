"""The command channel to a lab guest, chosen by the lab config's `channel`:

- `agent`: the QEMU guest agent (harness/guest/qga.py), on the machine's own agent socket
  or through libvirt's agent API (`LibvirtMachine.agent_command`). A revert rewinds the
  agent with the guest, so nothing is reconnected after it; docs/lab-target.md has the
  figures that made it the stand-in's channel.
- `ssh`: SSH with the host key pinned, reconnected after each revert (a revert rewinds the
  guest's TCP state, so the old connection is dead on the guest's side). Rack machines, and
  guests without the agent, use it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from harness.errors import ConfigError, InfrastructureError
from harness.guest.qga import GuestAgent
from harness.guest.ssh import CommandResult, SshTransport, import_paramiko
from harness.lab.config import LabConfig, secret
from harness.vm import Agent

__all__ = ["AgentChannel", "Channel", "GuestChannel", "pinned_key"]

_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")


def pinned_key(path: str, source: str) -> tuple[str, str]:
    """(type, base64) of the pinned host key: a public key file (`TYPE B64 [comment]`) or the
    first entry of a known_hosts file (`HOSTS TYPE B64`)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise ConfigError(
            f"{source}: field ssh.host_key: cannot read {path}: {e.strerror}; "
            "fix: point it at the guest's host public key"
        ) from None
    for line in lines:
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0].startswith(_KEY_TYPES) and len(fields) >= 2:
            return fields[0], fields[1]
        if len(fields) >= 3 and fields[1].startswith(_KEY_TYPES):
            return fields[1], fields[2]
    raise ConfigError(
        f"{source}: field ssh.host_key: {path} holds no SSH public key; fix: "
        "point it at the guest's host public key (as ssh-keygen writes it)"
    )


class Channel(Protocol):
    """Commands and files to one guest."""

    survives_revert: bool
    """True: a revert leaves the channel working (nothing to reconnect)."""

    @property
    def where(self) -> str: ...

    def connect(self, timeout: float) -> float: ...

    def run(
        self,
        argv: tuple[str, ...] | list[str],
        *,
        timeout: float | None = None,
        check: bool = False,
    ) -> CommandResult: ...

    def sha256(self, remote: str) -> str: ...

    def put(self, local: Path, remote: str) -> None: ...

    def fetch(self, remote: str) -> bytes: ...

    def read(self, remote: str) -> bytes:
        """A guest file's bytes, by the channel's own means (SSH: `cat`, as a guest's sshd
        need not offer SFTP; the agent: its file requests). Linux guests."""
        ...

    def get(self, remote: str, local: Path) -> None: ...

    def drop(self) -> None: ...

    def close(self) -> None: ...


class GuestChannel:
    """Commands and files to one guest, over SSH with the pinned host key."""

    survives_revert = False

    def __init__(
        self, config: LabConfig, host: str, port: int, host_key: str | None = None
    ) -> None:
        """`host_key`: the machine's own pinned key file (a rack machine's inventory entry);
        default: the config's ssh.host_key."""
        self.config = config
        self.host = host
        kind, key = pinned_key(host_key or config.ssh.host_key, config.source)
        self._dir = tempfile.TemporaryDirectory(prefix="hslab-")
        known = Path(self._dir.name) / "known_hosts"
        name = host if port == 22 else f"[{host}]:{port}"
        known.write_text(f"{name} {kind} {key}\n")
        self._ssh = SshTransport(
            host,
            user=config.ssh.user,
            key_file=config.ssh.key,
            known_hosts=known,
            port=port,
            shell=config.shell,
            connect_timeout=min(15.0, config.timeouts.command),
            command_timeout=config.timeouts.command,
            retries=1,
            passphrase=secret(
                config.ssh.passphrase_env,
                config.ssh.passphrase_file,
                "field ssh.passphrase_env/passphrase_file",
                config.source,
            ),
        )

    @property
    def where(self) -> str:
        return self._ssh.where

    def connect(self, timeout: float) -> float:
        """Connect, retrying while the guest's sshd comes up, for at most `timeout` s; a
        refused host key or key is not retried. Returns the seconds it took."""
        began = time.monotonic()
        deadline = began + timeout
        while True:
            self._ssh.close()
            try:
                self._ssh.connect()
                return time.monotonic() - began
            except InfrastructureError as e:
                text = str(e)
                if "host key" in text or "authentication" in text:
                    raise
                if time.monotonic() > deadline:
                    raise InfrastructureError(
                        f"cannot reach the guest's SSH server at {self.where} within "
                        f"{timeout:g} s ({text}); fix: check ssh.host and ssh.port, and that "
                        "the guest runs its SSH server"
                    ) from None
            time.sleep(0.2)

    @contextmanager
    def _failures(self, what: str) -> Iterator[None]:
        """paramiko's own exceptions (a channel that will not open, a dropped transport) as
        the InfrastructureError every caller handles."""
        paramiko = import_paramiko()
        try:
            yield
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise InfrastructureError(
                f"ssh {self.where}: {what}: {e or type(e).__name__}"
            ) from None

    def run(
        self,
        argv: tuple[str, ...] | list[str],
        *,
        timeout: float | None = None,
        check: bool = False,
    ) -> CommandResult:
        with self._failures(argv[0]):
            return self._ssh.run(list(argv), timeout=timeout, check=check)

    def sha256(self, remote: str) -> str:
        with self._failures(f"sha256 of {remote}"):
            return self._ssh.sha256(remote)

    def put(self, local: Path, remote: str) -> None:
        with self._failures(f"copying {local.name}"):
            self._ssh.put(local, remote)

    def fetch(self, remote: str) -> bytes:
        with (
            tempfile.TemporaryDirectory(prefix="hslab-") as tmp,
            self._failures(f"fetching {remote}"),
        ):
            local = Path(tmp) / "fetched"
            self._ssh.get(remote, local)
            return local.read_bytes()

    def read(self, remote: str) -> bytes:
        result = self.run(("cat", remote), timeout=self.config.timeouts.command)
        if result.status != 0:
            text = result.stderr.decode(errors="replace").strip()
            raise InfrastructureError(f"ssh {self.where}: cat {remote}: {text}")
        return result.stdout

    def get(self, remote: str, local: Path) -> None:
        """Copy `remote` to `local`, streamed (a Windows MEMORY.DMP is gigabytes)."""
        with self._failures(f"fetching {remote}"):
            self._ssh.get(remote, local)

    def drop(self) -> None:
        """Forget the connection without a goodbye (after a revert it is dead anyway)."""
        self._ssh.close()

    def close(self) -> None:
        self._ssh.close()
        self._dir.cleanup()


class AgentChannel:
    """Commands and files to one guest, over its QEMU guest agent (`machine.agent_command`)."""

    survives_revert = True

    def __init__(self, config: LabConfig, machine: Agent, name: str) -> None:
        self.config = config
        self.name = name
        self._windows = config.profile == "windows"
        self._agent = GuestAgent(
            machine.agent_command, f"on {name}", command_timeout=config.timeouts.command
        )

    @property
    def where(self) -> str:
        return self._agent.where

    def connect(self, timeout: float) -> float:
        """Wait until the agent answers (it starts late in the guest's boot), for at most
        `timeout` s. Returns the seconds it took."""
        began = time.monotonic()
        deadline = began + timeout
        while True:
            try:
                self._agent.ping(min(5.0, max(deadline - time.monotonic(), 1.0)))
                return time.monotonic() - began
            except InfrastructureError as e:
                if "not configured" in str(e):  # libvirt: the machine has no agent port
                    raise ConfigError(
                        f"{self.config.source}: field channel: the machine {self.name} has "
                        "no guest agent port (its template needs the socket channel "
                        "org.hotswap.agent.0, as linux-standin's, or libvirt's "
                        'org.qemu.guest_agent.0); fix: use such a template, or channel = "ssh"'
                    ) from None
                if time.monotonic() > deadline:
                    raise InfrastructureError(
                        f"the guest agent {self.where} did not answer within {timeout:g} s "
                        f"({e}); fix: check that the guest runs the QEMU guest agent on its "
                        "port (org.hotswap.agent.0 or org.qemu.guest_agent.0), or set "
                        'channel = "ssh"'
                    ) from None
            time.sleep(0.2)

    def run(
        self,
        argv: tuple[str, ...] | list[str],
        *,
        timeout: float | None = None,
        check: bool = False,
    ) -> CommandResult:
        return self._agent.run(list(argv), timeout=timeout, check=check)

    def sha256(self, remote: str) -> str:
        return self._agent.sha256(remote, windows=self._windows)

    def put(self, local: Path, remote: str) -> None:
        self._agent.put(local, remote)

    def fetch(self, remote: str) -> bytes:
        return self._agent.fetch(remote)

    def read(self, remote: str) -> bytes:
        return self._agent.fetch(remote)

    def get(self, remote: str, local: Path) -> None:
        self._agent.get(remote, local)

    def drop(self) -> None:
        """Nothing to forget: the agent keeps no connection of ours."""

    def close(self) -> None:
        """Nothing to close: the machine owns the way to the agent."""
