"""SshTransport against a real sshd on loopback with its own host key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.guest.ssh import SshTransport

from .guest import free_port
from .sshd import Sshd, keygen

pytestmark = pytest.mark.integration


def transport(sshd: Sshd, **kw: object) -> SshTransport:
    options: dict[str, object] = dict(
        user=sshd.user, key_file=sshd.client_key, known_hosts=sshd.known_hosts, port=sshd.port
    )
    options.update(kw)
    return SshTransport("127.0.0.1", **options)  # type: ignore[arg-type]


def test_runs_quoted_commands(sshd: Sshd) -> None:
    with transport(sshd) as ssh:
        result = ssh.run(["printf", "%s|", "a b", "$(id)", "'; touch /tmp/hs-pwned; '"])
        assert result.stdout == b"a b|$(id)|'; touch /tmp/hs-pwned; '|"
        assert ssh.run(["sh", "-c", "exit 3"], check=False).status == 3
        with pytest.raises(InfrastructureError, match="exited 3"):
            ssh.run(["sh", "-c", "echo boom >&2; exit 3"])


def test_command_timeout(sshd: Sshd) -> None:
    with transport(sshd) as ssh:
        started = time.monotonic()
        with pytest.raises(HarnessTimeoutError):
            ssh.run(["sleep", "30"], timeout=1.5)
        assert time.monotonic() - started < 10


def test_put_and_get_verified(sshd: Sshd, tmp_path: Path) -> None:
    local = tmp_path / "weird name; $x.bin"
    local.write_bytes(bytes(range(256)) * 1000)
    remote = str(sshd.dir / "copy of; $x.bin")
    with transport(sshd) as ssh:
        ssh.put(local, remote)
        assert Path(remote).read_bytes() == local.read_bytes()
        ssh.get(remote, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == local.read_bytes()


def test_wrong_host_key_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other_host")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {other}\n")
    with pytest.raises(InfrastructureError, match="host key does not match"):
        transport(sshd, known_hosts=known).connect()


def test_unknown_host_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(InfrastructureError, match="not found in known_hosts"):
        transport(sshd, known_hosts=empty).connect()


def test_wrong_key_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    keygen(tmp_path / "stranger")
    with pytest.raises(InfrastructureError, match="authentication failed"):
        transport(sshd, key_file=tmp_path / "stranger").connect()


def test_refused_connection_retries_then_fails(sshd: Sshd) -> None:
    started = time.monotonic()
    with pytest.raises(InfrastructureError, match="2 attempts"):
        transport(sshd, port=free_port(), retries=2, connect_timeout=3).connect()
    assert time.monotonic() - started < 15
