"""Benchmark `harness check`: records per second and peak memory on generated traces.

Generates valid synthetic traces (several WaitAny workers on sync events, signals, timeouts,
enters and exits, periodic swaps with every phase) of 5,000,000 and 500,000 records, runs
`harness check` on each in a subprocess and prints throughput and the child's peak RSS, so
one can see memory does not grow with the trace length. Target: >= 1,000,000 records/s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness.contract import status as st
from harness.contract.convention import Convention
from harness.contract.jsonl import encode
from harness.contract.startctx import EventKind, StartContext, relative
from harness.contract.trace import (
    Create,
    Enter,
    Exit,
    Expectations,
    Header,
    Probe,
    Record,
    Signal,
    Swap,
    SwapPhase,
    ThreadExit,
    Wait,
)

WORKERS = 4
SWAP_EVERY = 2_000  # records between swaps
TIMEOUT = relative(10)  # 10 ms
T0 = 133_500_000_000_000_000  # 2024 in 100 ns units since 1601


class _Gen:
    """A well-behaved kernel, as a record stream; `seq` and `t` advance together."""

    def __init__(self) -> None:
        self.seq = 0
        self.t = T0
        self.version = 1

    def tick(self, dt: int = 50) -> tuple[int, int]:
        self.seq += 1
        self.t += dt
        return self.seq, self.t

    def start(self) -> Iterator[Record]:
        seq, t = self.tick()
        yield Probe(seq=seq, t=t, enabled=True, extension_status=st.SUCCESS)
        ctx = StartContext(events=(EventKind.SYNC, EventKind.SYNC), timeout=TIMEOUT)
        for w in range(WORKERS):
            seq, t = self.tick()
            yield Create(
                seq=seq,
                t=t,
                status=st.SUCCESS,
                context=ctx,
                worker=w,
                thread=0x1000 + 4 * w,
                thread_object=_obj(w),
            )

    def cycle(self, w: int, n: int) -> Iterator[Record]:
        """One wake of worker `w`: wait, a signal (or a timeout), enter, exit."""
        thread, endpoint = 0x1000 + 4 * w, 1 + w % 2
        seq, t = self.tick()
        yield Wait(seq=seq, t=t, worker=w, thread=thread)
        if n % 16 == 15:
            status = st.TIMEOUT
            seq, t = self.tick(-TIMEOUT + 10)
        else:
            status = st.wait(n % 2)
            seq, t = self.tick()
            yield Signal(seq=seq, t=t, worker=w, event=n % 2)
            seq, t = self.tick()
        yield Enter(
            seq=seq,
            t=t,
            worker=w,
            thread=thread,
            thread_object=_obj(w),
            irql=0,
            wait_status=status,
            version=self.version,
            endpoint=endpoint,
        )
        seq, t = self.tick()
        yield Exit(
            seq=seq, t=t, worker=w, thread=thread, irql=0, returned=True, version=self.version
        )

    def swap(self, sid: int) -> Iterator[Record]:
        old, new = self.version, 3 - self.version
        for phase in ("request", "pre", "stall", "switch", "post", "done"):
            seq, t = self.tick()
            yield Swap(
                seq=seq,
                t=t,
                swap=sid,
                phase=SwapPhase(phase),
                from_version=old,
                to_version=new,
                endpoints=(1, 2) if phase in ("request", "switch") else (),
                status=st.SUCCESS if phase == "done" else None,
            )
        self.version = new

    def end(self) -> Iterator[Record]:
        for w in range(WORKERS):
            thread = 0x1000 + 4 * w
            seq, t = self.tick()
            yield Wait(seq=seq, t=t, worker=w, thread=thread)
            seq, t = self.tick()
            yield Signal(seq=seq, t=t, worker=w, event=1)
            seq, t = self.tick()
            yield Enter(
                seq=seq,
                t=t,
                worker=w,
                thread=thread,
                thread_object=_obj(w),
                irql=0,
                wait_status=st.wait(1),
                version=self.version,
                endpoint=1 + w % 2,
            )
            seq, t = self.tick()
            yield Exit(
                seq=seq, t=t, worker=w, thread=thread, irql=0, returned=False, version=self.version
            )
            seq, t = self.tick()
            yield ThreadExit(seq=seq, t=t, worker=w, thread=thread)


def _obj(w: int) -> int:
    return 0xFFFF_A000_0000_0000 + 0x1000 * w


def records(count: int) -> Iterator[Record]:
    """About `count` records of a valid trace (a few more, to finish cleanly)."""
    gen = _Gen()
    yield from gen.start()
    n, sid, next_swap = 0, 0, SWAP_EVERY
    while gen.seq < count - 6 * WORKERS:
        yield from gen.cycle(n % WORKERS, n // WORKERS)
        n += 1
        if gen.seq >= next_swap:
            sid += 1
            next_swap += SWAP_EVERY
            yield from gen.swap(sid)
    yield from gen.end()


def write(path: Path, count: int) -> int:
    header = Header(
        format=1, expectations=Expectations(convention=Convention.DOCUMENTED), source="bench"
    )
    n = 0
    with path.open("wb") as f:
        f.write(encode(header))
        batch: list[bytes] = []
        for rec in records(count):
            batch.append(encode(rec))
            if len(batch) == 8192:
                f.write(b"".join(batch))
                n += len(batch)
                batch.clear()
        f.write(b"".join(batch))
        n += len(batch)
    return n


def measure(path: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, peak RSS of the child in KiB, and the check's summary."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", "check", str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        # wait4 gives this child's own ru_maxrss (the field RUSAGE_CHILDREN reports, which
        # would instead keep the maximum over every child so far)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        sys.exit(f"harness check failed ({proc.returncode}):\n{text}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss, text.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[500_000, 5_000_000])
    parser.add_argument("--keep", metavar="DIR", help="write the traces here and keep them")
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="checks per trace; the machine is shared, so the best is quoted",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep or tmp)
        where.mkdir(parents=True, exist_ok=True)
        for count in sorted(args.records):
            path = where / f"trace-{count}.jsonl"
            start = time.perf_counter()
            n = write(path, count)
            made = time.perf_counter() - start
            size = os.path.getsize(path) / 1e6
            print(f"generated {n:,} records ({size:.0f} MB) in {made:.1f} s")
            runs = [measure(path) for _ in range(args.runs)]
            for elapsed, cpu, peak, _ in runs:
                print(
                    f"  harness check: {elapsed:.2f} s wall ({n / elapsed:,.0f} records/s), "
                    f"{cpu:.2f} s CPU ({n / cpu:,.0f} records/s), peak RSS {peak / 1024:.1f} MiB"
                )
            best = min(run[0] for run in runs)
            print(
                f"  best of {len(runs)}: {n / best:,.0f} records/s wall (target 1,000,000); "
                f"max peak RSS {max(run[2] for run in runs) / 1024:.1f} MiB"
            )
            print(f"  {runs[0][3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
