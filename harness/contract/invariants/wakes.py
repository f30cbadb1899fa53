"""`WakeModel`: what could and what must have woken each worker, judged at every wake.

Not an invariant itself: it reports for two, `lost-wakeup` (a cause of a wake was certainly
present and a different wake, or none, came) and `spurious-wake` (a wake came with no cause
left to pay for it). Both need the same bookkeeping, so it is kept once, here.

What the records prove, under the recording rules of docs/trace-format.md ("Events after a
wake"): a `signal` or `alert` record is written in the same atomic step as the set or alert,
so its seq orders it against the worker's own records; the routine clears, before writing its
`enter`, the notification events that satisfied the wait. Between an `enter` and its `exit`
the worker runs its routine and cannot consume anything, so what is signalled then is
certainly still set when it next waits. What is signalled while it waits (after its `exit`,
`create` or `wait` record, before the next `enter`) may have landed before or after the wake
that ends that wait: such a signal is only "possible" until that wake says more.

Per event the model keeps a lower bound (`certain`: the signal that certainly set it and is
not consumed yet) and an upper bound (`units`: how many wakes it can still pay for; two
signals while the worker runs coalesce into one, a signal during a wait may be a second one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from harness.contract import status as st
from harness.contract.clock import elapsed, ms
from harness.contract.invariants.base import Handler
from harness.contract.invariants.waiter import Cause, Waiter, bits
from harness.contract.invariants.waiter import Record as SetBy
from harness.contract.startctx import WaitType, create_status
from harness.contract.trace import (
    Alert,
    Create,
    Enter,
    Exit,
    Expectations,
    Record,
    Signal,
    Swap,
    SwapPhase,
    ThreadExit,
    Wait,
)

__all__ = ["Report", "WakeModel"]

Report = Callable[..., None]
"""`violate(message, *seqs)` of the invariant a finding belongs to."""

_INTERRUPTIONS: Final = frozenset({st.TIMEOUT, st.ALERTED, st.USER_APC})
_RELEASE: Final = frozenset({SwapPhase.POST, SwapPhase.ROLLBACK, SwapPhase.DONE})


class WakeModel:
    """Shared by `lost-wakeup` and `spurious-wake`; each installs its `violate` here."""

    def __init__(self, expectations: Expectations) -> None:
        self.expectations = expectations
        self.lost: Report = _ignore
        self.spurious: Report = _ignore
        self._waiters: dict[int, Waiter] = {}
        self._stalled: set[int] = set()  # swap ids between pre and their release
        self._released: Swap | None = None  # the latest release of such a swap

    def handlers(self) -> Mapping[type, Handler]:
        return {
            Create: self.on_create,
            Wait: self.on_wait,
            Signal: self.on_signal,
            Alert: self.on_alert,
            Enter: self.on_enter,
            Exit: self.on_exit,
            ThreadExit: self.on_thread_exit,
            Swap: self.on_swap,
        }

    # -- bookkeeping --------------------------------------------------------------------
    def on_create(self, rec: Create) -> None:
        max_events = self.expectations.max_events
        if rec.worker is not None and create_status(rec.context, max_events=max_events) is None:
            self._waiters[rec.worker] = Waiter(
                rec.context, rec, self.expectations.clears_notification
            )

    def on_wait(self, rec: Wait) -> None:
        w = self._waiters.get(rec.worker)
        if w is not None:  # what came before the wait began was set when it began
            if w.window:
                w.keep_window()
            if w.alerts is not None or w.apc is not None:
                for cause in w.causes():
                    cause.keep()
            w.since = rec

    def on_signal(self, rec: Signal) -> None:
        w = self._waiters.get(rec.worker)
        if w is None or rec.event >= len(w.events):
            return
        ev = w.events[rec.event]
        if w.running:
            if ev.certain is None:
                ev.certain = rec
                ev.units += 1
                w.ready |= 1 << rec.event
        elif ev.first is None:
            ev.first = rec
            w.window |= 1 << rec.event
        else:
            ev.more += 1

    def on_alert(self, rec: Alert) -> None:
        w = self._waiters.get(rec.worker)
        cause = None if w is None else w.apc if rec.user_apc else w.alerts
        if w is None or cause is None:
            return
        if w.running:
            cause.running(rec)
        else:
            cause.waiting(rec)

    def on_exit(self, rec: Exit) -> None:
        w = self._waiters.get(rec.worker)
        if w is not None:
            w.running = False
            w.since = rec

    def on_thread_exit(self, rec: ThreadExit) -> None:
        self._waiters.pop(rec.worker, None)  # what is pending dies with the thread

    def on_swap(self, rec: Swap) -> None:
        # a proxy may hold new calls back from the start of its drain, not only once stalled
        # (the reference leaves it open; the simulator does), and a drain that times out
        # releases them at `done` without ever stalling
        if rec.phase in (SwapPhase.PRE, SwapPhase.STALL):
            self._stalled.add(rec.swap)
        elif rec.phase in _RELEASE and rec.swap in self._stalled:
            self._stalled.discard(rec.swap)
            self._released = rec

    # -- a wake -------------------------------------------------------------------------
    def on_enter(self, rec: Enter) -> None:
        w = self._waiters.get(rec.worker)
        if w is None:
            return
        if not w.running:
            status = rec.wait_status
            if w.wait_any and status < len(w.events):
                self._index_wake(w, rec, status)
            else:
                self._late(w, rec, status)
                self._other_wake(w, rec, status)
            if w.alerts is not None:
                if status == st.ALERTED:
                    w.alerts.consume()
                else:
                    w.alerts.keep()
            if w.apc is not None:
                w.apc.keep()  # never consumed: it stays queued
        w.running = True

    def _index_wake(self, w: Waiter, rec: Enter, status: int) -> None:
        """STATUS_WAIT_<status> of a WaitAny: the common case, kept cheap."""
        woke = w.events[status]
        if not (woke.units or woke.first is not None):
            self._spurious(w, rec, status, woke)
        anchor = w.since if woke.certain is not None else woke.first
        if anchor is not None:  # lateness: inline, as elapsed() would
            gone = (
                rec.it - anchor.it
                if rec.it is not None and anchor.it is not None
                else rec.t - anchor.t
            )
            if gone > self.expectations.latency:
                self._late(w, rec, status)
        bit = 1 << status
        if w.ready & (bit - 1):
            low = w.lowest_ready()
            assert low is not None
            self._not_lowest(w, rec, status, *low)
        elif not w.ready & bit and w.window & (bit - 1):
            self._lowest(w, rec, status)
        if not w.sticky & bit:
            woke.consume()
            w.ready &= ~bit
            w.window &= ~bit
        if w.window:
            w.keep_window()

    def _other_wake(self, w: Waiter, rec: Enter, status: int) -> None:
        """A WaitAll's STATUS_SUCCESS, or a timeout, alert or user APC."""
        consumed: list[int] = []
        if not w.wait_any and status == st.SUCCESS:
            consumed = list(range(len(w.events)))
        paid = [w.events[i] for i in consumed]
        if status == st.ALERTED and w.alerts is not None:
            paid = [w.alerts]
        elif status == st.USER_APC and w.apc is not None:
            paid = [w.apc]
        for cause in paid:
            if not cause.available():
                self._spurious(w, rec, status, cause)
                break
        if status in _INTERRUPTIONS and (low := w.lowest_ready()) is not None and w.wait_any:
            self._not_lowest(w, rec, status, *low)
        elif not w.wait_any and w.ready == (1 << len(w.events)) - 1 and status != st.SUCCESS:
            last = max((ev.certain for ev in w.events if ev.certain is not None), key=_seq)
            self.lost(
                f"worker {rec.worker} woke with {_status(w, status)} although every event was "
                f"set before its WaitAll began (the last at seq {last.seq})",
                last.seq,
                rec.seq,
            )
        elif status == st.TIMEOUT:
            self._timed_out(w, rec)
        for i in consumed:
            if not (w.sticky >> i & 1):
                w.consume(i)
        if w.window:
            w.keep_window()

    def _late(self, w: Waiter, rec: Enter, status: int) -> None:
        """lost-wakeup: a wake that came, but longer than `latency` after it was due."""
        if self._stalled or (self._released is not None and self._released.seq > w.since.seq):
            return  # a stalled swap may have held the call back
        since = w.since
        timeout = w.ctx.timeout
        gone: int | None = None
        if w.wait_any and status < len(w.events):
            ev = w.events[status]
            anchor = since if ev.certain is not None else ev.first
            gone = None if anchor is None else elapsed(anchor, rec)
        elif status == st.TIMEOUT and timeout is not None:
            gone = self._past_timeout(timeout, since, rec)
        else:
            causes = (
                self._consumed(w, status)
                if status not in _INTERRUPTIONS
                else [w.alerts]
                if status == st.ALERTED
                else [w.apc]
            )
            sets = [
                None if c is None else since if c.certain is not None else c.first for c in causes
            ]
            if sets and None not in sets:
                gone = min(elapsed(s, rec) for s in sets if s is not None)
        if gone is not None and gone > self.expectations.latency:
            self.lost(
                f"worker {rec.worker} woke with {_status(w, status)} {ms(gone)} after the wake "
                f"was due (its wait began at seq {since.seq}); the expected latency is "
                f"{ms(self.expectations.latency)}",
                since.seq,
                rec.seq,
            )

    def _consumed(self, w: Waiter, status: int) -> list[Cause]:
        """The event causes a wake with `status` consumes."""
        if w.wait_any:
            return [w.events[status]] if status < len(w.events) else []
        return list(w.events) if status == st.SUCCESS else []

    def _spurious(self, w: Waiter, rec: Enter, status: int, cause: Cause) -> None:
        """spurious-wake: every wake needs a cause not consumed by an earlier wake."""
        self.spurious(
            f"worker {rec.worker} woke with {_status(w, status)} but no {cause.label} "
            "is left to cause it: each was already consumed by an earlier wake (sets "
            "that came while the routine ran coalesce into one)",
            w.since.seq,
            rec.seq,
        )

    def _not_lowest(self, w: Waiter, rec: Enter, status: int, i: int, cause: SetBy) -> None:
        self.lost(
            f"worker {rec.worker} woke with {_status(w, status)} although event {i} was "
            f"set before its wait began (seq {cause.seq}); the wait tests its objects "
            "first and WaitAny returns the lowest signalled index",
            cause.seq,
            rec.seq,
        )

    def _lowest(self, w: Waiter, rec: Enter, status: int) -> None:
        """WAIT_j while a lower event was set, during the wait, before j could have been."""
        event = w.events[status]
        woke = event.first
        if woke is None or event.units:
            return  # it may have been set before the wait began: kept from the last wake
        for i in bits(w.window & ((1 << status) - 1)):
            first = w.events[i].first
            if first is not None and first.seq < woke.seq:
                self.lost(
                    f"worker {rec.worker} woke with {_status(w, status)} although event {i} "
                    f"was set (seq {first.seq}) before event {status} (seq {woke.seq}); "
                    "WaitAny returns the lowest signalled index",
                    first.seq,
                    woke.seq,
                    rec.seq,
                )
                return

    def _timed_out(self, w: Waiter, rec: Enter) -> None:
        for cause in w.causes():
            if cause.certain is not None:
                self.lost(
                    f"worker {rec.worker} got STATUS_TIMEOUT although {cause.label} was pending "
                    f"when its alertable wait began (seq {cause.certain.seq}); a pending alert "
                    "or user APC ends the wait before the timeout is tested",
                    cause.certain.seq,
                    rec.seq,
                )
                return
        candidates: list[SetBy] = []
        if w.wait_any:
            candidates += [ev.first for ev in w.events if ev.first is not None]
        else:  # WaitAll: satisfied once the last event was set
            sets = [ev.certain or ev.first for ev in w.events]
            present = [r for r in sets if r is not None]
            if len(present) == len(sets):
                candidates.append(max(present, key=_seq))
        candidates += [c.first for c in w.causes() if c.first is not None]
        for record in sorted(candidates, key=_seq):
            early = self._before_due(w, record)
            if early is not None:
                self.lost(
                    f"worker {rec.worker} got STATUS_TIMEOUT although seq {record.seq} "
                    f"({record.__struct_config__.tag}) came {early} before the timeout could "
                    "fire; the wait is satisfied when it comes",
                    record.seq,
                    rec.seq,
                )
                return

    def _before_due(self, w: Waiter, cause: SetBy) -> str | None:
        """How long before the earliest instant the timeout could fire `cause` came, if it
        certainly did (the kernel may fire a relative timeout up to one tick early)."""
        timeout = w.ctx.timeout
        if not timeout:
            return None  # a poll fires at once
        if timeout > 0:
            margin = timeout - self.expectations.tick - cause.t
        else:
            margin = -timeout - self.expectations.tick - elapsed(w.since, cause)
        return ms(margin) if margin > 0 else None

    # -- the end of the trace -----------------------------------------------------------
    def finish(self, last: Record | None) -> None:
        """Report waiting workers whose wake was due `latency` before the trace ended."""
        if last is None or self._stalled:
            return  # calls may be held by a stalled swap: nothing is overdue
        for worker, w in self._waiters.items():
            due = None if w.running else self._overdue(w, last)
            if due is None:
                continue
            gone, what, seq = due
            if self._released is not None and self._released.seq > seq:
                gone = min(gone, elapsed(self._released, last))
            if gone >= self.expectations.latency and gone > 0:
                self.lost(
                    f"worker {worker} was due to wake ({what}) but its routine was not entered "
                    f"in the {ms(gone)} the trace goes on after that",
                    seq,
                    last.seq,
                )

    def _overdue(self, w: Waiter, last: Record) -> tuple[int, str, int] | None:
        """How long before `last` the worker certainly had to wake, why, and since which
        seq: the earliest of its causes."""
        since = w.since
        found: list[tuple[int, str, int]] = []

        def cause_set(c: Cause) -> tuple[int, str, int] | None:
            if c.certain is not None:
                return elapsed(since, last), f"{c.label} was set when it began waiting", since.seq
            if c.first is not None:
                return elapsed(c.first, last), f"{c.label} came at seq {c.first.seq}", c.first.seq
            return None

        sets = [cause_set(ev) for ev in w.events]
        if w.wait_any:
            found += [s for s in sets if s is not None]
        elif all(s is not None for s in sets):
            found.append(min((s for s in sets if s is not None), key=lambda s: s[0]))
        found += [s for s in map(cause_set, w.causes()) if s is not None]
        timeout = w.ctx.timeout
        if timeout is not None:
            what = (
                "a poll"
                if timeout == 0
                else f"its {ms(-timeout)} timeout"
                if timeout < 0
                else f"absolute timeout {timeout}"
            )
            found.append((self._past_timeout(timeout, since, last), what, since.seq))
        return max(found, key=lambda f: f[0]) if found else None

    def _past_timeout(self, timeout: int, since: Record, now: Record) -> int:
        """How long after the latest instant the timer may fire `now` is: a timer expires on
        the first clock tick at or after its due time (WDK "Timer Accuracy")."""
        if timeout > 0:
            return now.t - max(timeout, since.t) - self.expectations.tick
        if timeout < 0:
            return elapsed(since, now) + timeout - self.expectations.tick
        return elapsed(since, now)  # a poll is due at once


def _seq(rec: Record) -> int:
    return rec.seq


def _status(w: Waiter, status: int) -> str:
    if status == st.WAIT_0 and w.ctx.wait_type == WaitType.ANY:
        return "STATUS_WAIT_0"
    return st.name(status)


def _ignore(message: str, *seqs: int) -> None:
    """A report for a disabled invariant."""
