"""`harness triage`: analyse crashes and bucket them by signature.

harness triage PATH            a dump, console log, !analyze output, crash directory, run
                               directory or crash store: analyse, remember, print buckets
harness triage show BUCKET     one bucket in full (an id prefix is enough)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Collection
from pathlib import Path

from harness.errors import ConfigError, InputError
from harness.triage.analysis import analyse_path, occurrence_of
from harness.triage.model import Unanalysable
from harness.triage.store import (
    Bucket,
    CrashStore,
    Occurrence,
    SqliteCrashStore,
    open_crash_store,
    open_store,
)

__all__ = ["add_arguments", "main"]

DEFAULT_STORE = "out/crashes.sqlite"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "path",
        metavar="PATH|show",
        help="what to analyse (a dump, log, crash or run directory, or a store), "
        "or `show` followed by a bucket id",
    )
    p.add_argument("bucket", nargs="?", help=argparse.SUPPRESS)
    p.add_argument(
        "--store",
        metavar="FILE",
        help=f"crash store (default: $HARNESS_CRASH_STORE or {DEFAULT_STORE})",
    )
    p.add_argument("--no-store", action="store_true", help="analyse and print; remember nothing")
    p.add_argument("--html", metavar="FILE", help="also write the crashes as an HTML page")
    p.add_argument(
        "--retain",
        type=int,
        metavar="N",
        help="then keep only the first N dumps and the newest of each bucket, compressed",
    )


def _store_path(args: argparse.Namespace) -> str:
    """A file, or a results store URL (the nightly runs' crashes, docs/nightly.md)."""
    return str(args.store or os.environ.get("HARNESS_CRASH_STORE") or DEFAULT_STORE)


def _is_store(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(16) == b"SQLite format 3\0"


def _first_line(path: Path) -> None:
    """For a Windows dump, the bug check from the header alone, before the slow part."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError:
        return
    if magic != b"PAGE":
        return
    from harness.triage.bugchecks import describe
    from harness.triage.windump import peek

    try:
        header, truncated = peek(path)
    except Unanalysable:
        return  # the full analysis says why, once
    params = ", ".join(f"{p:#x}" for p in header.params)
    note = f"; {truncated}" if truncated else ""
    print(f"{path}: bug check {describe(header.bugcheck)} ({params}){note}", flush=True)


def print_buckets(buckets: list[Bucket], new: Collection[str] = ()) -> None:
    if not buckets:
        print("no crashes")
        return
    print(f"{'BUCKET':<12}  {'COUNT':>5}  {'FIRST SEEN':<25}  {'LAST SEEN':<25}  TITLE")
    for b in buckets:
        flag = "  [new]" if b.id in new else ""
        flag += f"  [{b.corrupted} corrupted]" if b.corrupted else ""
        print(f"{b.id:<12}  {b.count:>5}  {b.first_seen:<25}  {b.last_seen:<25}  {b.title}{flag}")


def _show(store: CrashStore, ident: str, where: str) -> int:
    bucket = store.bucket(ident)
    if bucket is None:
        raise InputError(f"no bucket {ident!r} in {where}; `harness triage {where}` lists them")
    occurrences = store.occurrences(bucket.id)
    newest = occurrences[-1].crash
    print(f"bucket {bucket.id}: {bucket.title}")
    rows = {
        "platform": bucket.platform,
        "count": str(bucket.count),
        "first seen": bucket.first_seen,
        "last seen": bucket.last_seen,
        "scenarios": ", ".join(bucket.scenarios) or "-",
        "driver builds": ", ".join(bucket.driver_builds) or "-",
        "bug check": f"{newest.bugcheck:#x} ({', '.join(f'{p:#x}' for p in newest.params)})"
        if newest.bugcheck is not None
        else "-",
        "failure bucket": newest.failure_bucket or "-",
        "corrupted": newest.corrupted or "no",
    }
    for key, value in rows.items():
        print(f"  {key + ':':<16}{value}")
    print("  top frames:")
    for frame in newest.frames[:8]:
        print(f"    {frame}  ({frame.how})")
    print("  crashes:")
    for o in occurrences:
        where = f"{o.scenario} #{o.repetition}" if o.scenario else "-"
        print(f"    {o.time}  {where}  {o.source}")
        print(f"      dump: {o.dump or 'none kept'}")
        if o.context:
            print(f"      DriverProxy: {o.context}")
    return 0


def main(args: argparse.Namespace) -> int:
    if args.path == "show":
        if not args.bucket:
            raise ConfigError("harness triage show needs a BUCKET id")
        store = open_crash_store(_store_path(args))
        try:
            return _show(store, args.bucket, _store_path(args))
        finally:
            store.close()
    if args.bucket:
        raise ConfigError(
            f"unexpected argument {args.bucket!r}; did you mean "
            f"`harness triage show {args.bucket}`?"
        )
    path = Path(args.path)
    if not path.exists():
        raise InputError("no such file or directory", path=str(path))
    if _is_store(path):
        store = open_store(path)
        print_buckets(store.buckets())
        store.close()
        return 0
    return _analyse(path, args)


def _analyse(path: Path, args: argparse.Namespace) -> int:
    if path.is_file():
        _first_line(path)
    findings = analyse_path(path)
    if not findings:
        raise InputError(
            "no crash directories here (looked for crashes/*/crash.json)", path=str(path)
        )
    for finding in findings:
        print(f"{finding.source}: {finding.verdict}")
    occurrences = [o for o in map(occurrence_of, findings) if o is not None]
    # --no-store: the same bucketing, in a store that lives as long as the command
    store = (
        SqliteCrashStore(Path(":memory:")) if args.no_store else open_crash_store(_store_path(args))
    )
    try:
        _remember(store, occurrences, args)
    finally:
        store.close()
    return Unanalysable.exit_code if any(f.crash is None for f in findings) else 0


def _remember(store: CrashStore, occurrences: list[Occurrence], args: argparse.Namespace) -> None:
    if not occurrences:
        return
    new = {o.crash.bucket for o in occurrences if store.add(o)}
    touched = {o.crash.bucket for o in occurrences}
    print("\n" + ("buckets:" if args.no_store else f"crash store {_store_path(args)}:"))
    print_buckets([b for b in store.buckets() if b.id in touched], new)
    if args.retain is not None:
        from harness.triage.retention import Policy, apply

        done = apply(store, Policy(keep_first=args.retain))
        print(
            f"retention: {done.compressed} dumps compressed, {done.removed} removed, "
            f"{done.freed >> 20} MiB freed"
        )
    if args.html:
        from harness.report.crashes import write_crashes_html

        write_crashes_html(Path(args.html), store, touched, new)
        print(f"report: {args.html}")
