"""SshTransport's waits stay bounded when the server stops answering half-way: a server that
opens the session channel and then never answers the exec request (what a guest that panics
between the two looks like) gives a HarnessTimeoutError within the connect timeout, not a
call that hangs forever. The server is paramiko's own SSH server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest

from harness.errors import HarnessTimeoutError
from harness.guest.ssh import SshTransport

# the fake server's paramiko threads may see the client hang up mid-request; that noise is
# the server's, not the client's under test
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


class _Server(paramiko.ServerInterface):
    """Key login for anyone; session channels open; exec requests answered only when told."""

    def __init__(self, answer: threading.Event, answered: list[bool]) -> None:
        self.answer, self.answered = answer, answered

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        # paramiko's server thread stops here: no reply to the request until `answer`
        self.answered.append(self.answer.wait(60))
        channel.send_exit_status(0)
        return True

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        self.answered.append(self.answer.wait(60))
        return False


@pytest.fixture
def half_deaf(tmp_path: Path) -> Iterator[tuple[int, Path, Path, threading.Event]]:
    host_key = paramiko.ECDSAKey.generate()
    client_key = paramiko.ECDSAKey.generate()
    client_key.write_private_key_file(str(tmp_path / "client_key"))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n")
    answer, answered, transports = threading.Event(), [], []

    def serve() -> None:
        conn, _ = listener.accept()
        transport = paramiko.Transport(conn)
        transports.append(transport)
        transport.add_server_key(host_key)
        transport.start_server(server=_Server(answer, answered))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, tmp_path / "client_key", known, answer
    answer.set()
    for transport in transports:
        transport.close()
    listener.close()


def _client(server: tuple[int, Path, Path, threading.Event], bound: float) -> SshTransport:
    port, key, known, _ = server
    return SshTransport(
        "127.0.0.1", user="u", key_file=key, known_hosts=known, port=port, connect_timeout=bound
    )


def _times_out_at_the_bound(call: Callable[[], object], match: str) -> None:
    """`call` (with a 1.5 s bound) raises the timeout naming what did not start, in time."""
    began = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match=match):
        call()
    assert 1.4 < time.monotonic() - began < 10


def test_an_exec_request_never_answered_is_a_timeout_within_the_bound(
    half_deaf: tuple[int, Path, Path, threading.Event],
) -> None:
    with _client(half_deaf, 1.5) as ssh:
        _times_out_at_the_bound(
            lambda: ssh.run(["hsprobectl", "query"], timeout=60),
            r"hsprobectl: the command did not start within 1\.5 s",
        )


def test_an_exec_request_answered_in_time_runs(
    half_deaf: tuple[int, Path, Path, threading.Event],
) -> None:
    half_deaf[3].set()  # the server answers
    with _client(half_deaf, 5) as ssh:
        channel = ssh.open(["true"])
        assert channel.recv_exit_status() == 0


def test_an_sftp_request_never_answered_is_a_timeout_within_the_bound(
    half_deaf: tuple[int, Path, Path, threading.Event],
) -> None:
    with _client(half_deaf, 1.5) as ssh:
        _times_out_at_the_bound(
            lambda: ssh.put_bytes(b"hsprobe.ko", "/tmp/hsprobe.ko"),
            r"sftp did not start within 1\.5 s",
        )
