"""The RSP codec against golden bytes from the GDB manual and QEMU, and round-trip properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.debug import rsp
from harness.errors import DebuggerError


def test_frame_golden() -> None:
    assert rsp.frame(b"g") == b"$g#67"
    assert rsp.frame(b"qSupported") == b"$qSupported#37"
    assert rsp.frame(b"") == b"$#00"


def test_escape_golden() -> None:
    assert rsp.escape(b"a$b#c}d*") == b"a}\x04b}\x03c}]d}\x0a"
    assert rsp.unescape(b"a}\x04b}\x03c}]d}\x0a") == b"a$b#c}d*"


def test_rle_golden_from_gdb_manual() -> None:
    # "0* " means the same as "0000": ' ' is 32, 32 - 29 = 3 more repeats
    assert rsp.rle_decode(b"0* ") == b"0000"
    assert rsp.rle_decode(b'a0*"b') == b"a00000b"[:2] + b"0" * 5 + b"b"


def test_decoder_splits_acks_packets_and_interrupts() -> None:
    d = rsp.Decoder()
    assert d.feed(b"+$OK#9a-\x03") == [
        ("ack", b""),
        ("packet", b"OK"),
        ("nak", b""),
        ("interrupt", b""),
    ]


def test_runs_of_acks_are_one_event_each() -> None:
    d = rsp.Decoder()
    assert d.feed(b"+++$OK#9a---+") == [("ack", b""), ("packet", b"OK"), ("nak", b""), ("ack", b"")]


def test_decoder_reassembles_across_feeds() -> None:
    d = rsp.Decoder()
    assert d.feed(b"$T05thr") == []
    assert d.feed(b"ead:01;#") == []
    assert d.feed(b"0") == []
    assert d.feed(b"7") == [("packet", b"T05thread:01;")]


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"$OK#00", b"checksum mismatch"),
        (b"$OK#zz", b"malformed checksum"),
        (b"$OK# a", b"malformed checksum"),  # int(" a", 16) would accept it
        (b"$OK", b"truncated"),
        (b"$*a#" + b"%02x" % rsp.checksum(b"*a"), b"run-length code without"),
        (b"$a*\x1c#" + b"%02x" % rsp.checksum(b"a*\x1c"), b"out of range"),
    ],
)
def test_damaged_packets_are_events_and_the_next_packet_survives(
    stream: bytes, reason: bytes
) -> None:
    d = rsp.Decoder()
    [(kind, why), *rest] = d.feed(stream + rsp.frame(b"E22"))
    assert kind == "corrupt" and reason in why
    assert rest == [("packet", b"E22")]


@pytest.mark.parametrize("junk", [b"hello", b"HTTP/1.1 400 Bad Request\r\n", b"\x00"])
def test_bytes_outside_any_packet_are_a_protocol_error(junk: bytes) -> None:
    d = rsp.Decoder()
    with pytest.raises(rsp.ProtocolError, match="unexpected byte"):
        d.feed(junk)
    assert d.pending == 0  # nothing of the junk is kept


def test_protocol_errors_are_debugger_errors() -> None:
    assert issubclass(rsp.ProtocolError, DebuggerError)


def test_unterminated_packet_is_capped() -> None:
    d = rsp.Decoder()
    chunk = b"x" * 65536
    d.feed(b"$")
    with pytest.raises(rsp.ProtocolError, match="exceeds"):
        for _ in range(rsp.MAX_PACKET // len(chunk) + 2):
            d.feed(chunk)
    assert d.pending == 0


def test_run_length_expansion_is_capped() -> None:
    # each code adds 97 bytes: 8 MiB of codes would otherwise grow to about 800 MiB
    bomb = b"0" + b"*~" * 1000
    assert len(rsp.rle_decode(bomb)) == 1 + 97 * 1000
    with pytest.raises(rsp.ProtocolError, match="exceeds 5000 bytes"):
        rsp.rle_decode(bomb, limit=5000)
    with pytest.raises(rsp.ProtocolError, match="exceeds"):
        rsp.rle_decode(b"0" + b"*~" * (rsp.MAX_PACKET // 97 + 1))
    [(kind, why)] = rsp.Decoder().feed(rsp.frame(b"0" + b"*~" * (rsp.MAX_PACKET // 97 + 1)))
    assert kind == "corrupt" and b"exceeds" in why


def test_rle_repeats_an_escaped_byte_whole() -> None:
    # `}]` is an escaped '}'; repeating it must give more '}', not ']'
    assert rsp.unescape(rsp.rle_decode(b"}]*!")) == b"}" * 5


@pytest.mark.parametrize("text", [b"0", b"0g", b"0a 0b", b"+1", b"\xff\xfe"])
def test_from_hex_is_strict(text: bytes) -> None:
    with pytest.raises(rsp.ProtocolError, match="not hex"):
        rsp.from_hex(text)


def test_parse_stop() -> None:
    assert rsp.parse_stop(b"T05thread:p01.01;") == ("T", 5, {"thread": "p01.01"})
    assert rsp.parse_stop(b"S02") == ("S", 2, {})
    for bad in (b"OK", b"T0", b"Tzz", b"T 5"):
        with pytest.raises(rsp.ProtocolError):
            rsp.parse_stop(bad)


@given(st.binary(max_size=300))
def test_escape_round_trip_and_frames_cleanly(data: bytes) -> None:
    escaped = rsp.escape(data)
    assert rsp.unescape(escaped) == data
    assert not set(escaped) & set(b"$#*")
    [(kind, payload)] = rsp.Decoder().feed(rsp.frame(escaped))
    assert kind == "packet" and rsp.unescape(payload) == data


@given(st.binary(max_size=200))
def test_decoder_never_raises_anything_but_protocol_error(stream: bytes) -> None:
    d = rsp.Decoder()
    try:
        for kind, _ in d.feed(stream):
            assert kind in ("ack", "nak", "interrupt", "packet", "corrupt")
    except rsp.ProtocolError:
        pass


@given(st.lists(st.binary(max_size=64), max_size=8), st.integers(1, 7))
def test_decoder_is_chunking_invariant(payloads: list[bytes], step: int) -> None:
    stream = b"".join(rsp.frame(rsp.escape(p)) for p in payloads)
    d = rsp.Decoder()
    events = []
    for i in range(0, len(stream), step):
        events += d.feed(stream[i : i + step])
    assert [rsp.unescape(p) for _, p in events] == payloads


@given(
    st.binary(min_size=1, max_size=40).filter(lambda b: 0x2A not in b and 0x7D not in b),
    st.integers(0, 97 - 29),
)
def test_rle_expands_runs(prefix: bytes, extra: int) -> None:
    encoded = prefix + b"*" + bytes((extra + 29,))
    assert rsp.rle_decode(encoded) == prefix + prefix[-1:] * extra
