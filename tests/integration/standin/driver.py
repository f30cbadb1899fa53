"""The stand-in driver as its tests drive it: hsproxy and hsprobe loaded with the kernel's
parameters, one hsprobectl invocation per action (the command lines of
harness.driver.commands), the telemetry fetched raw and decoded by harness.driver.telemetry,
and `harness check` run on it as a user would."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from subprocess import CompletedProcess, run

from harness.actions import Action, Mark, Outcome
from harness.contract import trace
from harness.contract.jsonl import write_trace
from harness.driver.commands import hsprobectl_args, outcome
from harness.driver.telemetry import decode_telemetry
from harness.guest import kmod

from .guest import REPO, Guest

Records = tuple[trace.Record, ...]
_POLL = 0.05  # seconds between telemetry reads while waiting on a condition
#: how late a due wake may come (the checker's `latency`): generous, because a TCG guest on
#: a host shared with other test runs can be held up for seconds
LATENCY = 5.0


class StandinDriver:
    """hsprobe in the guest, driven over SSH."""

    def __init__(self, guest: Guest) -> None:
        self.guest = guest

    def load(
        self, *, bugs: Sequence[str] = (), feature: str = "enabled", convention: str = "documented"
    ) -> None:
        params = [f"feature={feature}", f"convention={convention}"]
        if bugs:
            params.append(f"bugs={','.join(bugs)}")
        kmod.insmod(self.guest.ssh, self.guest.module("hsproxy"), params)
        kmod.insmod(self.guest.ssh, self.guest.module("hsprobe"))

    def do(self, action: Action) -> Outcome:
        """One action, one hsprobectl invocation; its answer decoded."""
        return outcome(self.tool(*hsprobectl_args(action)).stdout)

    def tool(self, *args: str, check: bool = True) -> CompletedProcess[bytes]:
        done = self.guest.run("hsprobectl", *args, check=check)
        return CompletedProcess(args, done.status, done.stdout, done.stderr)

    def records(self) -> Records:
        """The telemetry so far, raw from the driver, decoded on the host."""
        raw = self.guest.run("hsprobectl", "trace", "--raw", "/dev/stdout").stdout
        return decode_telemetry(raw, path="hsprobectl trace --raw").records

    def wait_for(self, condition: Callable[[Records], bool], timeout: float = 60.0) -> Records:
        """Records once `condition` holds of them; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.records()
            if condition(records):
                return records
            assert time.monotonic() < deadline, f"condition not met; records: {records[-8:]}"
            time.sleep(_POLL)  # polling the guest's telemetry, bounded by the deadline

    def check(
        self, out: Path, records: Records | None = None, convention: str = "documented"
    ) -> CompletedProcess[str]:
        """`harness check` of the records (default: all so far) written as a trace file."""
        expect = trace.Expectations(convention=convention, latency=int(LATENCY * 1e7))
        header = trace.Header(format=1, source="hsprobe", expectations=expect)
        with out.open("wb") as stream:
            write_trace(stream, header, self.records() if records is None else records)
        return run(
            [sys.executable, "-m", "harness", "check", str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def pass_time(driver: StandinDriver, seconds: float = LATENCY + 1) -> Records:
    """Let real time pass in the guest, then mark it in the trace (a record after it, so the
    checker sees how long a due wake has waited)."""
    time.sleep(seconds)
    driver.do(Mark(f"{seconds:g} s later"))
    return driver.records()


def of(kind: type[trace.Record], records: Records, **fields: object) -> list[trace.Record]:
    """Records of one kind whose fields equal `fields`."""
    return [
        r
        for r in records
        if isinstance(r, kind) and all(getattr(r, k) == v for k, v in fields.items())
    ]


def enters(records: Records, worker: int) -> list[trace.Enter]:
    return [r for r in records if isinstance(r, trace.Enter) and r.worker == worker]


def calls_done(worker: int, n: int) -> Callable[[Records], bool]:
    """Condition: the worker's n-th call returned."""
    return lambda records: len(of(trace.Exit, records, worker=worker)) >= n
