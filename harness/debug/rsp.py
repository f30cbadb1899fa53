"""The GDB Remote Serial Protocol as pure functions: framing, checksums, escaping,
run-length decoding, hex and binary payloads. No I/O.

`Decoder` turns a byte stream into events (acks, naks, packets, stray 0x03 interrupts)
incrementally, so a transport feeds it whatever `recv` returned.

Standard library only and Python 3.8 syntax: the debugger agent bundle ships this module.
See https://sourceware.org/gdb/current/onlinedocs/gdb.html/Overview.html
"""

from __future__ import annotations

__all__ = [
    "ACK",
    "INTERRUPT",
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
_MAX_PACKET = 1 << 24


class ProtocolError(Exception):
    """Bytes that are not valid RSP: bad framing, checksum, escape or run-length code."""


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


def rle_decode(payload: bytes) -> bytes:
    """Expand run-length encoding: `X*N` repeats X a further (N - 29) times."""
    if b"*" not in payload:
        return payload
    out = bytearray()
    i = 0
    while i < len(payload):
        b = payload[i]
        if b == 0x2A:  # '*'
            if not out or i + 1 >= len(payload):
                raise ProtocolError("run-length code without a preceding byte or count")
            count = payload[i + 1] - 29
            if count < 0:
                raise ProtocolError(f"run-length count byte {payload[i + 1]:#x} out of range")
            out += bytes((out[-1],)) * count
            i += 2
        elif b == 0x7D and i + 1 < len(payload):  # escaped byte: keep both, unescape later
            out += payload[i : i + 2]
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def frame(payload: bytes) -> bytes:
    """`$payload#cc` for a payload already escaped where needed."""
    return b"$" + payload + b"#" + b"%02x" % checksum(payload)


def to_hex(data: bytes) -> bytes:
    return data.hex().encode("ascii")


def from_hex(text: bytes) -> bytes:
    try:
        return bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(f"not hex: {text[:40]!r}") from None


class Decoder:
    """Incremental stream decoder. `feed(data)` returns a list of events:
    ("ack", b""), ("nak", b""), ("interrupt", b""), ("packet", payload).

    Packets come back run-length decoded but not unescaped (only binary replies are escaped,
    and only the caller knows which replies are binary). A bad checksum raises ProtocolError
    carrying nothing of the stream; the caller decides whether to NAK or give up.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        self._buf += data
        events: list[tuple[str, bytes]] = []
        while self._buf:
            head = self._buf[0]
            if head == 0x2B:
                events.append(("ack", b""))
                del self._buf[0]
            elif head == 0x2D:
                events.append(("nak", b""))
                del self._buf[0]
            elif head == 0x03:
                events.append(("interrupt", b""))
                del self._buf[0]
            elif head == 0x24:
                packet = self._take_packet()
                if packet is None:
                    break
                events.append(("packet", packet))
            else:
                raise ProtocolError(f"unexpected byte {head:#04x} between packets")
        return events

    @property
    def pending(self) -> int:
        """Bytes of an incomplete packet held back."""
        return len(self._buf)

    def _take_packet(self) -> bytes | None:
        end = self._buf.find(b"#")
        restart = self._buf.find(b"$", 1)
        if restart > 0 and (end < 0 or restart < end):
            # a packet cut short by the start of the next one: drop it, keep the next
            del self._buf[:restart]
            raise ProtocolError("truncated packet: '$' before the '#' of the previous one")
        if end < 0:
            if len(self._buf) > _MAX_PACKET:
                raise ProtocolError("packet without '#' terminator exceeds 16 MiB")
            return None
        if len(self._buf) < end + 3:
            return None
        body = bytes(self._buf[1:end])
        sent = bytes(self._buf[end + 1 : end + 3])
        del self._buf[: end + 3]
        try:
            expected = int(sent.decode("ascii"), 16)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(f"malformed checksum {sent!r}") from None
        if checksum(body) != expected:
            raise ProtocolError(
                f"checksum mismatch: packet says {expected:02x}, bytes sum to {checksum(body):02x}"
            )
        return rle_decode(body)


def parse_stop(payload: bytes) -> tuple[str, int, dict[str, str]]:
    """Split a stop reply (`S05`, `T05thread:01;...`, `W00`, `X09`) into (kind, signal,
    fields). kind is S, T, W (exited) or X (terminated); fields hold T's `name:value` pairs.
    """
    if len(payload) < 3 or payload[:1] not in (b"S", b"T", b"W", b"X"):
        raise ProtocolError(f"not a stop reply: {payload[:40]!r}")
    kind = payload[:1].decode()
    try:
        signal = int(payload[1:3], 16)
    except ValueError:
        raise ProtocolError(f"bad signal in stop reply: {payload[:40]!r}") from None
    fields: dict[str, str] = {}
    if kind == "T":
        for item in payload[3:].split(b";"):
            if item:
                key, _, value = item.partition(b":")
                fields[key.decode("ascii", "replace")] = value.decode("ascii", "replace")
    return kind, signal, fields
