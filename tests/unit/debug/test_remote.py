"""GdbRemote against a scripted stub: QEMU quirks handled, bad input a clear error in time."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from harness.debug import rsp
from harness.debug.gdbstub import GdbstubDebugger
from harness.debug.remote import CONNECT_TIMEOUT, MAX_EXCHANGE, GdbRemote
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
    assert tail == [
        b"Z1,fffff80000001000,1",
        b"z1,fffff80000001000,1",
        b"s",
        b"Z1,fffff80000001000,1",
        b"c",
    ]


def test_refused_connection_is_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(DebuggerError, match="refused"):
        GdbRemote("127.0.0.1", port, timeout=2).connect()


def test_silent_peer_is_not_a_gdbstub_after_the_short_connect_timeout(
    stubs: list[FakeStub],
) -> None:
    stub = start(stubs, lambda payload: None, ack=False)
    started = time.monotonic()
    with pytest.raises(
        DebuggerError,
        match=r"said nothing for 0.5 s: this does not look like "
        "a gdbstub",
    ):
        GdbRemote("127.0.0.1", stub.port, timeout=30, connect_timeout=0.5).connect()
    assert time.monotonic() - started < 3  # not the 30 s of the exchange timeout
    assert CONNECT_TIMEOUT <= 10


def test_an_http_server_is_not_a_gdbstub() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(DebuggerError, match="does not look like a gdbstub"):
            GdbRemote(
                "127.0.0.1", server.server_address[1], timeout=30, connect_timeout=1
            ).connect()
        assert time.monotonic() - started < 5
    finally:
        server.shutdown()
        server.server_close()


def test_a_peer_answering_in_another_protocol_is_not_a_gdbstub(stubs: list[FakeStub]) -> None:
    stub = start(stubs, lambda payload: b"HTTP/1.1 400 Bad Request\r\n\r\n", ack=False)
    with pytest.raises(DebuggerError, match=r"does not look like a gdbstub.*unexpected byte"):
        GdbRemote("127.0.0.1", stub.port, timeout=5).connect()


def test_endless_more_data_in_the_target_description_is_bounded(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"qXfer"):
            return rsp.frame(b"m" + b"<!-- more -->" * 300)
        return base(payload)

    stub = start(stubs, handler)
    started = time.monotonic()
    with pytest.raises(DebuggerError, match="exceeds 1048576 bytes"):
        GdbRemote("127.0.0.1", stub.port, timeout=20).connect()
    assert time.monotonic() - started < 20


def test_more_data_that_never_comes_is_refused(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})
    stub = start(stubs, lambda p: rsp.frame(b"m") if p.startswith(b"qXfer") else base(p))
    with pytest.raises(DebuggerError, match="promised more"):
        GdbRemote("127.0.0.1", stub.port, timeout=5).connect()


def test_slow_more_data_ends_at_the_deadline(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"qXfer"):
            time.sleep(0.2)
            return rsp.frame(b"m<!-- x -->")
        return base(payload)

    stub = start(stubs, handler)
    started = time.monotonic()
    with pytest.raises(HarnessTimeoutError):
        GdbRemote("127.0.0.1", stub.port, timeout=1.5).connect()
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "xml",
    [
        '<target><reg name="rip" bitsize="64" regnum="lots"/></target>',
        '<target><reg name="rip" bitsize="1e9"/></target>',
        "<target>" + '<xi:include href="a.xml"/>' * 40 + "</target>",
    ],
)
def test_hostile_target_descriptions_are_debugger_errors(stubs: list[FakeStub], xml: str) -> None:
    base = qemu_like({}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"qXfer"):
            return rsp.frame(b"l" + rsp.escape(xml.encode()))
        return base(payload)

    stub = start(stubs, handler)
    with pytest.raises(DebuggerError):
        GdbRemote("127.0.0.1", stub.port, timeout=5).connect()


def test_stale_stop_replies_cannot_extend_an_exchange(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"p"):
            for _ in range(200):  # a stream of stop replies, never the register
                assert stub.conn is not None
                stub.conn.sendall(rsp.frame(b"T05thread:01;"))
                time.sleep(0.01)
            return None
        return base(payload)

    stub = start(stubs, handler)
    remote = GdbRemote("127.0.0.1", stub.port, timeout=1)
    remote.connect()
    started = time.monotonic()
    with pytest.raises(HarnessTimeoutError):
        remote.register("cr8")
    assert time.monotonic() - started < 1.8


def test_a_flood_without_a_reply_is_cut_off(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"p"):
            return b"+" * (MAX_EXCHANGE + 65536)  # acks forever, never a packet
        return base(payload)

    stub = start(stubs, handler)
    remote = GdbRemote("127.0.0.1", stub.port, timeout=30)
    remote.connect()
    started = time.monotonic()
    with pytest.raises(DebuggerError, match="bytes without"):
        remote.register("cr8")
    assert time.monotonic() - started < 20


def test_corrupt_reply_together_with_the_ack_is_nakked(stubs: list[FakeStub]) -> None:
    # the damaged reply arrives in the same segment as the ack (no separate ack either):
    # it is a reply, NAKed and retransmitted, never a raw ProtocolError
    base = qemu_like({CR8: 3}, {})
    corrupted: list[bytes] = []

    def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"p") and not corrupted:
            corrupted.append(payload)
            return b"+$0300000000000000#00"
        reply = base(payload)
        return b"+" + reply if reply else reply

    stub = start(stubs, handler, ack=False)
    remote = GdbRemote("127.0.0.1", stub.port, timeout=5)
    remote.connect()
    assert remote.register("cr8") == 3
    assert corrupted


@pytest.mark.parametrize("reply", [b"zz00000000000000", b"0", b"03 00", b"E"])
def test_a_reply_that_is_not_hex_is_a_debugger_error(stubs: list[FakeStub], reply: bytes) -> None:
    base = qemu_like({}, {})
    stub = start(stubs, lambda p: rsp.frame(reply) if p.startswith(b"p") else base(p))
    remote = GdbRemote("127.0.0.1", stub.port, timeout=2)
    remote.connect()
    with pytest.raises(DebuggerError, match=r"not hex|cannot read register"):
        remote.register("cr8")


def test_a_read_answered_with_more_than_asked_is_refused(stubs: list[FakeStub]) -> None:
    base = qemu_like({}, {})
    stub = start(stubs, lambda p: rsp.frame(b"00" * 32) if p.startswith(b"m") else base(p))
    remote = GdbRemote("127.0.0.1", stub.port, timeout=2)
    remote.connect()
    with pytest.raises(DebuggerError, match="returned 32 bytes"):
        remote.read(0x1000, 16)


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
