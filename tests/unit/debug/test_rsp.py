"""The RSP codec against golden bytes from the GDB manual and QEMU, and round-trip properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.debug import rsp


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
    assert rsp.rle_decode(b"a0*\"b") == b"a00000b"[:2] + b"0" * 5 + b"b"


def test_decoder_splits_acks_packets_and_interrupts() -> None:
    d = rsp.Decoder()
    assert d.feed(b"+$OK#9a-\x03") == [("ack", b""), ("packet", b"OK"), ("nak", b""),
                                      ("interrupt", b"")]


def test_decoder_reassembles_across_feeds() -> None:
    d = rsp.Decoder()
    assert d.feed(b"$T05thr") == []
    assert d.feed(b"ead:01;#") == []
    assert d.feed(b"0") == []
    assert d.feed(b"7") == [("packet", b"T05thread:01;")]


def test_decoder_rejects_bad_checksum_then_continues() -> None:
    d = rsp.Decoder()
    with pytest.raises(rsp.ProtocolError, match="checksum"):
        d.feed(b"$OK#00$OK#9a")
    assert d.feed(b"") == [("packet", b"OK")]


def test_decoder_rejects_truncated_packet_and_keeps_the_next() -> None:
    d = rsp.Decoder()
    with pytest.raises(rsp.ProtocolError, match="truncated"):
        d.feed(b"$OK" + rsp.frame(b"E22"))
    assert d.feed(b"") == [("packet", b"E22")]


@pytest.mark.parametrize("junk", [b"hello", b"$OK#zz"])
def test_decoder_rejects_junk(junk: bytes) -> None:
    with pytest.raises(rsp.ProtocolError):
        rsp.Decoder().feed(junk)


def test_parse_stop() -> None:
    assert rsp.parse_stop(b"T05thread:p01.01;") == ("T", 5, {"thread": "p01.01"})
    assert rsp.parse_stop(b"S02") == ("S", 2, {})
    with pytest.raises(rsp.ProtocolError):
        rsp.parse_stop(b"OK")


@given(st.binary(max_size=300))
def test_escape_round_trip_and_frames_cleanly(data: bytes) -> None:
    escaped = rsp.escape(data)
    assert rsp.unescape(escaped) == data
    assert not set(escaped) & set(b"$#*")
    [(kind, payload)] = rsp.Decoder().feed(rsp.frame(escaped))
    assert kind == "packet" and rsp.unescape(payload) == data


@given(st.lists(st.binary(max_size=64), max_size=8), st.integers(1, 7))
def test_decoder_is_chunking_invariant(payloads: list[bytes], step: int) -> None:
    stream = b"".join(rsp.frame(rsp.escape(p)) for p in payloads)
    d = rsp.Decoder()
    events = []
    for i in range(0, len(stream), step):
        events += d.feed(stream[i : i + step])
    assert [rsp.unescape(p) for _, p in events] == payloads


@given(st.binary(min_size=1, max_size=40).filter(lambda b: 0x2A not in b and 0x7D not in b),
       st.integers(0, 97 - 29))
def test_rle_expands_runs(prefix: bytes, extra: int) -> None:
    encoded = prefix + b"*" + bytes((extra + 29,))
    assert rsp.rle_decode(encoded) == prefix + prefix[-1:] * extra
