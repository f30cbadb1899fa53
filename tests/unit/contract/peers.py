"""The peer corpus: what test suites that run on (or mirror) Windows show about waits, each
as a trace of the correct behaviour, which the checker must pass, and one of the forbidden
behaviour, which it must flag.

Every expectation names the file and lines it comes from, at the commit that was read:

- Wine's kernel-mode test driver, `test_sync()`, which Wine's test farm runs on Windows:
  wine-mirror/wine dlls/ntoskrnl.exe/tests/driver.c @ 6aecad9f1f54e5e916c09ca9af51f9600a3c654c
- ReactOS kmtests: reactos/reactos modules/rostests/kmtests/ntos_ke/KeEvent.c
  @ 6dd6209657c10d355dd053f2a1c1f998610fc5f5
- Wine's ntdll tests: wine-mirror/wine dlls/ntdll/tests/sync.c
  @ d10f88f1acd7f787a7f04e618608673f5b46692e
- Linux's ntsync selftests, an emulation of NT waits: torvalds/linux
  tools/testing/selftests/drivers/ntsync/ntsync.c @ e65d9626f9bbc1b9f94aa1d1a1fa2450578ec0b8
- the WDK pages "Waits and APCs" and "Timer Accuracy" (learn.microsoft.com, no commit).

The tests of the user-mode and emulated suites wait on kernel objects directly; the worker
thread waits in the kernel on behalf of a routine that hsprobe writes. `carries_over` says
what changes on the way, in particular where an expectation does not carry over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from harness.contract import status as st
from harness.contract.clock import MS
from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitType
from tests.unit.contract.script import Script

__all__ = ["PEERS", "Peer"]

S, N = EventKind.SYNC, EventKind.NOTIFICATION
WINE_DRIVER = "wine-mirror/wine dlls/ntoskrnl.exe/tests/driver.c@6aecad9f1f54"
KEEVENT = "reactos/reactos modules/rostests/kmtests/ntos_ke/KeEvent.c@6dd6209657c1"
WINE_SYNC = "wine-mirror/wine dlls/ntdll/tests/sync.c@d10f88f1acd7"
NTSYNC = "torvalds/linux tools/testing/selftests/drivers/ntsync/ntsync.c@e65d9626f9bb"
WAITS_AND_APCS = "learn.microsoft.com/windows-hardware/drivers/kernel/waits-and-apcs"
TIMER_ACCURACY = "learn.microsoft.com/windows-hardware/drivers/kernel/timer-accuracy"
KESETTIMER = "learn.microsoft.com/windows-hardware/drivers/ddi/wdm/nf-wdm-kesettimer"


@dataclass(frozen=True)
class Peer:
    name: str
    sources: tuple[str, ...]
    """`file:lines` at the pinned commit (or a WDK page and what on it)."""
    expectation: str
    carries_over: str
    clean: Callable[[], Script]
    forbidden: Callable[[], Script]
    flagged_by: str
    """The invariant that must report the forbidden trace."""


def _worker(ctx: StartContext, **expectations: object) -> Script:
    s = Script(**expectations)
    s.create(ctx=ctx)
    s.wait()
    return s


def _running(s: Script, status: int = st.WAIT_0, event: int = 0) -> None:
    """A first wake, so that what follows happens while the routine runs."""
    s.signal(event=event)
    s.enter(status=status)


def _next(s: Script, status: int, dt: int = 10) -> int:
    """The routine returns (continue), the worker waits and wakes with `status`."""
    s.exit()
    s.wait()
    return s.enter(status=status, dt=dt)


def _done(s: Script) -> Script:
    s.exit(returned=False)
    s.thread_exit()
    return s


# -- notification events ----------------------------------------------------------------
NOTE = StartContext(events=(N,), timeout=-100 * MS)


def _notification(last: int) -> Script:
    s = _worker(NOTE, clears_notification=False)
    _running(s)
    _next(s, st.WAIT_0)
    _next(s, last, dt=100 * MS)
    return _done(s)


# -- synchronization events -------------------------------------------------------------
SYNC = StartContext(events=(S,), timeout=-100 * MS)


def _sync_reset(last: int) -> Script:
    s = _worker(SYNC)
    _running(s)
    _next(s, last, dt=100 * MS)
    return _done(s)


def _coalesced(last: int) -> Script:
    s = _worker(SYNC)
    _running(s)
    s.signal()
    s.signal()  # two sets while the routine runs: the event is set once
    _next(s, st.WAIT_0)
    _next(s, last, dt=100 * MS)
    return _done(s)


def _one_set_one_wake(last: int) -> Script:
    s = _worker(SYNC)
    s.signal()  # during the wait
    s.enter(status=st.WAIT_0)
    _next(s, last, dt=100 * MS)
    return _done(s)


def _kept(wake: int) -> Script:
    s = _worker(SYNC)
    _running(s)
    s.signal()  # lands before the worker waits again: kept for that wait
    _next(s, wake, dt=100 * MS if wake == st.TIMEOUT else 10)
    return _done(s)


def _set_during_wait(wake: int) -> Script:
    s = _worker(StartContext(events=(S, S), timeout=-100 * MS))
    s.signal(event=1, dt=10 * MS)
    s.enter(status=wake, dt=90 * MS if wake == st.TIMEOUT else 10)
    s.exit(returned=False)
    s.thread_exit()
    return s


# -- WaitAny and WaitAll ----------------------------------------------------------------
def _lowest(first: int, second: int) -> Script:
    s = _worker(StartContext(events=(S, N)))
    _running(s)
    s.signal(event=1)
    s.signal(event=0)  # both set before the next wait
    _next(s, st.wait(first))
    _next(s, st.wait(second))
    return _done(s)


def _other_kept(second: int) -> Script:
    s = _worker(StartContext(events=(N, S), timeout=-100 * MS))
    _running(s)
    s.signal(event=0)
    s.signal(event=1)
    _next(s, st.WAIT_0)
    _next(s, second, dt=100 * MS if second == st.TIMEOUT else 10)
    return _done(s)


ALL = StartContext(events=(S, N), wait_type=WaitType.ALL, timeout=-100 * MS)


def _wait_all_consumes(last: int) -> Script:
    s = _worker(ALL)
    s.signal(event=0)
    s.signal(event=1)
    s.enter(status=st.SUCCESS)
    s.signal(event=0)  # only one of the two again
    _next(s, last, dt=100 * MS)
    return _done(s)


def _partial_keeps(last: int) -> Script:
    s = _worker(ALL)
    s.signal(event=0)
    s.enter(status=st.TIMEOUT, dt=100 * MS)  # a partial WaitAll times out...
    s.signal(event=1)  # ...and consumed nothing: the set of event 0 still counts
    _next(s, last, dt=100 * MS if last == st.TIMEOUT else 10)
    return _done(s)


# -- alerts and user APCs ---------------------------------------------------------------
ALERTABLE = StartContext(alertable=True, timeout=-100 * MS)


def _object_first(first: int, second: int) -> Script:
    s = _worker(ALERTABLE)
    _running(s)
    s.signal()
    s.alert()  # both pending when the next wait begins
    _next(s, first)
    _next(s, second)
    return _done(s)


def _alert_once(third: int) -> Script:
    s = _worker(ALERTABLE)
    _running(s)
    s.alert()
    s.alert()
    _next(s, st.ALERTED)
    _next(s, third, dt=100 * MS)
    return _done(s)


def _user_apc_stays(last: int) -> Script:
    s = _worker(StartContext(alertable=True, wait_mode=WaitMode.USER, timeout=-100 * MS))
    s.alert(user_apc=True)
    s.enter(status=st.USER_APC)
    _next(s, st.USER_APC)
    _next(s, last, dt=100 * MS)
    return _done(s)


def _user_apc_kernel_wait(wake: int) -> Script:
    s = _worker(ALERTABLE)
    s.alert(user_apc=True)
    s.enter(status=wake, dt=100 * MS)
    return _done(s)


def _alert_any_mode(ctx: StartContext) -> Script:
    s = _worker(ctx)
    s.alert()
    s.enter(status=st.ALERTED)
    return _done(s)


# -- timers -----------------------------------------------------------------------------
def _clock_step(interrupt_elapsed: int) -> Script:
    """A relative 100 ms wait during which the system clock was set back 50 ms."""
    s = Script(tick=0)
    s.create(ctx=StartContext(timeout=-100 * MS))
    s.records[-1] = msgspec.structs.replace(s.records[-1], it=1_000 * MS)
    s.enter(status=st.TIMEOUT, dt=50 * MS)
    s.records[-1] = msgspec.structs.replace(s.records[-1], it=1_000 * MS + interrupt_elapsed)
    return _done(s)


def _tick_early(early: int) -> Script:
    s = _worker(StartContext(timeout=-100 * MS))  # the default tick: 15.625 ms
    s.enter(status=st.TIMEOUT, dt=100 * MS - early)
    return _done(s)


PEERS: tuple[Peer, ...] = (
    Peer(
        "notification-stays-set",
        (f"{WINE_DRIVER}:611-620",),
        "a satisfied wait leaves a notification event set: the next wait returns at once",
        "a worker would then wake again and again; hsprobe's routine clears it (the rule of "
        "docs/trace-format.md), so a trace shows this only with clears_notification false",
        lambda: _notification(st.WAIT_0),
        lambda: _notification(st.TIMEOUT),
        "lost-wakeup",
    ),
    Peer(
        "sync-reset-on-satisfy",
        (f"{WINE_DRIVER}:632-638",),
        "a satisfied wait resets a synchronization event: the next wait times out",
        "as is",
        lambda: _sync_reset(st.TIMEOUT),
        lambda: _sync_reset(st.WAIT_0),
        "spurious-wake",
    ),
    Peer(
        "sets-coalesce",
        (f"{KEEVENT}:74-76", f"{WINE_SYNC}:120-132", f"{NTSYNC}:400-403"),
        "setting an event that is set leaves it set once (the previous state is 1)",
        "two signals while the routine runs give one wake; a second signal during a wait "
        "may land after the wake and give a second one, so it is not judged",
        lambda: _coalesced(st.TIMEOUT),
        lambda: _coalesced(st.WAIT_0),
        "spurious-wake",
    ),
    Peer(
        "one-set-one-waiter",
        (f"{KEEVENT}:198-205", f"{KEEVENT}:385", f"{NTSYNC}:831-853"),
        "one set of a synchronization event satisfies one wait and leaves the event reset",
        "as is: one signal during a wait gives the worker one wake",
        lambda: _one_set_one_wake(st.TIMEOUT),
        lambda: _one_set_one_wake(st.WAIT_0),
        "spurious-wake",
    ),
    Peer(
        "kept-set",
        (f"{KEEVENT}:318-321", f"{KEEVENT}:333-336"),
        "a set that lands before the waiter waits is kept and satisfies its next wait",
        "as is: a signal while the routine runs wakes the worker's next wait at once",
        lambda: _kept(st.WAIT_0),
        lambda: _kept(st.TIMEOUT),
        "lost-wakeup",
    ),
    Peer(
        "set-during-wait-wakes",
        (f"{NTSYNC}:831-853",),
        "a set while a thread waits satisfies the wait with that object's index",
        "as is; a set within a tick of the timeout is a race and is not judged",
        lambda: _set_during_wait(st.wait(1)),
        lambda: _set_during_wait(st.TIMEOUT),
        "lost-wakeup",
    ),
    Peer(
        "wait-any-lowest-index",
        (f"{WINE_DRIVER}:687-699",),
        "WaitAny with several objects set returns the lowest index and consumes only it",
        "as is (the notification event at index 1 is then cleared by the routine)",
        lambda: _lowest(0, 1),
        lambda: _lowest(1, 0),
        "lost-wakeup",
    ),
    Peer(
        "wait-any-keeps-the-others",
        (f"{WINE_DRIVER}:651-658",),
        "a WaitAny satisfied by one object leaves the other objects set",
        "as is",
        lambda: _other_kept(st.wait(1)),
        lambda: _other_kept(st.TIMEOUT),
        "lost-wakeup",
    ),
    Peer(
        "wait-all-consumes-all",
        (f"{WINE_DRIVER}:669-676",),
        "a satisfied WaitAll resets its synchronization events: the next WaitAll times out",
        "as is (the routine clears the notification events)",
        lambda: _wait_all_consumes(st.TIMEOUT),
        lambda: _wait_all_consumes(st.SUCCESS),
        "spurious-wake",
    ),
    Peer(
        "partial-wait-all-consumes-nothing",
        (f"{WINE_DRIVER}:678-685",),
        "a WaitAll that times out with only some objects set leaves them set",
        "as is",
        lambda: _partial_keeps(st.SUCCESS),
        lambda: _partial_keeps(st.TIMEOUT),
        "lost-wakeup",
    ),
    Peer(
        "object-before-alert",
        (f"{NTSYNC}:1063-1111",),
        "with an object signalled and the alert set, the wait returns the object; the "
        "alert only once no object is",
        "ntsync's alert is an event, not KeAlertThread's per-thread flag; the order is the "
        "one KeWaitForMultipleObjects tests in (objects, then alerts, then the timeout)",
        lambda: _object_first(st.WAIT_0, st.ALERTED),
        lambda: _object_first(st.ALERTED, st.WAIT_0),
        "lost-wakeup",
    ),
    Peer(
        "alert-once",
        (f"{NTSYNC}:1143-1162",),
        "an auto-reset alert ends one wait; the next one times out",
        "KeAlertThread keeps one Alerted flag per mode: two alerts before a wait are one",
        lambda: _alert_once(st.TIMEOUT),
        lambda: _alert_once(st.ALERTED),
        "spurious-wake",
    ),
    Peer(
        "user-apc-stays-queued",
        (f"{WAITS_AND_APCS} (table: Alertable TRUE, WaitMode UserMode)",),
        "a user APC ends an alertable UserMode wait with STATUS_USER_APC",
        "does not carry over as such: a user APC runs when the thread returns to user mode, "
        "and a system thread never does, so it stays queued and every later alertable "
        "UserMode wait returns STATUS_USER_APC again",
        lambda: _user_apc_stays(st.USER_APC),
        lambda: _user_apc_stays(st.TIMEOUT),
        "lost-wakeup",
    ),
    Peer(
        "user-apc-not-for-kernel-waits",
        (f"{WAITS_AND_APCS} (table: Alertable TRUE, WaitMode KernelMode)",),
        "a user APC is not delivered to a KernelMode wait: it does not end it",
        "as is",
        lambda: _user_apc_kernel_wait(st.TIMEOUT),
        lambda: _user_apc_kernel_wait(st.USER_APC),
        "wait-status",
    ),
    Peer(
        "alert-ends-alertable-waits-only",
        (f"{WAITS_AND_APCS} (alerts paragraph)",),
        "an alert ends an alertable wait in either mode with STATUS_ALERTED, and no other",
        "as is (hsprobe alerts in the wait's own mode)",
        lambda: _alert_any_mode(ALERTABLE),
        lambda: _alert_any_mode(StartContext()),
        "wait-status",
    ),
    Peer(
        "relative-timeouts-ignore-clock-changes",
        (f"{KESETTIMER} (DueTime)",),
        "relative expiration times are not affected by system time changes",
        "as is: the trace's interrupt time `it` is the clock such a wait runs on",
        lambda: _clock_step(100 * MS),
        lambda: _clock_step(50 * MS),
        "timeout-early",
    ),
    Peer(
        "relative-timeouts-one-tick-early",
        (f"{TIMER_ACCURACY} (relative expiration)",),
        "a relative expiration can occur up to one clock period earlier than specified",
        "as is: timeout-early allows one tick (expectations.tick) and says when it did",
        lambda: _tick_early(10 * MS),
        lambda: _tick_early(20 * MS),
        "timeout-early",
    ),
)
