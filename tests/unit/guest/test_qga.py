"""The guest agent client against a real QEMU guest agent: Debian's qemu-ga, run on this host
on a unix socket (the lab reaches the same agent in a guest through libvirt)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.guest.qga import CHUNK, GuestAgent, SocketSend

QEMU_GA = shutil.which("qemu-ga") or "/usr/sbin/qemu-ga"
pytestmark = pytest.mark.skipif(
    not os.path.exists(QEMU_GA),
    reason="qemu-ga is not installed (make test installs it: scripts/setup-host)",
)


class Recording(SocketSend):
    """The product's socket `send`, remembering each request."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "on the host")
        self.sent: list[dict[str, object]] = []

    def __call__(self, request: str, timeout: float) -> str:
        self.sent.append(json.loads(request))
        return super().__call__(request, timeout)


def _start_agent(tmp_path: Path, sock: Path) -> subprocess.Popen[bytes]:
    """Debian's qemu-ga listening on `sock`, once the socket is there."""
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [QEMU_GA, "-m", "unix-listen", "-p", str(sock), "-t", str(tmp_path), "-f",
         str(tmp_path / "qga.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            why = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"qemu-ga made no socket within 10 s: {why}")
        time.sleep(0.01)
    return proc


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[GuestAgent, Recording]]:
    sock = tmp_path / "qga.sock"
    proc = _start_agent(tmp_path, sock)
    try:
        send = Recording(sock)
        yield GuestAgent(send, "on the host", command_timeout=10.0), send
        send.close()
    finally:
        proc.kill()
        proc.wait()


def test_a_socket_made_anew_is_connected_again(tmp_path: Path) -> None:
    """A new QEMU (restarted after a crash, or by libvirt's revert) makes its sockets anew:
    the kept connection to the old one is dropped, not written into."""
    sock = tmp_path / "qga.sock"
    first = _start_agent(tmp_path, sock)
    ga = GuestAgent(SocketSend(sock, "on the host"), "on the host", command_timeout=5.0)
    ga.ping(5.0)
    first.kill()
    first.wait()
    second = _start_agent(tmp_path, sock)
    try:
        ga.ping(5.0)
        assert ga.run(["true"]).status == 0
    finally:
        second.kill()
        second.wait()


def test_run_gives_status_and_both_streams(agent: tuple[GuestAgent, Recording]) -> None:
    ga, _ = agent
    result = ga.run(["sh", "-c", "printf out; printf err >&2; exit 3"], check=False)
    assert result == (3, b"out", b"err")


def test_run_passes_arguments_without_a_shell(agent: tuple[GuestAgent, Recording]) -> None:
    ga, _ = agent
    weird = "a b;$(echo no)'\"*"
    assert ga.run(["printf", "%s", weird]).stdout == weird.encode()


def test_a_failing_command_checked_names_program_and_status(
    agent: tuple[GuestAgent, Recording],
) -> None:
    ga, _ = agent
    with pytest.raises(InfrastructureError, match=r"sh exited 5: why"):
        ga.run(["sh", "-c", "echo why >&2; exit 5"])


def test_a_program_that_does_not_exist_is_status_127(
    agent: tuple[GuestAgent, Recording],
) -> None:
    ga, _ = agent
    result = ga.run(["/no/such/program"], check=False)
    assert result.status == 127
    assert b"/no/such/program" in result.stderr


def test_a_command_over_its_time_is_a_timeout(agent: tuple[GuestAgent, Recording]) -> None:
    ga, _ = agent
    began = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match=r"sleep ran over 0\.3 s"):
        ga.run(["sleep", "5"], timeout=0.3)
    assert time.monotonic() - began < 2.0


def test_a_quick_command_polls_briefly(agent: tuple[GuestAgent, Recording]) -> None:
    ga, send = agent
    ga.run(["true"])
    polls = [r for r in send.sent if r["execute"] == "guest-exec-status"]
    assert 1 <= len(polls) <= 6, polls


def test_output_over_the_agents_limit_is_refused(agent: tuple[GuestAgent, Recording]) -> None:
    ga, _ = agent
    with pytest.raises(InfrastructureError, match="more than the agent keeps"):
        ga.run(["head", "-c", str(17 << 20), "/dev/zero"])


def test_files_round_trip_in_chunks(agent: tuple[GuestAgent, Recording], tmp_path: Path) -> None:
    ga, send = agent
    data = os.urandom(2 * CHUNK + 12345)
    local = tmp_path / "in.bin"
    local.write_bytes(data)
    remote = str(tmp_path / "remote.bin")
    ga.put(local, remote)
    writes = [r for r in send.sent if r["execute"] == "guest-file-write"]
    assert len(writes) == 3
    assert Path(remote).read_bytes() == data
    assert ga.fetch(remote) == data
    ga.get(remote, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == data
    assert ga.sha256(remote) == hashlib.sha256(data).hexdigest()
    closes = [r for r in send.sent if r["execute"] == "guest-file-close"]
    assert len(closes) == 3  # every handle closed


def test_missing_files_are_infrastructure_errors(
    agent: tuple[GuestAgent, Recording], tmp_path: Path
) -> None:
    ga, _ = agent
    missing = str(tmp_path / "nothing-here")
    with pytest.raises(InfrastructureError, match="guest-file-open failed"):
        ga.fetch(missing)
    with pytest.raises(InfrastructureError, match="sha256sum exited 1"):
        ga.sha256(missing)


def test_a_stale_reply_never_answers_the_next_request(
    agent: tuple[GuestAgent, Recording],
) -> None:
    """A reply nobody waited for (a request abandoned before a revert) is dropped."""
    ga, send = agent
    ga.ping(5.0)  # connected and synchronised
    link = send._link
    link.send(b'{"execute": "guest-info"}\n', link.begin(5.0))  # its reply is left unread
    time.sleep(0.3)
    assert ga.call("guest-exec", {"path": "true"})["pid"] > 0


def test_an_agent_that_never_answers_is_a_timeout(tmp_path: Path) -> None:
    import socket

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "mute.sock"))
    server.listen(1)
    ga = GuestAgent(SocketSend(tmp_path / "mute.sock", "on a mute socket"), "on a mute socket")
    began = time.monotonic()
    with pytest.raises(InfrastructureError, match=r"no answer within 0\.5 s"):
        ga.ping(0.5)
    assert time.monotonic() - began < 2.0
    with pytest.raises(InfrastructureError, match="cannot connect"):
        GuestAgent(SocketSend(tmp_path / "none.sock", "nowhere"), "nowhere").ping(0.5)
    server.close()


def test_a_reply_that_is_not_json_is_named() -> None:
    ga = GuestAgent(lambda request, timeout: "<html>", "on nothing")
    with pytest.raises(InfrastructureError, match="guest-ping answered with no JSON"):
        ga.ping(1.0)
