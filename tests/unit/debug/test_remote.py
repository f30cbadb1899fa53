"""GdbRemote against a scripted stub: QEMU quirks handled, bad input a clear error in time."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from harness.debug import rsp
from harness.debug.gdbstub import GdbstubDebugger
from harness.debug.remote import GdbRemote
from harness.errors import DebuggerError, HarnessTimeoutError

from .fakestub import FakeStub, Handler, qemu_like

RIP, CS, GS_BASE, K_GS_BASE, CR8 = 16, 17, 18, 19, 20


@pytest.fixture
def stubs() -> Iterator[list[FakeStub]]:
    made: list[FakeStub] = []
    yield made
    for stub in made:
        stub.close()


def start(stubs: list[FakeStub], handler: Handler, **kw: object) -> FakeStub:
    stub = FakeStub(handler, **kw)  # type: ignore[arg-type]
    stubs.append(stub)
    return stub


def test_registers_numbered_after_stripping_comments(stubs: list[FakeStub]) -> None:
    stub = start(stubs, qemu_like({RIP: 0x1000, GS_BASE: 0xFFFF800012340000, CR8: 2}, {}))
    remote = GdbRemote("127.0.0.1", stub.port, timeout=5)
    remote.connect()
    assert remote.register("gs_base") == 0xFFFF800012340000
    assert remote.register("cr8") == 2
    assert b"p12" in stub.received  # gs_base is 18, not 20 as a comment-counting parser says


def test_unsolicited_stop_reply_is_consumed(stubs: list[FakeStub]) -> None:
    # a running QEMU eats our first packet and answers with a stop reply of its own
    eaten: list[bool] = []
    base = qemu_like({CR8: 7}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload == b"?" and not eaten:
            eaten.append(True)
            return rsp.frame(b"T02thread:p01.01;")
        return base(payload)

    stub = start(stubs, handler, ack=False)
    remote = GdbRemote("127.0.0.1", stub.port, timeout=5)
    assert remote.connect().startswith(b"T02")
    assert remote.register("cr8") == 7


def test_memory_read_is_chunked_under_qemu_limit(stubs: list[FakeStub]) -> None:
    memory = {0x5000 + i: i & 0xFF for i in range(5000)}
    stub = start(stubs, qemu_like({}, memory))
    remote = GdbRemote("127.0.0.1", stub.port, timeout=5)
    remote.connect()
    assert remote.read(0x5000, 5000) == bytes(i & 0xFF for i in range(5000))
    sizes = [int(p.split(b",")[1], 16) for p in stub.received if p.startswith(b"m")]
    assert sizes == [2048, 2048, 904]


def test_resume_steps_over_the_breakpoint_it_stopped_at(stubs: list[FakeStub]) -> None:
    stub = start(stubs, qemu_like({RIP: 0xFFFFF80000001000}, {}))
    dbg = GdbstubDebugger("127.0.0.1", stub.port, timeout=5)
    dbg.break_at("0xfffff80000001000")
    dbg.resume()
    tail = [p for p in stub.received if p[:1] in (b"z", b"s", b"Z", b"c")]
    assert tail == [b"Z1,fffff80000001000,1", b"z1,fffff80000001000,1", b"s",
                    b"Z1,fffff80000001000,1", b"c"]


def test_refused_connection_is_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(DebuggerError, match="refused"):
        GdbRemote("127.0.0.1", port, timeout=2).connect()


def test_silent_stub_times_out_in_time(stubs: list[FakeStub]) -> None:
    stub = start(stubs, lambda payload: None)
    started = time.monotonic()
    with pytest.raises(HarnessTimeoutError, match="in time"):
        GdbRemote("127.0.0.1", stub.port, timeout=0.5).connect()
    assert time.monotonic() - started < 3


def test_wrong_checksum_is_nakked_and_retransmission_accepted(stubs: list[FakeStub]) -> None:
    base = qemu_like({CR8: 3}, {})
    corrupted: list[bytes] = []

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"p") and not corrupted:
            corrupted.append(payload)
            return b"$0300000000000000#00"
        return base(payload)

    stub = start(stubs, handler)
    remote = GdbRemote("127.0.0.1", stub.port, timeout=5)
    remote.connect()
    assert remote.register("cr8") == 3
    assert corrupted


def test_persistently_corrupt_stub_is_a_clear_error(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"p"):
            return b"$00#00" * 3
        return base(payload)

    stub = start(stubs, handler)
    remote = GdbRemote("127.0.0.1", stub.port, timeout=2)
    remote.connect()
    with pytest.raises(DebuggerError, match="corrupt"):
        remote.register("cr8")


@pytest.mark.parametrize("garbage", [b"hello world", b"$OK#zz"])
def test_malformed_reply_is_a_clear_error(stubs: list[FakeStub], garbage: bytes) -> None:
    base = qemu_like({}, {})
    stub = start(stubs, lambda p: garbage if p.startswith(b"p") else base(p))
    remote = GdbRemote("127.0.0.1", stub.port, timeout=2)
    remote.connect()
    with pytest.raises(DebuggerError):
        remote.register("cr8")


def test_truncated_reply_then_silence_times_out(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})
    stub = start(stubs, lambda p: b"$0011" if p.startswith(b"p") else base(p))
    remote = GdbRemote("127.0.0.1", stub.port, timeout=0.5)
    remote.connect()
    with pytest.raises(HarnessTimeoutError):
        remote.register("cr8")


def test_stub_closing_mid_command_is_a_clear_error(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"p"):
            assert stub.conn is not None
            stub.conn.shutdown(socket.SHUT_RDWR)
            return None
        return base(payload)

    stub = start(stubs, handler)
    remote = GdbRemote("127.0.0.1", stub.port, timeout=2)
    remote.connect()
    with pytest.raises(DebuggerError, match=r"closed|failed"):
        remote.register("cr8")
