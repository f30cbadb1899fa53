"""The command channel to a lab guest: SSH with the host key pinned, reconnected after each
revert (a revert rewinds the guest's TCP state, so the old connection is dead on the guest's
side; docs/lab-target.md has the figures that chose this over a virtio-serial channel).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import ConfigError, InfrastructureError
from harness.guest.ssh import CommandResult, SshTransport, import_paramiko
from harness.lab.config import LabConfig, secret

__all__ = ["GuestChannel", "pinned_key"]

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


class GuestChannel:
    """Commands and files to one guest, over SSH with the pinned host key."""

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
