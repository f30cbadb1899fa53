"""Files a user names and files the harness writes: one message for each way a named path can
be wrong (missing, a directory, a FIFO, a device), reads bounded in size, and writes that
never leave a half-written file (a temporary name in the same directory, then a rename).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from harness.errors import HarnessError, InfrastructureError, InputError

__all__ = ["atomic_writer", "not_a_file", "read_regular", "write_atomic"]

_KINDS = (
    (stat.S_ISDIR, "is a directory, not a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a file"),
    (stat.S_ISCHR, "is a character device, not a file"),
    (stat.S_ISBLK, "is a block device, not a file"),
    (stat.S_ISSOCK, "is a socket, not a file"),
)


def _kind(mode: int) -> str | None:
    for test, says in _KINDS:
        if test(mode):
            return says
    return None


def not_a_file(path: str | Path) -> str | None:
    """Why `path` is not a regular file one can read ("no such file", "is a directory, not
    a file", ...), or None when it is one."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except NotADirectoryError:
        return "no such file (a parent is not a directory)"
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    return _kind(mode) if not stat.S_ISREG(mode) else None


def read_regular(
    path: str | Path, *, limit: int, what: str = "file", error: type[HarnessError] = InputError
) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; anything else (a
    directory, a FIFO, /dev/zero, a file larger than `limit`) raises `error` naming `path`."""
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise _error(error, not_a_file(path) or "cannot be read", name) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise _error(error, _kind(info.st_mode) or "is not a regular file", name)
    with os.fdopen(fd, "rb") as f:
        if info.st_size > limit:
            raise _error(error, f"is {info.st_size} bytes; a {what} is at most {limit}", name)
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise _error(error, f"cannot be read ({e.strerror})", name) from None
    if len(data) > limit:  # grew while we read it
        raise _error(error, f"is over {limit} bytes; a {what} is at most {limit}", name)
    return data


def _error(cls: type[HarnessError], reason: str, path: str) -> HarnessError:
    if issubclass(cls, InputError):
        return cls(reason, path=path)
    return cls(f"{path}: {reason}")


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[IO[bytes]]:
    """A file to write `path` through: readers see the old file or the whole new one, never
    a part; an exception inside (or a killed process) leaves no `path` behind. Write errors
    (a full disk, a file where the directory should be) raise InfrastructureError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise InfrastructureError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(fd, 0o644)  # mkstemp makes 0600; reports and traces are for others too
            yield f
        # no fsync: the rename is what keeps readers from half a file; a power cut is not
        # a case we recover reports from
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InfrastructureError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write `data` (str as UTF-8) to `path` atomically; see `atomic_writer`."""
    with atomic_writer(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
