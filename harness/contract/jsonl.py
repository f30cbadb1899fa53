"""JSON Lines codec for traces: a header line, then one record per line. No file I/O here.

`TraceReader` consumes byte chunks (from a file, a pipe, an SSH channel) and yields decoded
records, so memory stays flat however long the trace is. Every malformed input raises
`InputError` naming the line: bad JSON, an unknown kind, a missing field, a sequence number
that does not increase, a truncated last line.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO

import msgspec

from harness.contract.trace import FORMAT_VERSION, Header, Record
from harness.errors import InputError

__all__ = ["TraceReader", "encode", "read_trace", "write_trace"]

_encoder = msgspec.json.Encoder()
_record_decoder = msgspec.json.Decoder(Record)
_header_decoder = msgspec.json.Decoder(Header)
_any_decoder = msgspec.json.Decoder()

# 64 KiB: the block and the records decoded from it stay in the CPU cache while the checker
# walks them; 1 MiB chunks measured a quarter slower end to end.
CHUNK = 1 << 16

_seq = operator.attrgetter("seq")


def encode(item: Header | Record) -> bytes:
    """One trace line, newline included."""
    return _encoder.encode(item) + b"\n"


def _explain(line: bytes, err: Exception) -> str:
    """A one-sentence reason for a line that failed to decode."""
    try:
        obj = _any_decoder.decode(line)
    except msgspec.DecodeError:
        return f"not valid JSON ({err})"
    if not isinstance(obj, dict):
        return "a trace line must be a JSON object"
    if "kind" not in obj:
        return 'record has no "kind" field'
    text = str(err)
    if "Invalid value" in text and "`$.kind`" in text:
        return f"unknown record kind {obj['kind']!r}"
    return f"bad {obj['kind']!r} record: {text}"


class TraceReader:
    """Incremental decoder: feed() chunks, iterate records; call close() at end of input."""

    def __init__(self, *, path: str | None = None):
        self.path = path
        self.header: Header | None = None
        self._pending = b""
        self._line = 0  # number of the last complete line consumed
        self._last_seq = -1

    def _error(self, message: str, line: int) -> InputError:
        return InputError(message, path=self.path or "<trace>", line=line)

    def _header(self, line: bytes) -> None:
        try:
            self.header = _header_decoder.decode(line)
        except msgspec.DecodeError as e:
            raise self._error(
                f"first line must be the trace header ({_explain(line, e)})", 1
            ) from None
        if self.header.format != FORMAT_VERSION:
            raise self._error(
                f"trace format {self.header.format} is not supported (this harness reads "
                f"format {FORMAT_VERSION}); record it again with this harness's driver tool",
                1,
            )

    def feed(self, chunk: bytes) -> list[Record]:
        """Decode every complete line in `chunk` (plus what was pending)."""
        data = self._pending + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self._pending = data
            return []
        self._pending = data[cut + 1 :]
        start = 0
        if self.header is None:
            start = data.find(b"\n") + 1
            self._line = 1
            self._header(data[: start - 1])
        lines = data.count(b"\n", start, cut + 1)
        if not lines:
            return []
        first = self._line + 1
        self._line += lines
        # a view, not a slice: the block is most of a megabyte and is only read once
        block = memoryview(data)[start:cut]
        try:
            records = _record_decoder.decode_lines(block)
        except msgspec.DecodeError:
            return self._decode_slowly(bytes(block), first)
        if len(records) != lines:  # blank lines: number the lines one by one
            return self._decode_slowly(bytes(block), first)
        self._check_order(records, first)
        return records

    def _check_order(self, records: list[Record], first_line: int) -> None:
        """Raise unless seqs increase; `records[i]` is on line `first_line + i`."""
        seqs = list(map(_seq, records))
        # C-level comparisons: a Python loop here would cost as much as the decoding
        if seqs[0] > self._last_seq and all(map(operator.lt, seqs, islice(seqs, 1, None))):
            self._last_seq = seqs[-1]
            return
        last = self._last_seq
        for i, seq in enumerate(seqs):
            if seq <= last:
                raise self._error(
                    f"sequence goes backwards: seq {seq} after {last}", first_line + i
                )
            last = seq

    def _decode_slowly(self, block: bytes, first: int) -> list[Record]:
        """Line by line, so that an error names its line exactly."""
        records: list[Record] = []
        for n, line in enumerate(block.split(b"\n"), start=first):
            if not line.strip():
                continue
            try:
                rec = _record_decoder.decode(line)
            except msgspec.DecodeError as e:
                raise self._error(_explain(line, e), n) from None
            self._check_order([rec], n)
            records.append(rec)
        return records

    def close(self) -> list[Record]:
        """End of input: decode a final line without newline, or report it truncated."""
        if self.header is None and not self._pending.strip():
            raise self._error("the trace is empty: it needs at least a header line", 1)
        if not self._pending.strip():
            return []
        rest, self._pending = self._pending, b""
        line = self._line + 1
        if self.header is None:
            self._header(rest)
            return []
        try:
            rec = _record_decoder.decode(rest)
        except msgspec.DecodeError as e:
            raise self._error(
                f"last line is truncated or malformed ({_explain(rest, e)}); "
                "was the trace still being written?",
                line,
            ) from None
        self._check_order([rec], line)
        return [rec]


def read_trace(stream: IO[bytes], *, path: str | None = None) -> tuple[Header, Iterator[Record]]:
    """Header and a lazy iterator over the records of a binary stream."""
    reader = TraceReader(path=path)
    buffered: list[Record] = []
    while reader.header is None:
        chunk = stream.read(CHUNK)
        buffered = reader.feed(chunk) if chunk else reader.close()
        if not chunk:
            break
    header = reader.header
    assert header is not None  # close() raised otherwise

    def records() -> Iterator[Record]:
        yield from buffered
        while chunk := stream.read(CHUNK):
            yield from reader.feed(chunk)
        yield from reader.close()

    return header, records()


def write_trace(stream: IO[bytes], header: Header, records: Iterable[Record]) -> None:
    """Write a whole trace as JSON Lines."""
    stream.write(encode(header))
    batch: list[bytes] = []
    for rec in records:
        batch.append(_encoder.encode(rec))
        if len(batch) >= 4096:
            stream.write(b"\n".join(batch) + b"\n")
            batch.clear()
    if batch:
        stream.write(b"\n".join(batch) + b"\n")
