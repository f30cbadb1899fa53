"""The lost-wakeup invariant: a synchronization-event signal is never lost by a WaitAny worker.

Per worker, each sync event is either idle or pending (signalled, not yet consumed; repeated
signals while pending coalesce). STATUS_WAIT_i consumes i. Comparisons use record seqs, not
times, so a real kernel's scheduling delays between the signal and the wake give no false
positives.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.contract import status as st
from harness.contract.invariants.base import Handler, Invariant, ViolationLog
from harness.contract.invariants.workers import Workers
from harness.contract.startctx import EventKind, StartContext, WaitType, create_status
from harness.contract.trace import Create, Enter, Expectations, Signal, ThreadExit

__all__ = ["LostWakeup"]


class _Worker:
    """One WaitAny worker with at least one synchronization event."""

    __slots__ = ("ctx", "pending", "sync")

    def __init__(self, ctx: StartContext) -> None:
        self.ctx = ctx
        self.sync = frozenset(i for i, kind in enumerate(ctx.events) if kind == EventKind.SYNC)
        self.pending: dict[int, tuple[int, int]] = {}  # event -> (seq, t) of earliest signal


class LostWakeup(Invariant):
    name = "lost-wakeup"
    description = (
        "a synchronization event signalled for a WaitAny worker wakes it: no timeout while it "
        "is pending, the lowest signalled index wins, none is left pending at the end"
    )

    def __init__(self, expectations: Expectations, log: ViolationLog, workers: Workers) -> None:
        super().__init__(expectations, log, workers)
        self._workers: dict[int, _Worker] = {}

    def handlers(self) -> Mapping[type, Handler]:
        return {
            Create: self.on_create,
            Signal: self.on_signal,
            Enter: self.on_enter,
            ThreadExit: self.on_thread_exit,
        }

    def on_create(self, rec: Create) -> None:
        ctx = rec.context
        if (
            rec.worker is None
            or ctx.wait_type != WaitType.ANY
            or EventKind.SYNC not in ctx.events
            or create_status(ctx, max_events=self.expectations.max_events) is not None
        ):
            return
        self._workers[rec.worker] = _Worker(ctx)

    def on_signal(self, rec: Signal) -> None:
        w = self._workers.get(rec.worker)
        if w is not None and rec.event in w.sync and rec.event not in w.pending:
            w.pending[rec.event] = (rec.seq, rec.t)

    def on_enter(self, rec: Enter) -> None:
        w = self._workers.get(rec.worker)
        if w is None or not w.pending:
            return
        status = rec.wait_status
        if status == st.TIMEOUT:
            self._timed_out(w, rec)
            return
        if not 0 <= status < st.MAXIMUM_WAIT_OBJECTS:
            return  # ALERTED / USER_APC: the events stay pending
        mine = w.pending.pop(status, None)
        if mine is None:
            return
        for k, (seq, _) in w.pending.items():
            if k < status and seq < mine[0]:
                self.violate(
                    f"worker {rec.worker} woke with {st.name(status)} although event {k} was "
                    f"signalled first (seq {seq}); WaitAny returns the lowest signalled index",
                    seq,
                    mine[0],
                    rec.seq,
                )
                break

    def _timed_out(self, w: _Worker, rec: Enter) -> None:
        # A signal that came after the timeout could fire is a race, not a lost wake-up.
        timeout = w.ctx.timeout
        since = self.workers.live.get(rec.worker)
        since_seq, since_t = (since.since_seq, since.since_t) if since else (rec.seq, rec.t)
        for event, (seq, t) in sorted(w.pending.items()):
            if seq < since_seq:
                due = True  # pending before the wait began: the wait is satisfied at once
            elif timeout is None or timeout == 0:
                due = False
            elif timeout < 0:
                due = t < since_t - timeout
            else:
                due = t < timeout
            if due:
                self.violate(
                    f"worker {rec.worker} got STATUS_TIMEOUT although synchronization event "
                    f"{event} was signalled at seq {seq} before the timeout was due",
                    seq,
                    rec.seq,
                )
                return

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._workers.pop(rec.worker, None)  # an ended worker consumes nothing more

    def finish(self) -> None:
        for worker, w in self._workers.items():
            for event, (seq, _) in sorted(w.pending.items()):
                self.violate(
                    f"worker {worker}'s synchronization event {event} was signalled at seq "
                    f"{seq} but the worker never woke for it before the trace ended",
                    seq,
                )
