"""Kernel events, thread alerts and user APCs, and KeWaitForMultipleObjects.

Written from the reference (docs/trace-format.md "What the wait does", which cites the peer
suites) and kept independent of the checker. A wait tests, in this order: its objects
(WaitAny: the lowest signalled index; WaitAll: all of them), then, if alertable, the thread's
alert for the wait's mode, a queued user APC (UserMode waits only), the kernel-mode alert,
then a zero timeout. Only then does it block; while it blocks, a set that satisfies it, an
alert or user APC it accepts, or its timer ends it. Satisfying a wait resets the
synchronization events it consumed; notification events stay set.

A user APC queued to a system thread is never delivered (the thread never returns to user
mode), so it stays queued and every later alertable UserMode wait returns STATUS_USER_APC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harness.contract import status as st
from harness.contract.startctx import EventKind, WaitMode, WaitType
from harness.sim.scheduler import Scheduler, Timer

__all__ = ["KEvent", "MultiWait", "SimThread"]

PASSIVE_LEVEL = 0


class KEvent:
    """A KEVENT: notification (stays set) or synchronization (auto-reset)."""

    __slots__ = ("drop", "kind", "pulse", "signalled", "waiters")

    def __init__(self, kind: EventKind, *, signalled: bool = False):
        self.kind = kind
        self.signalled = signalled
        self.waiters: list[MultiWait] = []
        self.drop: Callable[[], bool] | None = None  # the lost-wakeup mutant
        self.pulse = False  # the set-needs-waiter mutant

    def set(self) -> None:
        """KeSetEvent: signal and satisfy the waiters it can, in the order they waited."""
        if self.drop and self.waiters and self.kind is EventKind.SYNC and self.drop():
            return  # the wake-up is dropped on the floor
        if self.pulse and not self.waiters:
            return
        self.signalled = True
        for wait in list(self.waiters):
            wait.poll()
            if not self.signalled:
                break

    def clear(self) -> None:
        """KeClearEvent."""
        self.signalled = False


@dataclass
class SimThread:
    """A kernel thread: its ids, IRQL, alert state, queued user APCs and current wait."""

    id: int
    object: int
    irql: int = PASSIVE_LEVEL
    alerted: list[bool] = field(default_factory=lambda: [False, False])
    """Alerted[KernelMode], Alerted[UserMode]."""
    user_apcs: int = 0
    """User APCs queued and never delivered (a system thread never returns to user mode)."""
    wait: MultiWait | None = None
    bugs: frozenset[str] = frozenset()
    """Names of the kernel's alert bugs (harness.sim.mutants) this thread has."""

    def _alertable(self, wait: MultiWait) -> bool:
        return wait.alertable or "alert-wakes-unalertable" in self.bugs

    def _alerted(self, mode: int) -> int:
        """The status an alert ends a wait in `mode` with."""
        wrong = "alert-as-user-apc" in self.bugs and mode == WaitMode.KERNEL
        return st.USER_APC if wrong else st.ALERTED

    def alert(self, mode: int) -> None:
        """KeAlertThread(thread, mode): end an alertable wait in a mode at least `mode`,
        else remember the alert (a second one before it is used changes nothing)."""
        if self.alerted[mode]:
            return
        wait = self.wait
        if wait is not None and self._alertable(wait) and mode <= wait.wait_mode:
            wait.interrupt(self._alerted(wait.wait_mode))
            self.alerted[mode] = "alert-not-cleared" in self.bugs
        else:
            self.alerted[mode] = True

    def queue_user_apc(self) -> None:
        """KeInsertQueueApc of a user-mode APC: it ends an alertable UserMode wait and stays
        queued; a KernelMode wait never sees it."""
        self.user_apcs += 1
        wait = self.wait
        if wait is not None and wait.alertable and wait.wait_mode == WaitMode.USER:
            wait.interrupt(st.USER_APC)

    def alertability(self, alertable: bool, mode: int) -> int | None:
        """What an alertable wait returns before blocking, if anything (and uses the alert)."""
        if not alertable and "alert-wakes-unalertable" not in self.bugs:
            return None
        if self.alerted[mode]:
            self.alerted[mode] = "alert-not-cleared" in self.bugs
            return self._alerted(mode)
        if mode == WaitMode.USER and self.user_apcs and alertable:
            return st.USER_APC
        if self.alerted[WaitMode.KERNEL]:
            self.alerted[WaitMode.KERNEL] = False
            return self._alerted(mode)
        return None


class MultiWait:
    """One KeWaitForMultipleObjects call of `thread`; `on_done(status)` when it ends."""

    def __init__(
        self,
        sched: Scheduler,
        thread: SimThread,
        events: list[KEvent],
        *,
        wait_type: int,
        wait_mode: int,
        alertable: bool,
        deadline: int | None,
        on_done: Callable[[int], None],
        highest_index: bool = False,
        bugs: frozenset[str] = frozenset(),
    ):
        self.sched = sched
        self.thread = thread
        self.events = events
        self.wait_type = wait_type
        self.wait_mode = wait_mode
        self.alertable = alertable
        self.deadline = deadline
        """Interrupt time the timer fires at; None: no timeout."""
        self.on_done = on_done
        self.highest_index = highest_index  # the wrong-wait-index mutant
        self.bugs = bugs
        """Names of the kernel's wait bugs (harness.sim.mutants) this wait has."""
        self.done = False
        self.timer: Timer | None = None

    def start(self) -> None:
        """Test the objects, then the alerts, then a due timeout; else block."""
        status = self._test_objects()
        if status is None:
            status = self.thread.alertability(self.alertable, self.wait_mode)
        if status is None and self.deadline is not None and self.deadline <= self.sched.now:
            status = st.TIMEOUT
        if status is not None:
            self.done = True
            self.on_done(status)
            return
        for ev in self.events:
            ev.waiters.append(self)
        self.thread.wait = self
        if self.deadline is not None:
            self.timer = self.sched.at(self.deadline, self._expired)

    def _expired(self) -> None:
        self.interrupt(st.WAIT_0 if "timeout-reports-index" in self.bugs else st.TIMEOUT)

    def rearm(self, deadline: int) -> None:
        """Move the timer (an absolute timeout after the system clock was set)."""
        if self.done or self.timer is None:
            return
        self.timer.cancel()
        self.deadline = deadline
        self.timer = self.sched.at(deadline, self._expired)

    def poll(self) -> None:
        """An event was set: satisfy the wait if its objects allow it now."""
        if not self.done:
            status = self._test_objects()
            if status is not None:
                self._finish(status)

    def interrupt(self, status: int) -> None:
        """End the wait with an alert, a user APC or the timeout."""
        if not self.done:
            self._finish(status)

    def _test_objects(self) -> int | None:
        signalled = [i for i, ev in enumerate(self.events) if ev.signalled]
        if self.wait_type == WaitType.ANY and signalled:
            index = signalled[-1] if self.highest_index else signalled[0]
            self._consume([index])
            return st.wait(index)
        every = len(signalled) == len(self.events)
        some = bool(signalled) and "wait-all-any" in self.bugs
        if self.wait_type == WaitType.ALL and (every or some):
            self._consume(signalled)
            if "wait-all-returns-index" in self.bugs:
                return st.wait(len(self.events) - 1)
            return st.SUCCESS
        return None

    def _consume(self, indexes: list[int]) -> None:
        if "sync-event-not-reset" in self.bugs:
            return
        for i in indexes:
            if self.events[i].kind is EventKind.SYNC:
                self.events[i].signalled = False

    def _finish(self, status: int) -> None:
        self.cancel()
        self.on_done(status)

    def cancel(self) -> None:
        """Stop waiting: drop the timer and leave every event's waiter list."""
        self.done = True
        if self.thread.wait is self:
            self.thread.wait = None
        if self.timer is not None:
            self.timer.cancel()
        for ev in self.events:
            if self in ev.waiters:
                ev.waiters.remove(self)
