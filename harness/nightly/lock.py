"""One run of a plan at a time: an exclusive flock beside the runs (one host) and, on a shared
PostgreSQL store, an advisory lock held by a session (every host). Both die with the process
that holds them, even by SIGKILL, so a killed run never blocks the next one.

A second run of the same plan gets one clear error naming the holder, or waits (`--wait`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import time
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.store.results import ResultsStore

__all__ = ["PlanLock"]


def _key(plan: str) -> int:
    """A signed 64-bit advisory-lock key for the plan's name."""
    return int.from_bytes(
        hashlib.sha256(f"harness-plan:{plan}".encode()).digest()[:8], "big", signed=True
    )


class PlanLock:
    def __init__(self, store: ResultsStore, plan: str, runs: Path) -> None:
        self.store, self.plan = store, plan
        self.path = runs / f".{plan}.lock"
        self._fd: int | None = None
        self._connection: Any = None

    def _try_file(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _try_database(self) -> bool:
        if self.store.engine.dialect.name != "postgresql":
            return True
        import sqlalchemy as sa

        connection = self.store.engine.connect()
        got = connection.execute(
            sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(self.plan)}
        ).scalar_one()
        connection.commit()
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def holder(self) -> str:
        with contextlib.suppress(OSError):
            text = self.path.read_text().strip()
            if text:
                return text
        return "another host (the shared store's lock is held)"

    def note(self, run_id: str) -> None:
        """Say in the lock file who holds it, for the message another run gets."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(
                self._fd, f"run {run_id}, pid {os.getpid()} on {socket.gethostname()}".encode(), 0
            )

    def acquire(self, *, wait: bool, say: Any) -> None:
        told = False
        while True:
            if self._try_file():
                if self._try_database():
                    return
                self.release()
            if not wait:
                raise ConfigError(
                    f"plan {self.plan} is already being run by {self.holder()}; one run of a "
                    "plan at a time: wait for it (--wait), or resume it later with --resume"
                )
            if not told:
                say(f"waiting for {self.holder()} to finish plan {self.plan} ...")
                told = True
            time.sleep(1.0)

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()  # ends the session: the advisory lock goes with it
            self._connection = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
