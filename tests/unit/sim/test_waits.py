"""KeWaitForMultipleObjects, alerts and user APCs in the simulated kernel."""

from __future__ import annotations

from harness.contract import status as st
from harness.contract.startctx import EventKind, WaitMode, WaitType
from harness.sim.scheduler import Scheduler
from harness.sim.waits import KEvent, MultiWait, SimThread

S, N = EventKind.SYNC, EventKind.NOTIFICATION


def _wait(
    sched: Scheduler, events: list[KEvent], thread: SimThread | None = None, **kw: object
) -> list[int]:
    got: list[int] = []
    options: dict[str, object] = {
        "wait_type": WaitType.ANY,
        "wait_mode": WaitMode.KERNEL,
        "alertable": False,
        "deadline": None,
    }
    options.update(kw)
    MultiWait(sched, thread or SimThread(1, 2), events, on_done=got.append, **options).start()  # type: ignore[arg-type]
    return got


def test_wait_any_reports_lowest_signalled_index_and_resets_sync_event() -> None:
    sched = Scheduler()
    evs = [KEvent(S), KEvent(N), KEvent(S)]
    evs[2].set()
    evs[1].set()
    assert _wait(sched, evs) == [st.wait(1)]
    assert evs[1].signalled, "a notification event stays set after satisfying a wait"
    assert _wait(sched, evs) == [st.wait(1)], "so the next wait returns at once"
    assert _wait(sched, [evs[0], evs[2]]) == [st.wait(1)]
    assert not evs[2].signalled, "a sync event resets when consumed"


def test_wait_all_needs_every_event_and_returns_success() -> None:
    sched = Scheduler()
    evs = [KEvent(S), KEvent(S)]
    got = _wait(sched, evs, wait_type=WaitType.ALL)
    evs[0].set()
    assert got == [] and evs[0].signalled, "an unsatisfied WaitAll consumes nothing"
    evs[1].set()
    assert got == [st.SUCCESS]
    assert not evs[0].signalled and not evs[1].signalled


def test_a_set_that_lands_after_the_wake_is_kept() -> None:
    sched = Scheduler()
    ev = KEvent(S)
    got = _wait(sched, [ev])
    ev.set()
    ev.set()  # no wait is pending now: the event stays set for the next one
    assert got == [st.WAIT_0] and ev.signalled
    assert _wait(sched, [ev]) == [st.WAIT_0]
    assert _wait(sched, [ev]) == [], "two sets with no waiter coalesce into one"


def test_relative_timeout_fires_at_deadline_not_before() -> None:
    sched = Scheduler()
    start = sched.now
    got = _wait(sched, [KEvent(S)], deadline=start + 1000)
    sched.run_until(start + 999)
    assert got == []
    sched.run_until(start + 1000)
    assert got == [st.TIMEOUT] and sched.now == start + 1000


def test_zero_timeout_polls_but_a_set_event_wins() -> None:
    sched = Scheduler()
    assert _wait(sched, [KEvent(S)], deadline=sched.now) == [st.TIMEOUT]
    ev = KEvent(S)
    ev.set()
    assert _wait(sched, [ev], deadline=sched.now) == [st.wait(0)]


def test_alerts_only_wake_alertable_waits() -> None:
    sched = Scheduler()
    thread = SimThread(1, 2)
    assert _wait(sched, [KEvent(S)], thread) == []
    thread.alert(WaitMode.KERNEL)
    assert thread.wait is not None, "a non-alertable wait goes on"
    thread.wait.cancel()
    got = _wait(sched, [KEvent(S)], thread, alertable=True)
    assert got == [st.ALERTED], "the alert left pending ends the next alertable wait"
    got = _wait(sched, [KEvent(S)], thread, alertable=True)
    thread.alert(WaitMode.KERNEL)
    thread.alert(WaitMode.KERNEL)
    assert got == [st.ALERTED] and thread.alerted == [True, False]
    assert _wait(sched, [KEvent(S)], thread, alertable=True) == [st.ALERTED]
    assert _wait(sched, [KEvent(S)], thread, alertable=True) == [], "two alerts, two wakes"


def test_a_signalled_object_beats_a_pending_alert() -> None:
    sched = Scheduler()
    thread = SimThread(1, 2)
    thread.alert(WaitMode.KERNEL)
    ev = KEvent(S)
    ev.set()
    assert _wait(sched, [ev], thread, alertable=True) == [st.WAIT_0]
    assert _wait(sched, [ev], thread, alertable=True) == [st.ALERTED]


def test_a_user_apc_never_ends_a_kernel_mode_wait() -> None:
    sched = Scheduler()
    thread = SimThread(1, 2)
    got = _wait(sched, [KEvent(S)], thread, alertable=True, wait_mode=WaitMode.KERNEL)
    thread.queue_user_apc()
    assert got == [] and thread.wait is not None


def test_a_user_apc_to_a_system_thread_stays_queued() -> None:
    sched = Scheduler()
    thread = SimThread(1, 2)
    got = _wait(sched, [KEvent(S)], thread, alertable=True, wait_mode=WaitMode.USER)
    thread.queue_user_apc()
    assert got == [st.USER_APC]
    for _ in range(3):
        assert _wait(sched, [KEvent(S)], thread, alertable=True, wait_mode=WaitMode.USER) == [
            st.USER_APC
        ]
    ev = KEvent(S)
    ev.set()
    assert _wait(sched, [ev], thread, alertable=True, wait_mode=WaitMode.USER) == [st.WAIT_0]
    assert _wait(sched, [KEvent(S)], thread, alertable=False, wait_mode=WaitMode.USER) == []
