"""A scripted gdbstub on loopback: answers packets through a function, records what it got."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from harness.debug import rsp

#: a QEMU 7.2-shaped description: a regnum reset and commented-out registers
FEATURE_XML = """<?xml version="1.0"?>
<feature name="org.gnu.gdb.i386.core">
  <reg name="rax" bitsize="64" regnum="0"/>
  <reg name="rip" bitsize="64" regnum="16"/>
  <reg name="cs" bitsize="32"/>
  <!--reg name="cs_base" bitsize="64"/>
  <reg name="ss_base" bitsize="64"/-->
  <reg name="gs_base" bitsize="64"/>
  <reg name="k_gs_base" bitsize="64"/>
  <reg name="cr8" bitsize="64"/>
</feature>"""
TARGET_XML = '<target><xi:include href="core.xml"/></target>'

Handler = Callable[[bytes], "bytes | None"]


def qemu_like(registers: dict[int, int], memory: dict[int, int]) -> Handler:
    """Answers like QEMU 7.2: `p`, `m` (E22 above 2048 bytes), Z/z, qXfer, `?`."""

    def handle(payload: bytes) -> bytes | None:
        if payload == b"?":
            return rsp.frame(b"T05thread:p01.01;")
        if payload.startswith(b"qSupported"):
            return rsp.frame(b"PacketSize=1000;qXfer:features:read+")
        if payload.startswith(b"qXfer:features:read:"):
            annex = payload.split(b":")[3]
            text = TARGET_XML if annex == b"target.xml" else FEATURE_XML
            return rsp.frame(b"l" + rsp.escape(text.encode()))
        if payload.startswith(b"p"):
            value = registers.get(int(payload[1:], 16), 0)
            return rsp.frame(rsp.to_hex(value.to_bytes(8, "little")))
        if payload.startswith(b"m"):
            addr, size = (int(x, 16) for x in payload[1:].split(b","))
            if size > 2048:
                return rsp.frame(b"E22")
            return rsp.frame(rsp.to_hex(bytes(memory.get(addr + i, 0) for i in range(size))))
        if payload[:1] in (b"Z", b"z") or payload.startswith(b"D"):
            return rsp.frame(b"OK")
        if payload == b"s":
            return rsp.frame(b"T05thread:p01.01;")
        return rsp.frame(b"")

    return handle


class FakeStub:
    """Listens on 127.0.0.1; `handler(payload)` returns raw bytes to send (None: stay mute).
    A NAK makes it ask the handler again for the last packet (a retransmission)."""

    def __init__(self, handler: Handler, *, ack: bool = True) -> None:
        self.handler, self.ack = handler, ack
        self.received: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def send(self, data: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(data)

    def _serve(self) -> None:
        self.listener.settimeout(10)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.conn = conn
        with conn:
            try:
                self._loop(conn)
            except OSError:  # the test closed the connection under us
                return

    def _loop(self, conn: socket.socket) -> None:
        decoder = rsp.Decoder()
        while True:
            data = conn.recv(65536)
            if not data:
                return
            for kind, payload in decoder.feed(data):
                if kind == "nak" and self.received:  # retransmit: ask the handler again
                    reply = self.handler(self.received[-1])
                    if reply:
                        conn.sendall(reply)
                if kind != "packet":
                    if kind == "interrupt":
                        conn.sendall(rsp.frame(b"T02thread:p01.01;"))
                    continue
                self.received.append(payload)
                if self.ack:
                    conn.sendall(b"+")
                reply = self.handler(payload)
                if reply:
                    conn.sendall(reply)

    def close(self) -> None:
        self.listener.close()
        if self.conn is not None:
            self.conn.close()
