"""Benchmark crash triage.

1. Time to the first verdict line for a 4 GiB Windows dump (a sparse full dump built from
   the documented layout): the header read alone (`windump.peek`, goal < 50 ms), against
   kdmp-parser opening the same dump (which indexes every page), each in a fresh process
   with its peak memory; and `harness triage DUMP` end to end (interpreter start included).
2. Bucketing 10,000 crash records (50 signatures) into the SQLite crash store, then listing
   the buckets.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from harness.triage.dumpheader import DumpHeader
from harness.triage.dumpwriter import write_sparse_full_dump
from harness.triage.model import Crash, Frame
from harness.triage.store import Occurrence, SqliteCrashStore

_CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
if sys.argv[1] == "peek":
    from harness.triage.bugchecks import describe
    from harness.triage.windump import peek
    header, truncated = peek(Path(sys.argv[2]))
    line = f"bug check {describe(header.bugcheck)} ({', '.join(hex(p) for p in header.params)})"
else:
    import kdmp_parser
    dump = kdmp_parser.KernelDumpParser(sys.argv[2])
    line = f"bug check {dump.header.BugCheckCode:#x}"
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1000, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "line": line}))
"""


def _child(mode: str, dump: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(dump)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def _first_line(dump: Path) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "triage", str(dump), "--no-store"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - began
    proc.communicate()
    return first


def bench_dump(size_gib: int, runs: int) -> None:
    header = DumpHeader(
        dump_type=1,
        bugcheck=0xD1,
        params=(0, 2, 0, 0xFFFFF80051231100),
        build=26100,
        processors=2,
        directory_table_base=0x1AD000,
        loaded_modules=0xFFFFF80040C2A000,
        runs=(),
        context_valid=True,
        registers={"rip": 0xFFFFF80051231100, "rsp": 0xFFFFD00012345F00},
    )
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "memory.dmp"
        write_sparse_full_dump(dump, header, size_gib << 30)
        peeks = [_child("peek", dump) for _ in range(runs)]
        kdmps = [_child("kdmp", dump) for _ in range(runs)]
        ends = [_first_line(dump) for _ in range(runs)]
    peek_ms, kdmp_ms = median(p["ms"] for p in peeks), median(k["ms"] for k in kdmps)
    peek_rss, kdmp_rss = median(p["rss"] for p in peeks), median(k["rss"] for k in kdmps)
    print(f"first verdict line, {size_gib} GiB full dump (median of {runs} fresh processes):")
    print(
        f"  header read (windump.peek)   {peek_ms:8.2f} ms   peak RSS {peak_mib(peek_rss)}"
        f"   goal < 50 ms: {'met' if peek_ms < 50 else 'MISSED'}"
    )
    print(f"  kdmp-parser open (peer)      {kdmp_ms:8.2f} ms   peak RSS {peak_mib(kdmp_rss)}")
    print(
        f"  ratio peer / ours            {kdmp_ms / peek_ms:8.1f}x time, "
        f"+{(kdmp_rss - peek_rss) / 1024:.0f} MiB for the peer's page index"
    )
    print(
        f"  `harness triage DUMP` to its first line, interpreter start included: "
        f"{median(ends) * 1000:.0f} ms"
    )


def peak_mib(kib: float) -> str:
    return f"{kib / 1024:6.1f} MiB"


def bench_buckets(records: int, signatures: int) -> None:
    crashes = [
        Crash(
            platform="linux",
            kind="BUG: kernel NULL pointer dereference",
            fault=f"hsproxy!routine_{i}",
            frames=(Frame(module="hsproxy", symbol=f"routine_{i}", offset=0x10),),
        )
        for i in range(signatures)
    ]
    occurrences = [
        Occurrence(
            source=f"/runs/n{i // 100}/crashes/case{i}-r0",
            crash=crashes[i % signatures],
            time=f"2026-12-{1 + i % 28:02d}T02:{i % 60:02d}:00+00:00",
            scenario=f"scenario_{i % 37}",
            driver_build=f"build-{i % 5}",
        )
        for i in range(records)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteCrashStore(Path(tmp) / "crashes.sqlite")
        began = time.perf_counter()
        store.add_many(occurrences)
        added = time.perf_counter() - began
        began = time.perf_counter()
        buckets = store.buckets()
        listed = time.perf_counter() - began
        size = (Path(tmp) / "crashes.sqlite").stat().st_size
        store.close()
    assert len(buckets) == signatures and sum(b.count for b in buckets) == records
    print(f"bucketing {records:,} crash records ({signatures} signatures) into SQLite:")
    print(f"  add       {added * 1000:8.0f} ms  ({records / added:,.0f} records/s)")
    print(f"  list      {listed * 1000:8.0f} ms  ({len(buckets)} buckets)")
    print(f"  store     {size / 1024:8.0f} KiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=int, default=4, help="dump size (default 4 GiB)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure")
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    bench_dump(args.gib, args.runs)
    bench_buckets(args.records, 50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
