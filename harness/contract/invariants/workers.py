"""`Workers`: the per-worker facts several invariants need, tracked once.

Not an invariant and never disabled. Its handlers run after every invariant's, so while an
invariant handles a record, `Workers` still describes the state just before that record.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract.invariants.base import Handler, RecentIds
from harness.contract.startctx import StartContext
from harness.contract.trace import Create, Enter, Exit, ThreadExit, Wait

__all__ = ["Worker", "Workers"]


class Worker:
    """One live worker thread."""

    __slots__ = ("context", "open", "since_seq", "since_t")

    def __init__(self, context: StartContext | None, t: int, seq: int) -> None:
        self.context = context
        """Its start context; None when the trace has no Create for it."""
        self.open: Enter | None = None
        """The invocation in flight (Enter without Exit yet)."""
        self.since_t = t
        """Time of the latest Create/Wait/Exit: no later than the real start of its wait (the
        real driver records no Wait, but its last Exit precedes the wait)."""
        self.since_seq = seq


class Workers:
    """Live workers by id, and the recently ended ones."""

    def __init__(self) -> None:
        self.live: dict[int, Worker] = {}
        self.ended = RecentIds()  # worker -> seq of its ThreadExit

    def handlers(self) -> Mapping[type, Handler]:
        return {
            Create: self.on_create,
            Wait: self.on_since,
            Enter: self.on_enter,
            Exit: self.on_exit,
            ThreadExit: self.on_thread_exit,
        }

    def on_create(self, rec: Create) -> None:
        if rec.worker is not None:
            self.live[rec.worker] = Worker(rec.context, rec.t, rec.seq)

    def _get(self, worker: int, t: int, seq: int) -> Worker:
        w = self.live.get(worker)
        if w is None:
            w = self.live[worker] = Worker(None, t, seq)
        return w

    def on_since(self, rec: Wait) -> None:
        w = self.live.get(rec.worker) or self._get(rec.worker, rec.t, rec.seq)
        w.since_t = rec.t
        w.since_seq = rec.seq

    def on_enter(self, rec: Enter) -> None:
        w = self.live.get(rec.worker) or self._get(rec.worker, rec.t, rec.seq)
        w.open = rec

    def on_exit(self, rec: Exit) -> None:
        w = self.live.get(rec.worker) or self._get(rec.worker, rec.t, rec.seq)
        w.open = None
        w.since_t = rec.t
        w.since_seq = rec.seq

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self.live.pop(rec.worker, None)
        self.ended.add(rec.worker, rec.seq)
