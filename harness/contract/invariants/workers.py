"""`Workers`: the per-worker facts several invariants need, tracked once.

Not an invariant and never disabled. Its handlers run after every invariant's, so while an
invariant handles a record, `Workers` still describes the state just before that record.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract.invariants.base import Handler, RecentIds
from harness.contract.invariants.wakes import WakeModel
from harness.contract.startctx import StartContext
from harness.contract.trace import Create, Enter, Exit, Expectations, Record, ThreadExit, Wait

__all__ = ["Worker", "Workers"]


class Worker:
    """One live worker thread."""

    __slots__ = ("context", "fallback", "last_exit", "open", "since")

    def __init__(
        self,
        context: StartContext | None,
        since: Create | Wait | Enter | Exit,
        fallback: bool = False,
    ) -> None:
        self.context = context
        """Its start context; None when the trace has no Create for it."""
        self.fallback = fallback
        """It runs on the driver's own fallback loop, not on the kernel's worker thread."""
        self.open: Enter | None = None
        """The invocation in flight (Enter without Exit yet)."""
        self.last_exit: Exit | None = None
        """What its routine returned last."""
        self.since = since
        """The latest Create/Wait/Exit: no later than the real start of its wait (the real
        driver records no Wait, but its last Exit precedes the wait)."""


class Workers:
    """Live workers by id, and the recently ended ones."""

    def __init__(self) -> None:
        self.live: dict[int, Worker] = {}
        self.ended = RecentIds()  # worker -> seq of its ThreadExit
        self.last: Record | None = None
        """The last record fed so far (the checker sets it): how far the trace goes."""
        self.wakes: WakeModel | None = None
        """The wake model, once an invariant asked for it."""
        self.partial = False
        """The trace starts mid-run (its header says so): workers may predate it."""

    def wake_model(self, expectations: Expectations) -> WakeModel:
        if self.wakes is None:
            self.wakes = WakeModel(expectations)
        return self.wakes

    def handlers(self) -> Mapping[type, Handler]:
        return {
            Create: self.on_create,
            Wait: self.on_wait,
            Enter: self.on_enter,
            Exit: self.on_exit,
            ThreadExit: self.on_thread_exit,
        }

    def on_create(self, rec: Create) -> None:
        if rec.worker is not None:
            self.live[rec.worker] = Worker(rec.context, rec, rec.fallback)

    def _get(self, rec: Wait | Enter | Exit) -> Worker:
        w = self.live[rec.worker] = Worker(None, rec)  # a worker the trace did not create
        return w

    def on_wait(self, rec: Wait) -> None:
        (self.live.get(rec.worker) or self._get(rec)).since = rec

    def on_enter(self, rec: Enter) -> None:
        (self.live.get(rec.worker) or self._get(rec)).open = rec

    def on_exit(self, rec: Exit) -> None:
        w = self.live.get(rec.worker) or self._get(rec)
        w.open = None
        w.since = w.last_exit = rec

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self.live.pop(rec.worker, None)
        self.ended.add(rec.worker, rec.seq)
