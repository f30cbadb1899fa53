"""Running a native parser where its failures cannot take the harness down.

kdmp-parser maps the dump and trusts what its header says: a damaged dump can make it read
past the end of the mapping (SIGBUS) or allocate without bound. `isolated` runs such work in
a forked child with its address space capped, and turns a death, a memory limit or a hang
into one `Unanalysable` reason, as DbgEng sessions run in their own process behind a watchdog.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Callable
from typing import TypeVar

from harness.triage.model import Unanalysable

__all__ = ["isolated"]

T = TypeVar("T")


def _address_space() -> int:
    """This process's virtual size in bytes (what RLIMIT_AS counts)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(fn: Callable[..., T], args: tuple[object, ...], memory: int, out: int) -> None:
    # a crash here is the parent's to report in one line (the signal that ended the child),
    # not a Python fault dump on the user's terminal (pytest and -X faulthandler enable it)
    faulthandler.disable()
    try:
        limit = _address_space() + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        result: tuple[str, object] = ("ok", fn(*args))
    except Unanalysable as e:
        result = ("unanalysable", str(e))
    except MemoryError:
        result = (
            "unanalysable",
            f"reading it needs more than {memory >> 20} MiB: the header's sizes are damaged",
        )
    except BaseException as e:  # reported to the parent, which raises it there
        result = ("error", f"{type(e).__name__}: {e}")
    try:
        with os.fdopen(out, "wb") as f:
            pickle.dump(result, f)
    finally:
        os._exit(0)


def _receive(fd: int, pid: int, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            os.kill(pid, signal.SIGKILL)
            raise Unanalysable(f"kdmp-parser did not finish within {timeout:.0f} s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def isolated(fn: Callable[..., T], *args: object, memory: int, timeout: float = 120.0) -> T:
    """`fn(*args)` in a forked child allowed `memory` more bytes of address space; its
    result (picklable), its Unanalysable, or Unanalysable when it dies or overruns."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends in os._exit
        os.close(read)
        _child(fn, args, memory, write)
    os.close(write)
    try:
        data = _receive(read, pid, timeout)
    finally:
        os.close(read)
        _, status = os.waitpid(pid, 0)
    if not data:
        cause = (
            f"signal {signal.Signals(os.WTERMSIG(status)).name}"
            if os.WIFSIGNALED(status)
            else f"exit status {os.WEXITSTATUS(status)}"
        )
        raise Unanalysable(f"kdmp-parser died on the dump ({cause}): the dump is damaged")
    kind, value = pickle.loads(data)
    if kind == "unanalysable":
        raise Unanalysable(str(value))
    if kind == "error":
        raise RuntimeError(f"reading the dump failed in its child process: {value}")
    result: T = value
    return result
