"""The agent's JSON-lines codec over in-memory pairs: round trips, and both directions of a
hostile wire refused as WireErrors (never KeyError, TypeError, OverflowError...)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.debug.agent import wire

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
U64 = st.integers(0, 2**64 - 1)
REQUESTS = st.one_of(
    st.builds(lambda t: ("attach", {"target": t}), st.text(max_size=40)),
    st.builds(lambda s: ("break_at", {"symbol": s}), st.text(max_size=40)),
    st.builds(lambda b: ("clear", {"breakpoint": b}), st.integers(0, 2**31)),
    st.builds(
        lambda t: ("wait_break", {"timeout": t}),
        st.floats(0.001, wire.MAX_TIMEOUT, allow_nan=False),
    ),
    st.builds(lambda a, n: ("read", {"address": a, "size": n}), U64, st.integers(1, 4096)),
    st.sampled_from([("resume", {}), ("irql", {}), ("thread", {}), ("detach", {})]),
    st.builds(lambda t: ("command", {"text": t}), st.text(max_size=40)),
)


@given(st.integers(0, 2**31), REQUESTS, st.floats(0.001, wire.MAX_TIMEOUT, allow_nan=False))
def test_request_round_trips_through_a_line_buffer(
    ident: int, req: tuple[str, dict], limit: float
) -> None:
    op, args = req
    line = wire.request(ident, op, limit, **args)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    buf = wire.LineBuffer()
    [got] = buf.feed(line[:5]) + buf.feed(line[5:])
    assert wire.decode_request(got) == (ident, op, args, limit)


@given(st.binary(max_size=300), U64)
def test_write_data_travels_as_base64(data: bytes, address: int) -> None:
    if not data:
        return
    line = wire.request(1, "write", 5, address=address, data=data)
    assert wire.decode_request(line)[2] == {"address": address, "data": data}


@given(st.integers(0, 2**31), JSON)
def test_response_round_trips(ident: int, result: object) -> None:
    assert wire.decode(wire.response(ident, result)) == {"id": ident, "ok": True, "result": result}


def test_error_and_event_golden() -> None:
    assert wire.error(3, "timeout", "late") == (
        b'{"error":{"kind":"timeout","message":"late"},"id":3,"ok":false}\n'
    )
    assert wire.decode(wire.event("ready", pid=5)) == {"event": "ready", "pid": 5}


@pytest.mark.parametrize(
    "line",
    [
        b"not json",
        b"[1,2]",
        b'{"op":"irql"}',
        b'{"id":1,"op":"format_c"}',
        b'{"id":1,"ok":false,"error":{"kind":"weird"}}',
        b'{"id":1}',
        b"\xff\xfe",
        b'{"id":1,"op":"read","args":[1]}',
        b'{"id":true,"ok":true}',
        b'{"id":1,"ok":false,"error":{"kind":"usage","message":7}}',
        b'{"id":1,"ok":true,"result":NaN}',
        b'{"id":1,"ok":true,"result":-Infinity}',
        b'{"id":1,"ok":true,"result":' + b"9" * 5000 + b"}",
        b'{"id":1,"ok":true,"result":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"id":1,"ok":true,"result":' + b"[" * 40 + b"]" * 40 + b"}",
        b'{"event":5}',
    ],
)
def test_malformed_lines_are_refused(line: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(line)


@pytest.mark.parametrize("timeout", ["30", None, -1, 0, 1e300, True, [], {"a": 1}])
def test_hostile_timeouts_are_refused(timeout: object) -> None:
    line = json.dumps({"id": 1, "op": "irql", "args": {}, "timeout": timeout}).encode()
    with pytest.raises(wire.WireError, match="timeout"):
        wire.decode_request(line)


@pytest.mark.parametrize("raw", [b"Infinity", b"NaN", b"-Infinity"])
def test_non_finite_timeouts_are_refused(raw: bytes) -> None:
    with pytest.raises(wire.WireError, match="not a JSON number"):
        wire.decode_request(b'{"id":1,"op":"irql","args":{},"timeout":' + raw + b"}")


@pytest.mark.parametrize(
    ("op", "args", "match"),
    [
        ("read", {"address": 1}, "needs argument size"),
        ("read", {"address": -1, "size": 1}, "out of range"),
        ("read", {"address": 2**64, "size": 1}, "out of range"),
        ("read", {"address": 1, "size": 2**40}, "out of range"),
        ("read", {"address": "0x10", "size": 1}, "expected an integer"),
        ("read", {"address": 1.5, "size": 1}, "expected an integer"),
        ("write", {"address": 1, "data": "!!not base64!!"}, "base64"),
        ("clear", {"breakpoint": None}, "expected an integer"),
        ("wait_break", {"timeout": "soon"}, "timeout"),
        ("wait_break", {}, "needs argument timeout"),
        ("attach", {"target": "x", "build": "26100"}, "expected an integer"),
        ("attach", {"target": "x", "hardware": 1}, "true or false"),
        ("irql", {"extra": 1}, "takes no argument extra"),
        ("command", {"text": "x" * (wire.MAX_TEXT + 1)}, "characters"),
    ],
)
def test_bad_arguments_are_refused_with_the_op_named(op: str, args: dict, match: str) -> None:
    line = json.dumps({"id": 1, "op": op, "args": args, "timeout": 5}).encode()
    with pytest.raises(wire.WireError, match=match):
        wire.decode_request(line)


@pytest.mark.parametrize(
    ("op", "value", "match"),
    [
        ("irql", 16, "out of range"),
        ("irql", "2", "integer"),
        ("irql", None, "integer"),
        ("thread", {"id": 1}, "integer"),
        ("thread", [1, 2], "expected a thread"),
        ("wait_break", {"breakpoint": "1", "address": 0}, "integer"),
        ("wait_break", {"breakpoint": None, "address": -5}, "out of range"),
        ("read", "!!!", "base64"),
        ("read", 12, "base64"),
        ("break_at", -1, "out of range"),
        ("command", 5, "text"),
        ("detach", "done", "no result"),
    ],
)
def test_malformed_results_are_refused(op: str, value: object, match: str) -> None:
    with pytest.raises(wire.WireError, match=match):
        wire.result(op, value, {"size": 4})


def test_results_are_converted() -> None:
    data = base64.b64encode(b"\x01\x02").decode()
    assert wire.result("read", data, {"size": 2}) == b"\x01\x02"
    with pytest.raises(wire.WireError, match="2 bytes, not the 4"):
        wire.result("read", data, {"size": 4})
    assert wire.result("wait_break", {"breakpoint": None, "address": 5}) == {
        "breakpoint": None,
        "address": 5,
        "event": "",
    }


def test_secrets_of_a_kdnet_string_and_redaction() -> None:
    secrets = wire.secrets_of("net:port=50000,key=1.2.3.4,target=10.0.0.2")
    assert secrets == ("1.2.3.4",)
    assert wire.redact("cannot attach net:port=50000,key=1.2.3.4", secrets) == (
        "cannot attach net:port=50000,key=***"
    )
    assert wire.secrets_of("127.0.0.1:1234") == ()


def test_line_buffer_skips_blank_lines_and_keeps_partial() -> None:
    buf = wire.LineBuffer()
    assert buf.feed(b'{"a":1}\n\n{"b"') == [b'{"a":1}']
    assert buf.feed(b":2}\n") == [b'{"b":2}']


def test_line_buffer_caps_a_line_without_end() -> None:
    buf = wire.LineBuffer(limit=1000)
    buf.feed(b"x" * 999)
    with pytest.raises(wire.WireError, match="longer than 1000"):
        buf.feed(b"yy")
    assert buf.feed(b"ok\n") == [b"ok"]  # the buffer starts over


@given(
    st.lists(st.binary(max_size=30).filter(lambda b: b"\n" not in b), max_size=6), st.integers(1, 9)
)
def test_line_buffer_is_chunking_invariant(lines: list[bytes], step: int) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    buf = wire.LineBuffer()
    got: list[bytes] = []
    for i in range(0, len(stream), step):
        got += buf.feed(stream[i : i + step])
    assert got == [line for line in lines if line.strip()]
