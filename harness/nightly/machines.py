"""Machine slots and the worker process each one runs cells in.

A slot is one machine a cell can run on: `sim#N` (a simulator worker; the plan's `parallel`
says how many) or `CONFIG#N` for a lab config (its pool's size says how many; the lab
target leases the machine itself, through the pool's flock leases, and keeps it across the
cells of its worker). A slot's worker is started on first use and restarted after it dies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec

from harness.errors import InfrastructureError
from harness.nightly.worker import PARENT_ENV, CellRequest, EndEvent, Event
from harness.plan.model import Cell
from harness.plan.resolve import pool_size

__all__ = ["Slot", "WorkerDiedError", "WorkerProcess", "slots_for"]


class WorkerDiedError(InfrastructureError):
    """A cell worker process ended (or could not be reached) in the middle of a cell."""


class WorkerProcess:
    """One `harness.nightly.worker` child and its event stream."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "harness.nightly.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env={**os.environ, PARENT_ENV: str(os.getpid())},
        )
        self._decode = msgspec.json.Decoder(Event)
        self._encode = msgspec.json.Encoder()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def run(self, request: CellRequest) -> Iterator[Event]:
        """Send a cell; yield its events up to its end. The worker dying mid-cell is an
        InfrastructureError (the cell is retried elsewhere)."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(self._encode.encode(request) + b"\n")
            self._proc.stdin.flush()
        except OSError:
            raise WorkerDiedError(
                f"worker {self.name} died before the cell started (exit status {self._proc.poll()})"
            ) from None
        for line in self._proc.stdout:
            event = self._decode.decode(line)
            yield event
            if isinstance(event, EndEvent):
                return
        status = self._proc.wait()
        raise WorkerDiedError(
            f"worker {self.name} died in the middle of cell "
            f"{request.cell.key} (exit status {status}); see "
            f"{self._log.name}"
        )

    def kill(self) -> None:
        """End the worker now (its cell is left to be tried again)."""
        if self.alive:
            self._proc.kill()
            self._proc.wait()  # never reused: `alive` is false from here on

    def stop(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


class Slot:
    """A machine slot of one pool, with its worker process."""

    def __init__(self, pool: str, index: int, logs: Path) -> None:
        self.pool, self.index = pool, index
        self.name = f"{'sim' if pool == 'sim' else Path(pool).stem}#{index}"
        self._logs = logs
        self._worker: WorkerProcess | None = None

    def worker(self) -> WorkerProcess:
        if self._worker is None or not self._worker.alive:
            if self._worker is not None:
                self._worker.stop()
            self._worker = WorkerProcess(self.name, self._logs / f"worker-{self.name}.log")
        return self._worker

    def kill(self) -> None:
        if self._worker is not None:
            self._worker.kill()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None


def slots_for(cells: list[Cell], parallel: int, logs: Path) -> list[Slot]:
    """Slots for every pool the cells use: `parallel` simulator workers, and as many per lab
    config as its pool has machines."""
    pools = sorted({c.pool for c in cells})
    out = []
    for pool in pools:
        size = parallel if pool == "sim" else pool_size(f"lab:{pool}")
        out += [Slot(pool, i, logs) for i in range(min(size, sum(c.pool == pool for c in cells)))]
    return out
