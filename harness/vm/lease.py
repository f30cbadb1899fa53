"""Leases: a pool slot belongs to one process at a time, by an exclusive flock on the slot's
lock file. The kernel drops the lock when the holder dies, even by SIGKILL, so a dead run
never keeps a slot, and two runs can never hold the same one."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from harness.errors import HarnessTimeoutError, InfrastructureError

__all__ = ["Lease", "acquire"]

_POLL = 0.2


class Lease:
    """A held slot; `release` (or process death) frees it."""

    def __init__(self, pool: str, slot: int, fd: int, path: Path):
        self.pool = pool
        self.slot = slot
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _try(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def acquire(lock_dir: Path, pool: str, size: int, timeout: float) -> Lease:
    """The first free slot of `pool` (0..size-1), waiting up to `timeout` seconds for one."""
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InfrastructureError(f"cannot create the lease directory {lock_dir}: {e}") from None
    deadline = time.monotonic() + timeout
    while True:
        for slot in range(size):
            path = lock_dir / f"{pool}-{slot}.lock"
            fd = _try(path)
            if fd is not None:
                return Lease(pool, slot, fd, path)
        if time.monotonic() >= deadline:
            raise HarnessTimeoutError(
                f"pool {pool}: all {size} machine(s) stayed leased for {timeout:g} s; "
                "raise the pool size or wait for the other runs"
            )
        time.sleep(_POLL)


def is_held(lock_dir: Path, pool: str, slot: int) -> bool:
    """True if some process holds the slot's lease now."""
    path = lock_dir / f"{pool}-{slot}.lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
