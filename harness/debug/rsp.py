"""The GDB Remote Serial Protocol as pure functions: framing, checksums, escaping,
run-length decoding, hex and binary payloads. No I/O.

`Decoder` turns a byte stream into events (acks, naks, packets, stray 0x03 interrupts, and
corrupt packets a transport may ask to have sent again) incrementally, so a transport feeds
it whatever `recv` returned. Nothing here grows without bound: a packet, its run-length
expansion and the bytes held back are each capped at `MAX_PACKET`.

Standard library only and Python 3.8 syntax: the debugger agent bundle ships this module.
See https://sourceware.org/gdb/current/onlinedocs/gdb.html/Overview.html
"""

from __future__ import annotations

import re

from harness.errors import DebuggerError

__all__ = [
    "ACK",
    "INTERRUPT",
    "MAX_PACKET",
    "NAK",
    "Decoder",
    "ProtocolError",
    "checksum",
    "escape",
    "frame",
    "from_hex",
    "parse_stop",
    "rle_decode",
    "to_hex",
    "unescape",
]

ACK = b"+"
NAK = b"-"
INTERRUPT = b"\x03"
# '}' escapes; '$', '#' frame; '*' starts a run-length repeat (so it is escaped in binary data)
_SPECIAL = frozenset(b"$#}*")
#: the largest packet accepted, before and after run-length expansion (QEMU's are 4 KiB)
MAX_PACKET = 1 << 24
_RLE_SPECIAL = re.compile(rb"[*}]")


class ProtocolError(DebuggerError):
    """Bytes that are not valid RSP: bad framing, checksum, escape or run-length code.

    A DebuggerError, so a malformed peer is never anything but a debugger failure."""


def checksum(payload: bytes) -> int:
    """The modulo-256 sum of a payload's bytes, as sent after '#'."""
    return sum(payload) & 0xFF


def escape(data: bytes) -> bytes:
    """Escape binary data for an X packet or binary reply: `}` then the byte XOR 0x20."""
    out = bytearray()
    for b in data:
        if b in _SPECIAL:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """Reverse `escape`."""
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == 0x7D:
            nxt = next(it, None)
            if nxt is None:
                raise ProtocolError("escape character at end of packet")
            out.append(nxt ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


def rle_decode(payload: bytes, limit: int = MAX_PACKET) -> bytes:
    """Expand run-length encoding: `X*N` repeats X a further (N - 29) times. An expansion
    beyond `limit` bytes is refused (each code multiplies a byte up to 97 times)."""
    if b"*" not in payload:
        return payload
    out = bytearray()
    i, escaped = 0, False  # escaped: the last byte kept is the second of a `}X` pair
    while True:
        match = _RLE_SPECIAL.search(payload, i)
        j = len(payload) if match is None else match.start()
        if j > i:
            out += payload[i:j]
            escaped = False
        if len(out) > limit:
            raise ProtocolError(f"run-length expansion exceeds {limit} bytes")
        if match is None:
            return bytes(out)
        if payload[j] == 0x7D:  # escaped byte: keep both, unescape later
            out += payload[j : j + 2]
            i, escaped = j + 2, True
            continue
        if not out or j + 1 >= len(payload):
            raise ProtocolError("run-length code without a preceding byte or count")
        count = payload[j + 1] - 29
        if count < 0:
            raise ProtocolError(f"run-length count byte {payload[j + 1]:#x} out of range")
        unit = out[-2:] if escaped else out[-1:]  # repeat the byte, not half its escape
        if len(out) + count * len(unit) > limit:
            raise ProtocolError(f"run-length expansion exceeds {limit} bytes")
        out += unit * count
        i = j + 2


def frame(payload: bytes) -> bytes:
    """`$payload#cc` for a payload already escaped where needed."""
    return b"$" + payload + b"#" + b"%02x" % checksum(payload)


def to_hex(data: bytes) -> bytes:
    return data.hex().encode("ascii")


_HEX = frozenset(b"0123456789abcdefABCDEF")


def _is_hex(text: bytes) -> bool:
    return bool(text) and not set(text) - _HEX


def from_hex(text: bytes) -> bytes:
    """Hex digits, two per byte, nothing else (bytes.fromhex alone would skip spaces)."""
    if len(text) % 2 or (text and not _is_hex(text)):
        raise ProtocolError(f"not hex: {text[:40]!r}")
    return bytes.fromhex(text.decode("ascii"))


class Decoder:
    """Incremental stream decoder. `feed(data)` returns a list of events:
    ("ack", b""), ("nak", b""), ("interrupt", b""), ("packet", payload), and
    ("corrupt", reason) for a packet that arrived damaged (bad checksum, cut short by the
    next `$`, bad run-length code): the caller decides whether to NAK it or give up. A run of
    identical acks, naks or interrupts is one event: repeating them means nothing more, and
    a peer flooding them costs one event per read, not one per byte.

    Packets come back run-length decoded but not unescaped (only binary replies are escaped,
    and only the caller knows which replies are binary). Bytes that cannot start anything
    (not `+ - $` or 0x03) and a packet longer than MAX_PACKET raise ProtocolError: the peer
    does not speak RSP, and no retransmission will help.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scanned = 1  # where the search for the current packet's '#' resumes

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        self._buf += data
        events: list[tuple[str, bytes]] = []
        pos = 0  # consumed bytes are dropped once at the end: a flood of acks stays linear
        try:
            while pos < len(self._buf):
                head = self._buf[pos]
                if head in _SINGLE:
                    run = _RUN.match(self._buf, pos)
                    events.append((_SINGLE[head], b""))
                    pos = run.end() if run else pos + 1
                    continue
                if head != 0x24:
                    bad = bytes(self._buf[pos : pos + 16])
                    self._buf.clear()
                    pos = 0
                    raise ProtocolError(f"unexpected byte {head:#04x} between packets ({bad!r})")
                del self._buf[:pos]
                pos = 0
                event = self._take_packet()
                if event is None:
                    break
                events.append(event)
        finally:
            del self._buf[:pos]
        return events

    @property
    def pending(self) -> int:
        """Bytes of an incomplete packet held back."""
        return len(self._buf)

    def _take_packet(self) -> tuple[str, bytes] | None:
        # search only bytes not searched before: a packet trickling in stays linear
        end = self._buf.find(b"#", self._scanned)
        restart = self._buf.find(b"$", self._scanned)
        if restart > 0 and (end < 0 or restart < end):
            # a packet cut short by the start of the next one: drop it, keep the next
            del self._buf[:restart]
            self._scanned = 1
            return ("corrupt", b"truncated packet: '$' before the '#' of the previous one")
        if end < 0:
            self._scanned = len(self._buf)
            if len(self._buf) > MAX_PACKET:
                self._buf.clear()
                raise ProtocolError(f"packet without '#' terminator exceeds {MAX_PACKET} bytes")
            return None
        if len(self._buf) < end + 3:
            self._scanned = end
            return None
        body = bytes(self._buf[1:end])
        sent = bytes(self._buf[end + 1 : end + 3])
        del self._buf[: end + 3]
        self._scanned = 1
        if not _is_hex(sent):
            return ("corrupt", b"malformed checksum %r" % sent)
        expected = int(sent, 16)
        if checksum(body) != expected:
            return (
                "corrupt",
                b"checksum mismatch: packet says %02x, bytes sum to %02x"
                % (expected, checksum(body)),
            )
        try:
            return ("packet", rle_decode(body))
        except ProtocolError as e:
            return ("corrupt", str(e).encode())


_SINGLE = {0x2B: "ack", 0x2D: "nak", 0x03: "interrupt"}
_RUN = re.compile(rb"\++|-+|\x03+")


def parse_stop(payload: bytes) -> tuple[str, int, dict[str, str]]:
    """Split a stop reply (`S05`, `T05thread:01;...`, `W00`, `X09`) into (kind, signal,
    fields). kind is S, T, W (exited) or X (terminated); fields hold T's `name:value` pairs.
    """
    if len(payload) < 3 or payload[:1] not in (b"S", b"T", b"W", b"X"):
        raise ProtocolError(f"not a stop reply: {payload[:40]!r}")
    kind = payload[:1].decode()
    if not _is_hex(payload[1:3]):
        raise ProtocolError(f"bad signal in stop reply: {payload[:40]!r}")
    signal = int(payload[1:3], 16)
    fields: dict[str, str] = {}
    if kind == "T":
        for item in payload[3:].split(b";"):
            if item:
                key, _, value = item.partition(b":")
                fields[key.decode("ascii", "replace")] = value.decode("ascii", "replace")
    return kind, signal, fields
