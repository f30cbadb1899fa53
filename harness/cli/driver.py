"""`harness driver`: inspect driver images, and turn raw telemetry into a trace.

    harness driver inspect PATH [--manifest FILE | --no-manifest] [--json]
    harness driver decode FILE.hspt [--scenario NAME] [-o TRACE.jsonl]

inspect exits 0 when every check passes (hsprobe or any other kernel driver), 1 when a
driver fails a check or the file is not a kernel driver, 2 when it is not a (complete) PE
image or not a readable file at all; with --json every outcome, errors included, is one
JSON object on stdout. decode reads at most MAX_TELEMETRY bytes, so it ends on any input
(a FIFO, /dev/zero).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

import msgspec

from harness.contract.jsonl import write_trace
from harness.contract.trace import FORMAT_VERSION, Header
from harness.driver.artifact import MANIFEST_NAME, Manifest, load_manifest
from harness.driver.inspection import Inspection, Verdict, inspect_image
from harness.driver.telemetry import MAGIC, RECORD_SIZE, decode_telemetry
from harness.errors import HarnessError, InputError

__all__ = ["add_arguments", "main"]

_EXIT = {Verdict.OK: 0, Verdict.FAILED: 1, Verdict.NOT_DRIVER: 1, Verdict.INVALID: 2}
#: far more records than the driver's ring holds (4096) and hsprobectl ever writes at once
MAX_TELEMETRY = 64 + (1 << 20) * RECORD_SIZE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    inspect = sub.add_parser("inspect", help="check a driver image (hsprobe or any) with pefile")
    inspect.add_argument("path", type=Path, help="hsprobe.sys, hsprobe2.sys or any driver")
    group = inspect.add_mutually_exclusive_group()
    group.add_argument(
        "--manifest",
        type=Path,
        help="manifest to check the sha256 against (default: manifest.json "
        "next to the image, when there is one)",
    )
    group.add_argument("--no-manifest", action="store_true", help="skip the sha256 check")
    inspect.add_argument("--json", action="store_true", help="print the inspection as JSON")
    decode = sub.add_parser("decode", help="convert a raw telemetry file to a JSON Lines trace")
    decode.add_argument("path", type=Path, help="from `hsprobectl trace --raw` or the unload dump")
    decode.add_argument("--scenario", help="scenario name for the trace header")
    decode.add_argument("-o", "--output", type=Path, help="write here instead of stdout")


def _manifest(args: argparse.Namespace) -> Manifest | None:
    if args.no_manifest:
        return None
    if args.manifest is not None:
        return load_manifest(args.manifest)
    beside = args.path.parent / MANIFEST_NAME
    return load_manifest(beside) if beside.is_file() else None


def _report(result: Inspection, out: IO[str]) -> None:
    print(f"{result.path}: {result.verdict.value}: {result.summary}", file=out)
    print(f"  sha256 {result.sha256 or '(not read)'}  size {result.size}", file=out)
    for f in result.findings:
        print(f"  [{'ok' if f.ok else 'FAIL'}] {f.check}: {f.detail}", file=out)
    if result.verdict is Verdict.NOT_DRIVER:
        print("  pass a kernel driver (.sys), e.g. hsprobe.sys from drivers/dist", file=out)
    elif result.verdict is Verdict.INVALID:
        print("  rebuild with `make -C drivers` or copy the file again", file=out)


def _inspect(args: argparse.Namespace) -> int:
    try:
        result = inspect_image(args.path, _manifest(args))
    except HarnessError as e:
        if not args.json:
            raise
        # a tool reading --json gets JSON whatever happened, and the status as usual
        error = {"path": str(args.path), "error": str(e), "status": int(e.exit_code)}
        sys.stdout.write(msgspec.json.encode(error).decode() + "\n")
        return int(e.exit_code)
    if args.json:
        sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    else:
        _report(result, sys.stdout)
    return _EXIT[result.verdict]


def _read_telemetry(path: Path) -> bytes:
    """The file's bytes, at most MAX_TELEMETRY of them: the magic is checked first, so
    /dev/zero or a wrong file ends after four bytes, and nothing reads without end."""
    try:
        with path.open("rb") as f:
            head = f.read(len(MAGIC))
            if head != MAGIC:
                return head  # decode_telemetry names what is wrong with it
            data = head + f.read(MAX_TELEMETRY + 1 - len(head))
    except IsADirectoryError:
        raise InputError("is a directory, not a telemetry file", path=str(path)) from None
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read it ({e.strerror})", path=str(path)) from None
    if len(data) > MAX_TELEMETRY:
        raise InputError(
            f"larger than {MAX_TELEMETRY} bytes: no hsprobe telemetry file is this long",
            path=str(path),
        )
    return data


def _decode(args: argparse.Namespace) -> int:
    data = _read_telemetry(args.path)
    telemetry = decode_telemetry(data, path=str(args.path))
    if telemetry.dropped:
        print(
            f"harness driver: {telemetry.dropped} records were lost to ring overflow "
            "before the first one in this file",
            file=sys.stderr,
        )
    header = Header(format=FORMAT_VERSION, source="hsprobe", scenario=args.scenario)
    if args.output is None:
        write_trace(sys.stdout.buffer, header, telemetry.records)
        sys.stdout.buffer.flush()
    else:
        with args.output.open("wb") as f:
            write_trace(f, header, telemetry.records)
    return 0


def main(args: argparse.Namespace) -> int:
    if args.action == "inspect":
        return _inspect(args)
    return _decode(args)
