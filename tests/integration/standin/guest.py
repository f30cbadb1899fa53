"""The stand-in guest for its integration tests: built (cached) by the project's own
scripts, booted once through the pool, reached over SSH through a loopback forward with its
host key pinned, and brought back to a snapshot between tests."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from harness.guest.ssh import CommandResult, SshTransport

REPO = Path(__file__).resolve().parents[3]


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr}{done.stdout}"
    return done.stdout


def build_image() -> Path:
    """drivers/dist/linux (incremental; or HSP_LINUX_DIST's prebuilt artifacts) and the
    stand-in image made from it (cached)."""
    if "HSP_LINUX_DIST" not in os.environ:
        _run(["make", "-s", "-C", "drivers", "linux"])
    return Path(_run([str(REPO / "vm/standin/build")]).strip().splitlines()[-1])


def known_hosts(path: Path, host: str, port: int, public_key: str) -> Path:
    """A known_hosts file pinning `public_key` ("TYPE BASE64 [comment]") for host:port."""
    kind, blob = public_key.split()[:2]
    path.write_text(f"[{host}]:{port} {kind} {blob}\n")
    return path


class Guest:
    """One booted stand-in machine (a LibvirtMachine) and how to talk to it."""

    def __init__(self, machine: Any, image: Path, workdir: Path) -> None:
        self.machine, self.image, self.workdir = machine, image, workdir
        self.info: dict[str, Any] = json.loads((image / "guest.json").read_text())
        self.host, self.port = machine.forward(self.info["ssh_port"])
        self.pinned = known_hosts(workdir / "known_hosts", self.host, self.port,
                                  (image / self.info["host_key"]).read_text())
        self._ssh: SshTransport | None = None

    def transport(self, known: Path | None = None, **options: Any) -> SshTransport:
        """A new, unconnected transport to the guest's sshd."""
        return SshTransport(self.host, port=self.port, user=self.info["ssh_user"],
                            key_file=self.image / self.info["client_key"],
                            known_hosts=known or self.pinned, **options)

    @property
    def ssh(self) -> SshTransport:
        """The shared connection (reconnected after a revert)."""
        if self._ssh is None:
            self._ssh = self.transport().connect()
        return self._ssh

    def run(self, *argv: str, check: bool = True, timeout: float = 60.0) -> CommandResult:
        return self.ssh.run(list(argv), check=check, timeout=timeout)

    def revert(self, snapshot: str) -> None:
        """Back to `snapshot`; a revert rewinds the guest's TCP state, so reconnect after."""
        self.disconnect()
        self.machine.revert(snapshot)

    def snapshot(self, name: str) -> None:
        self.disconnect()  # a snapshot must not hold a live connection
        self.machine.snapshot(name)

    def disconnect(self) -> None:
        if self._ssh is not None:
            self._ssh.close()
            self._ssh = None

    @property
    def modules(self) -> str:
        return str(self.info["modules_dir"])

    def module(self, name: str) -> str:
        return f"{self.modules}/{name}.ko"

