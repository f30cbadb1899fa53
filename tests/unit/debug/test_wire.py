"""The agent's JSON-lines codec over in-memory pairs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.debug.agent import wire

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


@given(st.integers(0, 2**31), st.sampled_from(wire.OPS), st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda k: k not in ("ident", "op", "limit")), JSON,
    max_size=4))
def test_request_round_trips_through_a_line_buffer(ident: int, op: str, args: dict) -> None:
    line = wire.request(ident, op, 2.5, **args)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    buf = wire.LineBuffer()
    [got] = buf.feed(line[:5]) + buf.feed(line[5:])
    assert wire.decode(got) == {"id": ident, "op": op, "args": args, "timeout": 2.5}


@given(st.integers(0, 2**31), JSON)
def test_response_round_trips(ident: int, result: object) -> None:
    assert wire.decode(wire.response(ident, result)) == {"id": ident, "ok": True,
                                                         "result": result}


def test_error_and_event_golden() -> None:
    assert wire.error(3, "timeout", "late") == (
        b'{"error":{"kind":"timeout","message":"late"},"id":3,"ok":false}\n')
    assert wire.decode(wire.event("ready", pid=5)) == {"event": "ready", "pid": 5}


@pytest.mark.parametrize("line", [
    b"not json", b"[1,2]", b'{"op":"irql"}', b'{"id":1,"op":"format_c"}',
    b'{"id":1,"ok":false,"error":{"kind":"weird"}}', b'{"id":1}', b"\xff\xfe",
    b'{"id":1,"op":"read","args":[1]}',
])
def test_malformed_lines_are_refused(line: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(line)


def test_line_buffer_skips_blank_lines_and_keeps_partial() -> None:
    buf = wire.LineBuffer()
    assert buf.feed(b'{"a":1}\n\n{"b"') == [b'{"a":1}']
    assert buf.feed(b":2}\n") == [b'{"b":2}']
