"""The DriverProxy context at the time of a crash, from the last trace records (trace-tail.jsonl):
which swap was in progress and in which phase, which image version ran last, which workers
were inside their routine. Neither syzkaller nor !analyze knows this; it says whether a
crash is a swap bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec

from harness.contract.jsonl import read_trace
from harness.contract.trace import Create, Enter, Exit, Record, Swap, SwapPhase, ThreadExit
from harness.errors import InputError

__all__ = ["ProxyContext", "context_of", "read_context"]


class ProxyContext(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    swap: str | None = None
    """The swap in progress: `swap 3 v1->v2 at stall`; None when none was."""
    version: int | None = None
    """Image version that ran the routine last (or that a finished swap switched to)."""
    in_flight: tuple[int, ...] = ()
    """Workers inside their routine (entered, not yet returned)."""
    workers: int = 0
    """Workers alive (created, not exited)."""
    last_seq: int | None = None
    error: str | None = None
    """Why the tail could not be read, when it could not."""

    def summary(self) -> str:
        if self.error:
            return f"trace tail unreadable: {self.error}"
        parts = [
            self.swap or "no swap in progress",
            f"image v{self.version}" if self.version is not None else "image unknown",
            f"{len(self.in_flight)} of {self.workers} workers in the routine"
            + (f" ({', '.join(map(str, self.in_flight))})" if self.in_flight else ""),
        ]
        return "; ".join(parts)


def context_of(records: Iterable[Record]) -> ProxyContext:
    swap: Swap | None = None
    version: int | None = None
    inside: dict[int, int] = {}
    alive: set[int] = set()
    last = None
    for record in records:
        last = record.seq
        if isinstance(record, Create) and record.worker is not None:
            alive.add(record.worker)
        elif isinstance(record, ThreadExit):
            alive.discard(record.worker)
            inside.pop(record.worker, None)
        elif isinstance(record, Enter):
            inside[record.worker] = record.seq
            version = record.version
        elif isinstance(record, Exit):
            inside.pop(record.worker, None)
        elif isinstance(record, Swap):
            swap = None if record.phase is SwapPhase.DONE else record
            if record.phase in (SwapPhase.SWITCH, SwapPhase.POST):
                version = record.to_version
    text = (
        f"swap {swap.swap} v{swap.from_version}->v{swap.to_version} at {swap.phase}"
        if swap
        else None
    )
    return ProxyContext(
        swap=text,
        version=version,
        in_flight=tuple(sorted(inside)),
        workers=len(alive | set(inside)),
        last_seq=last,
    )


def read_context(path: Path) -> ProxyContext:
    """The context a trace tail file shows; a bad file gives a context that says why."""
    try:
        with path.open("rb") as f:
            _, records = read_trace(f, path=str(path))
            return context_of(records)
    except OSError as e:
        return ProxyContext(error=e.strerror or str(e))
    except InputError as e:
        return ProxyContext(error=str(e))
