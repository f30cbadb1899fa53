"""A GDB remote protocol session over TCP: packets with acks, registers by name, chunked
memory, breakpoints, continue and step, stop replies, interrupt and detach. Knows QEMU 7.2's
gdbstub quirks (listed where each is handled).

A peer is never trusted to end an exchange: every exchange runs against one absolute
deadline and a byte budget, every multi-packet read (the target description) against a size
cap, and every malformed reply is a DebuggerError (`rsp.ProtocolError` is one), so a stub
that lies, floods or stalls costs at most the exchange's time limit.

Standard library only and Python 3.8 syntax: the debugger agent bundle ships this module.
"""

from __future__ import annotations

import socket
import time
from collections import deque

from harness.debug import rsp
from harness.debug.regs import RegisterLayout, includes, parse_registers
from harness.errors import DebuggerError, HarnessTimeoutError

__all__ = ["CONNECT_TIMEOUT", "MAX_READ", "GdbRemote"]

#: QEMU 7.2 answers E22 to `m` packets asking for more than 2048 bytes
MAX_READ = 2048
#: bytes per `M` write (hex doubles it; stays under QEMU's 4096-byte PacketSize)
MAX_WRITE = 1024
#: how long a peer gets to acknowledge our first packet; QEMU does so at once, so a silent
#: peer is something else (an HTTP server, a busy port, another debugger's stub)
CONNECT_TIMEOUT = 5.0
#: the target description (all its documents); QEMU's x86-64 one is about 12 KiB
MAX_DESCRIPTION = 1 << 20
MAX_INCLUDES = 32
#: bytes one exchange may receive before its reply: room for one maximal packet and noise
MAX_EXCHANGE = 2 * rsp.MAX_PACKET + 65536
_RETRIES = 3
_SUPPORTED = b"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386"
_NOT_A_STUB = "this does not look like a gdbstub (is it QEMU's -gdb port?)"


class GdbRemote:
    """One connection to a gdbstub. After `connect()` the target is stopped."""

    def __init__(
        self, host: str, port: int, timeout: float = 10.0, connect_timeout: float = CONNECT_TIMEOUT
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.connect_timeout = connect_timeout
        self.layout: RegisterLayout | None = None
        self._sock: socket.socket | None = None
        self._decoder = rsp.Decoder()
        self._events: deque[tuple[str, bytes]] = deque()
        self._received = 0  # bytes received in the current exchange

    @property
    def where(self) -> str:
        return f"gdbstub {self.host}:{self.port}"

    # -- connection ---------------------------------------------------------------------
    def connect(self) -> bytes:
        """Connect, stop the target, learn its registers; returns the current stop reply."""
        try:
            self._sock = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
        except ConnectionRefusedError:
            raise DebuggerError(
                f"{self.where} refused the connection; is QEMU running with -gdb tcp:...?"
            ) from None
        except OSError as e:
            raise DebuggerError(f"cannot connect to {self.where}: {e}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # QEMU 7.2 stops a running guest on the first byte it receives and drops the rest
        # of that packet, answering with an unsolicited stop reply instead; a stopped guest
        # answers `?` itself. Either way exactly one stop reply follows this `?`.
        stop = self._hello()
        self.command(_SUPPORTED)  # xmlRegisters=i386 also makes QEMU answer `p` packets
        self.layout = RegisterLayout(parse_registers(self._target_description()))
        return stop

    def _hello(self) -> bytes:
        """The first exchange, under the short connect timeout: a peer that is silent or
        answers with something other than RSP is named as not being a gdbstub."""
        deadline = time.monotonic() + self.connect_timeout
        try:
            self._send(b"?", deadline)
            stop = self._recv_packet(deadline, "a stop reply to '?'")
            rsp.parse_stop(stop)
        except HarnessTimeoutError:
            raise DebuggerError(
                f"{self.where} accepted the connection but said nothing for "
                f"{self.connect_timeout:g} s: {_NOT_A_STUB}; or another debugger is attached"
            ) from None
        except DebuggerError as e:
            raise DebuggerError(f"{self.where}: {_NOT_A_STUB}: {e}") from None
        return stop

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def detach(self) -> None:
        """Let the target run and disconnect. QEMU 7.2 with multiprocess wants `D;1`."""
        try:
            self.command(b"D;1")
        finally:
            self.close()

    # -- packets ------------------------------------------------------------------------
    def command(self, payload: bytes, timeout: float | None = None) -> bytes:
        """Send a packet and return its reply; stop replies left over are discarded. The
        whole exchange (acknowledgement, retransmissions, stale replies) shares one
        deadline."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        self._send(payload, deadline)
        while True:
            reply = self._recv_packet(deadline, repr(payload[:24]))
            # Only `?`, `c`, `s` and interrupts expect stop replies; nothing else we send can
            # be answered by one (hex, OK, Exx, l/m xfer chunks), so a stray one is stale.
            if reply[:1] in (b"T", b"S") and payload[:1] not in (b"?", b"c", b"s"):
                continue
            return reply

    def _send(self, payload: bytes, deadline: float) -> None:
        data = rsp.frame(payload)
        self._received = 0
        for _ in range(_RETRIES):
            self._write(data)
            if self._wait_ack(payload, deadline):
                return
        raise DebuggerError(f"{self.where} rejected packet {payload[:24]!r} {_RETRIES} times")

    def _wait_ack(self, payload: bytes, deadline: float) -> bool:
        while True:
            while self._events:
                kind, _ = self._events[0]
                if kind in ("packet", "corrupt"):
                    # a reply before the ack: the ack was lost or skipped; the reply (even a
                    # damaged one, which _recv_packet NAKs) is dealt with by the caller
                    return True
                self._events.popleft()
                if kind == "ack":
                    return True
                if kind == "nak":
                    return False
            self._fill(deadline, f"the acknowledgement of {payload[:24]!r}")

    def _recv_packet(self, deadline: float, what: str) -> bytes:
        bad = 0
        while True:
            while self._events:
                kind, payload = self._events.popleft()
                if kind == "packet":
                    self._write(rsp.ACK)
                    return payload
                if kind == "corrupt":
                    bad += 1
                    if bad >= _RETRIES:
                        reason = payload.decode("ascii", "replace")
                        raise DebuggerError(f"{self.where} sent corrupt packets: {reason}")
                    self._write(rsp.NAK)  # ask for a retransmission
            self._fill(deadline, what)

    def _fill(self, deadline: float, what: str) -> None:
        sock = self._require()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HarnessTimeoutError(f"{self.where} sent no {what} in time")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:  # noqa: UP041 - an OSError, not TimeoutError, before 3.10
            raise HarnessTimeoutError(f"{self.where} sent no {what} in time") from None
        except OSError as e:
            raise DebuggerError(f"{self.where} connection failed: {e}") from None
        if not data:
            raise DebuggerError(f"{self.where} closed the connection while we awaited {what}")
        self._received += len(data)
        if self._received > MAX_EXCHANGE:
            raise DebuggerError(f"{self.where} sent {self._received} bytes without {what}")
        try:
            self._events += self._decoder.feed(data)
        except rsp.ProtocolError as e:
            raise DebuggerError(f"{self.where} sent malformed data: {e}") from None

    def _write(self, data: bytes) -> None:
        try:
            self._require().sendall(data)
        except OSError as e:
            raise DebuggerError(f"{self.where} connection failed: {e}") from None

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise DebuggerError(f"{self.where} is not connected")
        return self._sock

    def _ok(self, payload: bytes) -> None:
        reply = self.command(payload)
        if reply != b"OK":
            raise DebuggerError(f"{self.where} answered {reply[:40]!r} to {payload[:40]!r}")

    def _hex(self, reply: bytes, what: str) -> bytes:
        try:
            return rsp.from_hex(reply)
        except rsp.ProtocolError:
            raise DebuggerError(
                f"{self.where} answered {what} with {reply[:40]!r}, not hex"
            ) from None

    # -- target description and registers -------------------------------------------------
    def _xfer(self, annex: str, deadline: float, budget: int) -> str:
        """One document, in chunks; stops at `budget` bytes or the deadline, whatever the
        stub keeps promising ('m': more data)."""
        out = b""
        while True:
            reply = self.command(
                b"qXfer:features:read:%s:%x,ffb" % (annex.encode(), len(out)),
                timeout=max(deadline - time.monotonic(), 0.0),
            )
            if reply[:1] not in (b"l", b"m"):
                raise DebuggerError(f"{self.where} cannot read {annex}: {reply[:40]!r}")
            chunk = rsp.unescape(reply[1:])
            out += chunk
            if len(out) > budget:
                raise DebuggerError(
                    f"{self.where}: the target description exceeds {MAX_DESCRIPTION} bytes"
                )
            if reply[:1] == b"l":
                return out.decode("utf-8", "replace")
            if not chunk:
                raise DebuggerError(f"{self.where} promised more of {annex} but sent none")

    def _target_description(self) -> list[str]:
        deadline = time.monotonic() + self.timeout
        docs = [self._xfer("target.xml", deadline, MAX_DESCRIPTION)]
        hrefs = includes(docs[0])
        if len(hrefs) > MAX_INCLUDES:
            raise DebuggerError(
                f"{self.where}: the target description includes "
                f"{len(hrefs)} documents (more than {MAX_INCLUDES})"
            )
        for href in hrefs:
            used = sum(len(d) for d in docs)
            docs.append(self._xfer(href, deadline, MAX_DESCRIPTION - used))
        return docs

    def register(self, name: str) -> int:
        if self.layout is None:
            raise DebuggerError(f"{self.where} is not connected")
        try:
            reg = self.layout.get(name)
        except KeyError as e:
            raise DebuggerError(f"{self.where}: {e.args[0]}") from None
        reply = self.command(b"p%x" % reg.regnum)
        if not reply or reply[:1] == b"E":
            raise DebuggerError(f"{self.where} cannot read register {name}: {reply!r}")
        return int.from_bytes(self._hex(reply, f"register {name}"), "little")

    # -- memory -----------------------------------------------------------------------------
    def read(self, address: int, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            chunk = min(MAX_READ, size - len(out))
            where = address + len(out)
            reply = self.command(b"m%x,%x" % (where, chunk))
            if not reply or reply[:1] == b"E":
                raise DebuggerError(f"{self.where} cannot read {chunk} bytes at {where:#x}")
            data = self._hex(reply, f"a read at {where:#x}")
            if not data or len(data) > chunk:
                raise DebuggerError(
                    f"{self.where} returned {len(data)} bytes at {where:#x} for a read of {chunk}"
                )
            out += data
        return bytes(out)

    def write(self, address: int, data: bytes) -> None:
        # QEMU 7.2 answers binary `X` writes with an empty (unsupported) reply: use hex `M`
        for start in range(0, len(data), MAX_WRITE):
            chunk = data[start : start + MAX_WRITE]
            self._ok(b"M%x,%x:" % (address + start, len(chunk)) + rsp.to_hex(chunk))

    # -- execution ------------------------------------------------------------------------
    def insert_breakpoint(self, address: int, hardware: bool) -> None:
        self._ok(b"Z%d,%x,1" % (1 if hardware else 0, address))

    def remove_breakpoint(self, address: int, hardware: bool) -> None:
        self._ok(b"z%d,%x,1" % (1 if hardware else 0, address))

    def cont(self) -> None:
        """Resume; the stop reply comes later through `wait_stop`."""
        self._send(b"c", time.monotonic() + self.timeout)

    def step(self, timeout: float) -> bytes:
        self._send(b"s", time.monotonic() + self.timeout)
        return self.wait_stop(timeout)

    def wait_stop(self, timeout: float) -> bytes:
        self._received = 0
        reply = self._recv_packet(time.monotonic() + max(timeout, 0.0), "stop reply")
        rsp.parse_stop(reply)
        return reply

    def interrupt(self, timeout: float) -> bytes:
        self._write(rsp.INTERRUPT)
        return self.wait_stop(timeout)
