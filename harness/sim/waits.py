"""Kernel events and KeWaitForMultipleObjects semantics (reference section 4).

A `MultiWait` is one thread blocked on a list of events. It is satisfied by the lowest
signalled index (WaitAny) or by all of them (WaitAll), by an alert or user APC when
alertable, or by its timeout; satisfying it resets synchronization events.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.contract import status as st
from harness.contract.startctx import EventKind, WaitMode, WaitType
from harness.sim.scheduler import Scheduler, Timer

__all__ = ["KEvent", "MultiWait"]


class KEvent:
    """A KEVENT: notification (stays set) or synchronization (auto-reset)."""

    __slots__ = ("drop", "kind", "signalled", "waiters")

    def __init__(self, kind: EventKind):
        self.kind = kind
        self.signalled = False
        self.waiters: list[MultiWait] = []
        self.drop: Callable[[], bool] | None = None  # the lost-wakeup mutant

    def set(self) -> None:
        """KeSetEvent: signal and try to satisfy every waiter, in the order they waited."""
        if self.drop and self.waiters and self.kind is EventKind.SYNC and self.drop():
            return  # the wake-up is dropped on the floor
        self.signalled = True
        for wait in list(self.waiters):
            wait.poll()
            if not self.signalled:
                break

    def clear(self) -> None:
        self.signalled = False


class MultiWait:
    """One KeWaitForMultipleObjects call in progress."""

    def __init__(
        self,
        sched: Scheduler,
        events: list[KEvent],
        *,
        wait_type: int,
        wait_mode: int,
        alertable: bool,
        deadline: int | None,
        on_done: Callable[[int], None],
        highest_index: bool = False,
    ):
        self.sched = sched
        self.events = events
        self.wait_type = wait_type
        self.wait_mode = wait_mode
        self.alertable = alertable
        self.on_done = on_done
        self.highest_index = highest_index  # the wrong-wait-index mutant
        self.done = False
        self.timer: Timer | None = None
        if deadline is not None:
            self.timer = sched.at(deadline, self._timeout)

    def start(self) -> None:
        """Begin waiting: satisfied at once when the events already allow it."""
        for ev in self.events:
            ev.waiters.append(self)
        self.poll()

    def poll(self) -> None:
        """Satisfy the wait if its events allow it now."""
        if self.done:
            return
        signalled = [i for i, ev in enumerate(self.events) if ev.signalled]
        if self.wait_type == WaitType.ANY and signalled:
            index = signalled[-1] if self.highest_index else signalled[0]
            self._consume([index])
            self._finish(st.wait(index))
        elif self.wait_type == WaitType.ALL and len(signalled) == len(self.events):
            self._consume(signalled)
            self._finish(st.SUCCESS)

    def alert(self, user_apc: bool) -> bool:
        """Deliver an alert (or user APC); True when it ended the wait."""
        if self.done or not self.alertable:
            return False
        if user_apc and self.wait_mode != WaitMode.USER:
            return False
        self._finish(st.USER_APC if user_apc else st.ALERTED)
        return True

    def _consume(self, indexes: list[int]) -> None:
        for i in indexes:
            if self.events[i].kind is EventKind.SYNC:
                self.events[i].signalled = False

    def _timeout(self) -> None:
        self.timer = None
        if not self.done:
            self._finish(st.TIMEOUT)

    def _finish(self, status: int) -> None:
        self.cancel()
        self.on_done(status)

    def cancel(self) -> None:
        """Stop waiting: drop the timer and leave every event's waiter list."""
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        for ev in self.events:
            if self in ev.waiters:
                ev.waiters.remove(self)
