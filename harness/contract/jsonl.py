"""JSON Lines codec for traces: a header line, then one record per line. No file I/O here.

`TraceReader` consumes byte chunks (from a file, a pipe, an SSH channel) and yields decoded
records, so memory stays flat however long the trace is. Every malformed input raises
`InputError` naming the line: bad JSON, an unknown kind or key, a missing field, a value out
of its range, a sequence number that does not increase, a truncated last line, a line longer
than `MAX_LINE`, nesting too deep to decode, a file that is UTF-16, has a byte order mark or
is binary.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO, Final

import msgspec

from harness.contract.trace import FORMAT_VERSION, Expectations, Header, Record
from harness.errors import InputError

__all__ = ["MAX_LINE", "TraceReader", "encode", "read_trace", "write_trace"]

_encoder = msgspec.json.Encoder()
_record_decoder = msgspec.json.Decoder(Record)
_header_decoder = msgspec.json.Decoder(Header)
_any_decoder = msgspec.json.Decoder()

# 64 KiB: the block and the records decoded from it stay in the CPU cache while the checker
# walks them; 1 MiB chunks measured a quarter slower end to end.
CHUNK = 1 << 16
MAX_LINE: Final = 1 << 20
"""Longest line accepted (1 MiB): a record with 4,096 events is about 60 KB."""

_seq = operator.attrgetter("seq")

_PATH = re.compile(r" - at `\$\.?([^`]*)`")


def encode(item: Header | Record) -> bytes:
    """One trace line, newline included."""
    return _encoder.encode(item) + b"\n"


def _field_error(err: Exception) -> str:
    """msgspec's `Expected int >= 0 - at `$.seq`` as `seq: expected int >= 0`."""
    text = str(err)
    m = _PATH.search(text)
    if m is None:
        return text
    what = text[: m.start()]
    what = what[:1].lower() + what[1:]
    return f"{m.group(1) or 'the object'}: {what}"


def _explain(line: bytes, err: Exception) -> str:
    """A one-sentence reason for a line that failed to decode."""
    if isinstance(err, RecursionError):
        return "nested too deeply to be a trace line"
    if "Integer value out of range" in str(err):
        return f"{_field_error(err)}: trace fields are at most 64-bit"
    try:
        obj = _any_decoder.decode(line)
    except RecursionError:
        return "nested too deeply to be a trace line"
    except msgspec.DecodeError:
        return f"not valid JSON ({err})"
    if not isinstance(obj, dict):
        return "a trace line must be a JSON object"
    if "kind" not in obj:
        return 'record has no "kind" field'
    text = str(err)
    if "Invalid value" in text and "`$.kind`" in text:
        return f"unknown record kind {str(obj['kind'])[:40]!r}"
    if "unknown field" in text:
        return f"bad {str(obj['kind'])[:40]!r} record: {text.split(' - at ')[0].lower()}"
    return f"bad {str(obj['kind'])[:40]!r} record: {_field_error(err)}"


def _explain_header(line: bytes, err: Exception) -> str:
    """Why line 1 is not a header; unknown keys are listed with the known ones."""
    text = str(err)
    m = re.search(r"unknown field `([^`]*)`(?: - at `\$\.?([^`]*)`)?", text)
    if m is not None:
        where = m.group(2) or ""
        known = (
            Expectations.__struct_fields__
            if where == "expectations"
            else (("kind", *Header.__struct_fields__))
        )
        place = f"{where}." if where else ""
        return (
            f"unknown header key {place}{m.group(1)!r}; known keys"
            f"{' of expectations' if where else ''}: {', '.join(known)}"
        )
    if isinstance(err, msgspec.ValidationError) and "kind" not in text:
        return f"bad trace header: {_field_error(err)}"
    return f"first line must be the trace header ({_explain(line, err)})"


def _sniff(data: bytes) -> str | None:
    """Why the start of a file cannot be a UTF-8 JSON Lines trace, if it plainly is not."""
    if data.startswith(b"\xef\xbb\xbf"):
        return (
            "the file starts with a UTF-8 byte order mark, as some Windows tools write; "
            "save it as UTF-8 without a BOM"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (data[:1] != b"\x00" == data[1:2]):
        return (
            "the file is UTF-16 (as PowerShell's `>` writes); convert it to UTF-8, e.g. "
            "iconv -f UTF-16 -t UTF-8 IN > OUT"
        )
    if b"\x00" in data[:4096]:
        return "the file holds binary data (NUL bytes), not a JSON Lines trace"
    return None


class TraceReader:
    """Incremental decoder: feed() chunks, iterate records; call close() at end of input."""

    def __init__(self, *, path: str | None = None):
        self.path = path
        self.header: Header | None = None
        self._pending = bytearray()
        self._line = 0  # number of the last complete line consumed
        self._last_seq = -1

    def _error(self, message: str, line: int) -> InputError:
        return InputError(message, path=self.path or "<trace>", line=line)

    def _header(self, line: bytes) -> None:
        try:
            self.header = _header_decoder.decode(line)
        except (msgspec.DecodeError, RecursionError) as e:
            raise self._error(_explain_header(line, e), 1) from None
        if self.header.format != FORMAT_VERSION:
            raise self._error(
                f"trace format {self.header.format} is not supported (this harness reads "
                f"format {FORMAT_VERSION}); record it again with this harness's driver tool",
                1,
            )

    def feed(self, chunk: bytes) -> list[Record]:
        """Decode every complete line in `chunk` (plus what was pending)."""
        if self.header is None and self._line == 0 and len(self._pending) < 4096:
            reason = _sniff(bytes(self._pending) + chunk[:4096])
            if reason is not None:
                raise self._error(reason, 1)
        newline = chunk.rfind(b"\n")
        if newline < 0:  # appending keeps a long line linear, however small the chunks
            self._pending += chunk
            self._bound(self._pending)
            return []
        cut = len(self._pending) + newline
        data = bytes(self._pending) + chunk
        self._pending = bytearray(chunk[newline + 1 :])
        self._bound(self._pending)
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
        except (msgspec.DecodeError, RecursionError):
            return self._decode_slowly(bytes(block), first)
        if len(records) != lines:  # blank lines: number the lines one by one
            return self._decode_slowly(bytes(block), first)
        self._check_order(records, first)
        return records

    def _bound(self, pending: bytearray) -> None:
        """Refuse an unfinished line longer than MAX_LINE (a binary file never ends one)."""
        if len(pending) > MAX_LINE:
            raise self._error(
                f"line is longer than {MAX_LINE >> 20} MiB without a newline: not a JSON Lines "
                "trace",
                self._line + 1,
            )

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
                    f"sequence numbers must increase: seq {seq} follows seq {last}",
                    first_line + i,
                )
            last = seq

    def _decode_slowly(self, block: bytes, first: int) -> list[Record]:
        """Line by line, so that an error names its line exactly."""
        records: list[Record] = []
        for n, line in enumerate(block.split(b"\n"), start=first):
            if not line.strip():
                continue
            records.append(self._decode_line(line, n))
        return records

    def _decode_line(self, line: bytes, n: int) -> Record:
        try:
            rec = _record_decoder.decode(line)
        except (msgspec.DecodeError, RecursionError) as e:
            raise self._error(_explain(line, e), n) from None
        self._check_order([rec], n)
        return rec

    def close(self) -> list[Record]:
        """End of input: decode a final line without newline, or report it truncated."""
        if self.header is None and not self._pending.strip():
            raise self._error("the trace is empty: it needs at least a header line", 1)
        if not self._pending.strip():
            return []
        rest, self._pending = bytes(self._pending), bytearray()
        line = self._line + 1
        if self.header is None:
            self._header(rest)
            return []
        try:
            return [self._decode_line(rest, line)]
        except InputError as e:
            raise self._error(
                f"last line is truncated or malformed ({str(e).split(': ', 1)[1]}); "
                "was the trace still being written?",
                line,
            ) from None


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
