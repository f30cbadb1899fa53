"""Leases: a pool slot belongs to one process at a time, by an exclusive flock on the slot's
lock file. The kernel drops the lock when the holder dies, even by SIGKILL, so a dead run
never keeps a slot, and two runs can never hold the same one.

Lock files are removed when their lease ends, so they do not pile up. Removing a lock file
safely takes two rules: the holder unlinks it *while still holding* the lock, and whoever
locks a file checks afterwards that the path still names the inode it locked (else it
locked a file already unlinked by its last holder, and tries again).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from harness.errors import HarnessTimeoutError, InfrastructureError
from harness.vm.config import check_seconds

__all__ = ["Lease", "acquire", "is_held", "try_slot"]

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
        """Free the slot and remove its lock file; idempotent."""
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # while locked: see the module docstring
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_path(lock_dir: Path, pool: str, slot: int) -> Path:
    return lock_dir / f"{pool}-{slot}.lock"


def _try(path: Path) -> int | None:
    """A locked descriptor of `path`, or None if another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)  # its holder removed it after we opened it: lock the new one


def try_slot(lock_dir: Path, pool: str, slot: int) -> Lease | None:
    """The lease of one slot if it is free now (never waits), else None."""
    path = _lock_path(lock_dir, pool, slot)
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
        fd = _try(path)
    except OSError as e:
        raise InfrastructureError(f"cannot take the lease {path}: {e.strerror}") from None
    return Lease(pool, slot, fd, path) if fd is not None else None


def acquire(lock_dir: Path, pool: str, size: int, timeout: float) -> Lease:
    """The first free slot of `pool` (0..size-1), waiting up to `timeout` seconds for one."""
    check_seconds(timeout, f"pool {pool}: lease")
    deadline = time.monotonic() + timeout
    while True:
        for slot in range(size):
            lease = try_slot(lock_dir, pool, slot)
            if lease is not None:
                return lease
        if time.monotonic() >= deadline:
            raise HarnessTimeoutError(
                f"pool {pool}: all {size} machine(s) stayed leased for {timeout:g} s; "
                "raise the pool size or wait for the other runs"
            )
        time.sleep(_POLL)


def is_held(lock_dir: Path, pool: str, slot: int) -> bool:
    """True if some process holds the slot's lease now. (A stale lock file whose holder
    died is removed on the way.)"""
    lease = try_slot(lock_dir, pool, slot)
    if lease is not None:
        lease.release()
    return lease is None
