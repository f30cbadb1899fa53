"""The JSON Lines reader: records round-trip, and malformed input names the right line."""

from __future__ import annotations

import io

import pytest

from harness.contract.jsonl import TraceReader, encode, read_trace, write_trace
from harness.contract.trace import Header, Record
from harness.errors import InputError
from tests.unit.contract.script import Script, valid_worker

HEADER = b'{"kind":"header","format":1}\n'
ENTER = (
    b'{"kind":"enter","seq":%d,"t":10,"worker":1,"thread":5,"thread_object":9,"irql":0,'
    b'"wait_status":0,"version":1}'
)


def body(*seqs: int) -> bytes:
    return b"".join(ENTER % n + b"\n" for n in seqs)


def read_all(data: bytes, chunk: int) -> list[Record]:
    reader = TraceReader(path="t.jsonl")
    out: list[Record] = []
    for i in range(0, len(data), chunk):
        out.extend(reader.feed(data[i : i + chunk]))
    out.extend(reader.close())
    return out


CHUNKS = pytest.mark.parametrize("chunk", [1 << 20, 7, 64])


@CHUNKS
def test_round_trip(chunk: int) -> None:
    s = Script()
    valid_worker(s)
    s.swap(1)
    buf = io.BytesIO()
    write_trace(buf, Header(format=1, expectations=s.expectations), s.records)
    assert read_all(buf.getvalue(), chunk) == s.records


@CHUNKS
def test_last_line_without_newline_is_read(chunk: int) -> None:
    assert [r.seq for r in read_all(HEADER + body(1) + ENTER % 2, chunk)] == [1, 2]


@CHUNKS
def test_blank_lines_are_skipped_and_counted(chunk: int) -> None:
    data = HEADER + b"\n" + body(1) + b"\n\n" + body(2) + b"{oops\n"
    with pytest.raises(InputError, match=r"^t\.jsonl:7: not valid JSON"):
        read_all(data, chunk)


BAD = {
    "bad JSON": (HEADER + body(1, 2) + b'{"kind": "enter", "seq": \n', 4, "not valid JSON"),
    "unknown kind": (
        HEADER + body(1) + b'{"kind":"teleport","seq":2,"t":1}\n',
        3,
        "unknown record kind 'teleport'",
    ),
    "missing field": (
        HEADER + body(1) + b'{"kind":"signal","seq":2,"t":1,"worker":1}\n',
        3,
        "bad 'signal' record: Object missing required field `event`",
    ),
    "seq backwards": (
        HEADER + body(1, 2, 3, 3),
        5,
        "sequence numbers must increase: seq 3 follows seq 3",
    ),
    "negative seq": (HEADER + body(1) + ENTER % -9 + b"\n", 3, "seq: expected `int` >= 0"),
    "seq above 64 bits": (
        HEADER + body(1) + ENTER % 2**80 + b"\n",
        3,
        "seq: expected `int` <= 9223372036854775807",
    ),
    "thousands of digits": (
        HEADER + ENTER.replace(b"%d", b"9" * 5000) + b"\n",
        2,
        "seq: integer value out of range",
    ),
    "address above 64 bits": (
        HEADER + ENTER.replace(b'"thread_object":9', b'"thread_object":%d' % 2**64) % 1 + b"\n",
        2,
        "thread_object: address 18446744073709551616 is above 2**64-1",
    ),
    "status above 32 bits": (
        HEADER + body(1) + b'{"kind":"thread_exit","seq":2,"t":1,"worker":1,'
        b'"thread":1,"status":4294967296}\n',
        3,
        "status: expected `int` <= 4294967295",
    ),
    "unknown record key": (
        HEADER + body(1) + b'{"kind":"alert","seq":2,"t":1,"worker":1,"user_apcc":true}\n',
        3,
        "unknown field `user_apcc`",
    ),
    "deep nesting in a record": (
        HEADER
        + b'{"kind":"mark","seq":1,"t":1,"label":"x","y":'
        + b"[" * 1000
        + b"]" * 1000
        + b"}\n",
        2,
        "nested too deeply",
    ),
    "deep nesting in the header": (
        b'{"kind":"header","format":1,"expectations":' + b"[" * 1000 + b"]" * 1000 + b"}\n",
        1,
        "expectations: expected `object`, got `array`",
    ),
    "deep nesting, unknown header key": (
        b'{"kind":"header","format":1,"zz":' + b'{"a":' * 1000 + b"1" + b"}" * 1001 + b"\n",
        1,
        "unknown header key 'zz'; known keys: kind, format",
    ),
    "max_events above the kernel limit": (
        b'{"kind":"header","format":1,"expectations":{"max_events":65}}\n' + body(1),
        1,
        "expectations.max_events: expected `int` <= 64",
    ),
    "misspelt expectation": (
        b'{"kind":"header","format":1,"expectations":{"convnetion":"documented"}}\n',
        1,
        "unknown header key expectations.'convnetion'; known keys of "
        "expectations: convention, max_events",
    ),
    "misspelt header key": (
        b'{"kind":"header","format":1,"sorce":"x"}\n',
        1,
        "unknown header key 'sorce'; known keys: kind, format",
    ),
    "UTF-8 byte order mark": (b"\xef\xbb\xbf" + HEADER, 1, "byte order mark"),
    "UTF-16": (HEADER.decode().encode("utf-16"), 1, "the file is UTF-16"),
    "UTF-16 without BOM": (HEADER.decode().encode("utf-16-le"), 1, "the file is UTF-16"),
    "binary": (b"\x00" * 5000, 1, "binary data"),
    "endless line": (HEADER + b"x" * (3 << 20), 2, "longer than 1 MiB"),
    "truncated last line": (
        HEADER + body(1, 2) + (ENTER % 3)[:40],
        4,
        "last line is truncated or malformed",
    ),
    "empty file": (b"", 1, "the trace is empty"),
    "wrong format version": (
        b'{"kind":"header","format":9}\n' + body(1),
        1,
        "trace format 9 is not supported",
    ),
    "no header": (body(1), 1, "first line must be the trace header"),
    "not an object": (HEADER + b"[1, 2]\n", 2, "must be a JSON object"),
}


@CHUNKS
@pytest.mark.parametrize("case", list(BAD))
def test_malformed_input_names_the_line(case: str, chunk: int) -> None:
    data, line, reason = BAD[case]
    with pytest.raises(InputError) as info:
        read_all(data, chunk)
    assert info.value.line == line
    assert info.value.path == "t.jsonl"
    assert reason in str(info.value)
    assert str(info.value).startswith(f"t.jsonl:{line}: ")


def test_a_long_digit_run_in_a_label_is_fine() -> None:
    line = b'{"kind":"mark","seq":1,"t":1,"label":"12345678901234567890123"}\n'
    assert [r.seq for r in read_all(HEADER + line, 1 << 16)] == [1]


def test_seq_backwards_across_chunks_names_the_line() -> None:
    data = HEADER + body(*range(1, 200)) + body(50)
    with pytest.raises(InputError) as info:
        read_all(data, 100)
    assert info.value.line == 201


def test_read_trace_streams_header_then_records() -> None:
    header, records = read_trace(io.BytesIO(HEADER + body(1, 2)), path="x")
    assert header.format == 1
    assert [r.seq for r in records] == [1, 2]


def test_encode_is_one_line() -> None:
    s = Script()
    s.create()
    assert encode(s.records[0]).count(b"\n") == 1
