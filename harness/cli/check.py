"""`harness check TRACE.jsonl`: judge a recorded trace against the DriverProxy contract.

Streams the file chunk by chunk, so memory stays flat whatever the trace's length. Exit 0 when
the trace is clean, 1 when it has violations, 2 when the input is malformed (one line,
`FILE:LINE: reason`), and the harness's internal-error status, with the traceback in a log
file, for a bug in the checker itself (harness.cli.failures).
"""

from __future__ import annotations

import argparse
import sys
from typing import IO

import msgspec

from harness.contract.check import INVARIANTS, Checker
from harness.contract.convention import Convention
from harness.contract.invariants import Violation
from harness.contract.jsonl import CHUNK, TraceReader
from harness.errors import InputError

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", help="JSON Lines trace file, or - for standard input")
    parser.add_argument(
        "--convention",
        choices=[c.value for c in Convention],
        help="return-value convention to judge against (default: the header's expectations)",
    )
    parser.add_argument(
        "--disable",
        metavar="NAME",
        action="append",
        default=[],
        choices=list(INVARIANTS),
        help="skip invariant NAME (repeatable); one of: " + ", ".join(INVARIANTS),
    )
    parser.add_argument(
        "--max",
        metavar="N",
        type=_listed,
        default=50,
        help="list at most N violations per invariant, then count the rest (default 50; "
        "0 counts only)",
    )


def _listed(text: str) -> int:
    """A number of violations to list: a whole number, 0 or more."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: use a whole number of at least 0")
    return value


def _open(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a trace file", path=path) from None
    except OSError as e:
        raise InputError(f"cannot be read ({e.strerror})", path=path) from None


def _run(stream: IO[bytes], name: str, args: argparse.Namespace) -> tuple[Checker, int]:
    reader = TraceReader(path=name)
    checker: Checker | None = None
    read = stream.read
    while True:
        try:
            chunk = read(CHUNK)
        except OSError as e:
            raise InputError(f"read failed ({e.strerror})", path=name) from None
        records = reader.feed(chunk) if chunk else reader.close()
        if checker is None and reader.header is not None:
            expectations = reader.header.expectations
            if args.convention:
                expectations = msgspec.structs.replace(
                    expectations, convention=Convention(args.convention)
                )
            checker = Checker(
                expectations, disabled=args.disable, cap=args.max, partial=reader.header.partial
            )
        if checker is not None:
            checker.feed_many(records)
        if not chunk:
            break
    assert checker is not None  # close() raised on a headerless trace
    return checker, checker.records


def _show(v: Violation) -> str:
    if not v.records:  # the count of those past --max
        return f"{v.invariant}: {v.message}"
    return f"{v.invariant}: {v.message} [seq {', '.join(str(s) for s in v.records)}]"


def main(args: argparse.Namespace) -> int:
    name = "<stdin>" if args.trace == "-" else args.trace
    stream = _open(args.trace)
    try:
        checker, count = _run(stream, name, args)
        violations = checker.finish()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    for v in violations:
        print(_show(v))
    for note in checker.notes:
        print(f"note: {note.invariant}: {note.message}")
    convention = checker.expectations.convention
    judged = f"convention {convention}" if convention else "return-value convention not judged"
    found = checker.violation_count
    records = f"{count} record{'s' * (count != 1)}"
    if not found:
        print(f"{name}: {records}, no violations; {judged}")
        return 0
    kinds = len({v.invariant for v in violations})
    print(
        f"{name}: {records}, {found} violation{'s' * (found != 1)} of {kinds} "
        f"invariant{'s' * (kinds != 1)}; {judged}"
    )
    return 1
