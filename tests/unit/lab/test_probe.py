"""The resident hsprobectl: the real `hsprobectl serve -` (the stand-in's static build, run
on this host without its driver) behind a unix socket, as the lab reaches it on a guest's
virtio-serial port."""

from __future__ import annotations

import fcntl
import socket
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.guest.ssh import CommandResult
from harness.lab.probe import ProbeClient, ServedChannel

from .conftest import REPO

TOOL = REPO / "drivers" / "dist" / "linux" / "hsprobectl"
pytestmark = pytest.mark.skipif(
    not TOOL.exists(), reason="the stand-in's hsprobectl is not built: make -C drivers linux"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ProbeClient]:
    """A resident hsprobectl whose standard input and output are the accepted connection."""
    path = tmp_path / "probe.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)
    procs: list[subprocess.Popen[bytes]] = []

    def accept() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:  # closed: the test never connected (it refused before)
            return
        procs.append(
            subprocess.Popen([str(TOOL), "serve", "-"], stdin=conn, stdout=conn, stderr=None)
        )
        conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    client = ProbeClient(path, "this host", command_timeout=10.0)
    yield client
    client.close()
    listener.close()
    thread.join(5)
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_command_answers_as_a_process_would(served: ProbeClient) -> None:
    result = served.run(["query"])
    assert result.status == 3 and result.stdout == b""
    assert b"opening /dev/hsprobe failed" in result.stderr
    as_process = subprocess.run([str(TOOL), "query"], capture_output=True, check=False)
    assert result == (as_process.returncode, as_process.stdout, as_process.stderr)


def test_many_commands_on_one_connection(served: ProbeClient) -> None:
    for _ in range(3):
        usage = served.run(["no-such-command"])
        assert usage.status == 2 and b"usage: hsprobectl COMMAND" in usage.stderr
    assert served.run(["gate", "open"]).status == 3


def test_arguments_arrive_untouched(served: ProbeClient, tmp_path: Path) -> None:
    odd = str(tmp_path / "a b 'c' $(d).hspt")
    result = served.run(["convert", odd])
    assert result.status == 2
    assert f"cannot read {odd}".encode() in result.stderr


def test_an_argument_the_protocol_cannot_carry_is_refused(served: ProbeClient) -> None:
    with pytest.raises(InfrastructureError, match="holds a newline or 0x1F"):
        served.run(["mark", "two\nlines"])


def test_a_stale_answer_never_answers_the_next_request(served: ProbeClient) -> None:
    link = served._link
    link.send(b"no-such-command\n", link.begin(5.0))  # its answer (usage, 2) is left unread
    assert link._sock is not None
    usage = subprocess.run([str(TOOL), "no-such-command"], capture_output=True, check=False)
    whole = len(f"HSPS 2 0 {len(usage.stderr)}\n") + len(usage.stderr)
    deadline = time.monotonic() + 10
    while _waiting(link._sock) < whole:  # the whole stale answer is there to be dropped
        assert time.monotonic() < deadline, "the resident hsprobectl did not answer"
        time.sleep(0.01)
    assert served.run(["query"]).status == 3


def _waiting(sock: socket.socket) -> int:
    """Bytes received on `sock` and not read yet."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]


def test_a_server_that_never_answers_is_a_timeout(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "mute.sock"))
    listener.listen(1)
    client = ProbeClient(tmp_path / "mute.sock", "a mute port", command_timeout=10.0)
    began = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match=r"query ran over 0\.5 s"):
        client.run(["query"], timeout=0.5)
    assert time.monotonic() - began < 2.0
    client.close()
    listener.close()


class Recorder:
    """The channel a ServedChannel wraps, reduced to what routing needs: it records."""

    survives_revert = True
    where = "recorder"

    def __init__(self) -> None:
        self.ran: list[tuple[str, ...]] = []

    def run(
        self,
        argv: tuple[str, ...] | list[str],
        *,
        timeout: float | None = None,
        check: bool = False,
    ) -> CommandResult:
        self.ran.append(tuple(argv))
        return CommandResult(0, b"inner", b"")


def test_only_hsprobectl_commands_go_to_the_resident_one(served: ProbeClient) -> None:
    inner = Recorder()
    prefix = ("env", "HSPROBE_MODULES=/m", "/usr/bin/hsprobectl")
    channel = ServedChannel(inner, prefix, served)  # type: ignore[arg-type]
    assert channel.run((*prefix, "query")).status == 3  # the resident one answered
    assert channel.run(("rmmod", "hsprobe")).stdout == b"inner"
    assert channel.run((*prefix, "serve", "x")).stdout == b"inner"  # never served itself
    assert channel.run(("/usr/bin/hsprobectl", "query")).stdout == b"inner"  # other prefix
    assert inner.ran == [
        ("rmmod", "hsprobe"),
        (*prefix, "serve", "x"),
        ("/usr/bin/hsprobectl", "query"),
    ]
    with pytest.raises(InfrastructureError, match="query exited 3"):
        channel.run((*prefix, "query"), check=True)
