"""A throwaway sshd on loopback: its own host key, config and authorized_keys, a generated
client key and a known_hosts file naming the real host key; always stopped afterwards.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .guest import free_port


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


class Sshd:
    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="hssshd-")
        self.dir = Path(self.tmp.name)
        self.port = free_port()
        self.user = getpass.getuser()
        self.client_key = self.dir / "client_key"
        self.known_hosts = self.dir / "known_hosts"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sshd:
        host_pub = keygen(self.dir / "host_key")
        (self.dir / "authorized_keys").write_text(keygen(self.client_key) + "\n")
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub}\n")
        config = self.dir / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.dir / 'host_key'}\n"
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}\nPidFile none\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nPermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n"
            "LogLevel ERROR\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory
        self.proc = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.tmp.cleanup()
                raise RuntimeError(f"sshd exited {self.proc.returncode}: {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)  # polling for the listening socket, bounded by the deadline
        self.__exit__()
        raise TimeoutError("sshd did not listen within 30 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.tmp.cleanup()
