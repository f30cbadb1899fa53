"""A GDB remote protocol session over TCP: packets with acks, registers by name, chunked
memory, breakpoints, continue and step, stop replies, interrupt and detach, every wait
bounded by a timeout. Knows QEMU 7.2's gdbstub quirks (listed where each is handled).

Standard library only and Python 3.8 syntax: the debugger agent bundle ships this module.
"""

from __future__ import annotations

import socket
import time

from harness.debug import rsp
from harness.debug.regs import RegisterLayout, includes, parse_registers
from harness.errors import DebuggerError, HarnessTimeoutError

__all__ = ["MAX_READ", "GdbRemote"]

#: QEMU 7.2 answers E22 to `m` packets asking for more than 2048 bytes
MAX_READ = 2048
#: bytes per `M` write (hex doubles it; stays under QEMU's 4096-byte PacketSize)
MAX_WRITE = 1024
_RETRIES = 3
_SUPPORTED = b"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386"


class GdbRemote:
    """One connection to a gdbstub. After `connect()` the target is stopped."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.layout: RegisterLayout | None = None
        self._sock: socket.socket | None = None
        self._decoder = rsp.Decoder()
        self._events: list[tuple[str, bytes]] = []

    @property
    def where(self) -> str:
        return f"gdbstub {self.host}:{self.port}"

    # -- connection ---------------------------------------------------------------------
    def connect(self) -> bytes:
        """Connect, stop the target, learn its registers; returns the current stop reply."""
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
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
        self._send(b"?")
        stop = self._recv_packet(self.timeout, "the initial stop reply")
        self.command(_SUPPORTED)  # xmlRegisters=i386 also makes QEMU answer `p` packets
        self.layout = RegisterLayout(parse_registers(self._target_description()))
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
        """Send a packet and return its reply; stop replies left over are discarded."""
        self._send(payload)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            reply = self._recv_packet(deadline - time.monotonic(), repr(payload[:24]))
            # Only `?`, `c`, `s` and interrupts expect stop replies; nothing else we send can
            # be answered by one (hex, OK, Exx, l/m xfer chunks), so a stray one is stale.
            if reply[:1] in (b"T", b"S") and payload[:1] not in (b"?", b"c", b"s"):
                continue
            return reply

    def _send(self, payload: bytes) -> None:
        data = rsp.frame(payload)
        for _ in range(_RETRIES):
            self._write(data)
            if self._wait_ack(payload):
                return
        raise DebuggerError(f"{self.where} rejected packet {payload[:24]!r} {_RETRIES} times")

    def _wait_ack(self, payload: bytes) -> bool:
        deadline = time.monotonic() + self.timeout
        while True:
            while self._events:
                kind, _ = self._events[0]
                if kind == "packet":  # a reply before the ack: the ack was lost or skipped
                    return True
                self._events.pop(0)
                if kind == "ack":
                    return True
                if kind == "nak":
                    return False
            self._fill(deadline, f"the acknowledgement of {payload[:24]!r}")

    def _recv_packet(self, timeout: float, what: str) -> bytes:
        deadline = time.monotonic() + max(timeout, 0.0)
        bad = 0
        while True:
            while self._events:
                kind, payload = self._events.pop(0)
                if kind == "packet":
                    self._write(rsp.ACK)
                    return payload
            try:
                self._fill(deadline, what)
            except rsp.ProtocolError as e:
                bad += 1
                if bad >= _RETRIES:
                    raise DebuggerError(f"{self.where} sent corrupt packets: {e}") from None
                self._write(rsp.NAK)  # ask for a retransmission

    def _fill(self, deadline: float, what: str) -> None:
        if self._decoder.pending:
            # ProtocolError may have left whole packets behind a corrupt one
            self._events += self._decoder.feed(b"")
            if self._events:
                return
        sock = self._require()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HarnessTimeoutError(f"{self.where} sent no {what} in time")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            raise HarnessTimeoutError(f"{self.where} sent no {what} in time") from None
        except OSError as e:
            raise DebuggerError(f"{self.where} connection failed: {e}") from None
        if not data:
            raise DebuggerError(f"{self.where} closed the connection while we awaited {what}")
        try:
            self._events += self._decoder.feed(data)
        except rsp.ProtocolError as e:
            if "checksum" in str(e) or "truncated" in str(e):
                raise
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

    # -- target description and registers -------------------------------------------------
    def _xfer(self, annex: str) -> str:
        out = b""
        while True:
            reply = self.command(b"qXfer:features:read:%s:%x,ffb" % (annex.encode(), len(out)))
            if reply[:1] not in (b"l", b"m"):
                raise DebuggerError(f"{self.where} cannot read {annex}: {reply[:40]!r}")
            out += rsp.unescape(reply[1:])
            if reply[:1] == b"l":
                return out.decode("utf-8", "replace")

    def _target_description(self) -> list[str]:
        docs = [self._xfer("target.xml")]
        for href in includes(docs[0]):
            docs.append(self._xfer(href))
        return docs

    def register(self, name: str) -> int:
        assert self.layout is not None
        try:
            reg = self.layout.get(name)
        except KeyError as e:
            raise DebuggerError(f"{self.where}: {e.args[0]}") from None
        reply = self.command(b"p%x" % reg.regnum)
        if not reply or reply[:1] == b"E":
            raise DebuggerError(f"{self.where} cannot read register {name}: {reply!r}")
        return int.from_bytes(rsp.from_hex(reply), "little")

    def registers(self) -> dict[str, int]:
        """All registers in one `g` round trip."""
        assert self.layout is not None
        reply = self.command(b"g")
        if reply[:1] == b"E":
            raise DebuggerError(f"{self.where} cannot read registers: {reply!r}")
        return self.layout.decode_all(rsp.from_hex(reply))

    # -- memory -----------------------------------------------------------------------------
    def read(self, address: int, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            chunk = min(MAX_READ, size - len(out))
            reply = self.command(b"m%x,%x" % (address + len(out), chunk))
            if not reply or reply[:1] == b"E":
                where = address + len(out)
                raise DebuggerError(f"{self.where} cannot read {chunk} bytes at {where:#x}")
            data = rsp.from_hex(reply)
            if not data:
                raise DebuggerError(f"{self.where} returned no bytes at {address + len(out):#x}")
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
        self._send(b"c")

    def step(self, timeout: float) -> bytes:
        self._send(b"s")
        return self.wait_stop(timeout)

    def wait_stop(self, timeout: float) -> bytes:
        reply = self._recv_packet(timeout, "stop reply")
        rsp.parse_stop(reply)
        return reply

    def interrupt(self, timeout: float) -> bytes:
        self._write(rsp.INTERRUPT)
        return self.wait_stop(timeout)
