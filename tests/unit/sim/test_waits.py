"""KeWaitForMultipleObjects semantics of the simulated kernel."""

from __future__ import annotations

from harness.contract import status as st
from harness.contract.startctx import EventKind, WaitMode, WaitType
from harness.sim.scheduler import Scheduler
from harness.sim.waits import KEvent, MultiWait


def _wait(sched: Scheduler, events: list[KEvent], **kw: object) -> list[int]:
    got: list[int] = []
    options: dict[str, object] = {"wait_type": WaitType.ANY, "wait_mode": WaitMode.KERNEL,
                                  "alertable": False, "deadline": None}
    options.update(kw)
    MultiWait(sched, events, on_done=got.append, **options).start()  # type: ignore[arg-type]
    return got


def test_wait_any_reports_lowest_signalled_index_and_resets_sync_event() -> None:
    sched = Scheduler()
    evs = [KEvent(EventKind.SYNC), KEvent(EventKind.NOTIFICATION), KEvent(EventKind.SYNC)]
    evs[2].set()
    evs[1].set()
    got = _wait(sched, evs)
    assert got == [st.wait(1)]
    assert evs[1].signalled, "a notification event stays set after satisfying a wait"
    got = _wait(sched, [evs[0], evs[2]])
    assert got == [st.wait(1)] and not evs[2].signalled, "a sync event resets when consumed"


def test_wait_all_needs_every_event_and_returns_success() -> None:
    sched = Scheduler()
    evs = [KEvent(EventKind.SYNC), KEvent(EventKind.SYNC)]
    got = _wait(sched, evs, wait_type=WaitType.ALL)
    evs[0].set()
    assert got == []
    evs[1].set()
    assert got == [st.SUCCESS]
    assert not evs[0].signalled and not evs[1].signalled


def test_relative_timeout_fires_at_deadline_not_before() -> None:
    sched = Scheduler()
    start = sched.now
    got = _wait(sched, [KEvent(EventKind.SYNC)], deadline=start + 1000)
    sched.run_until(start + 999)
    assert got == []
    sched.run_until(start + 1000)
    assert got == [st.TIMEOUT] and sched.now == start + 1000


def test_zero_timeout_polls_but_a_set_event_wins() -> None:
    sched = Scheduler()
    ev = KEvent(EventKind.SYNC)
    assert _wait(sched, [ev], deadline=sched.now) == []  # timer queued for now
    sched.run_until(sched.now)
    ev2 = KEvent(EventKind.SYNC)
    ev2.set()
    assert _wait(sched, [ev2], deadline=sched.now) == [st.wait(0)]


def test_alerts_only_wake_alertable_waits_and_user_apc_only_in_user_mode() -> None:
    sched = Scheduler()
    plain = MultiWait(sched, [KEvent(EventKind.SYNC)], wait_type=WaitType.ANY,
                      wait_mode=WaitMode.KERNEL, alertable=False, deadline=None,
                      on_done=lambda s: None)
    plain.start()
    assert plain.alert(user_apc=False) is False
    got: list[int] = []
    kernel = MultiWait(sched, [KEvent(EventKind.SYNC)], wait_type=WaitType.ANY,
                       wait_mode=WaitMode.KERNEL, alertable=True, deadline=None,
                       on_done=got.append)
    kernel.start()
    assert kernel.alert(user_apc=True) is False, "a user APC must not wake a kernel-mode wait"
    assert kernel.alert(user_apc=False) is True and got == [st.ALERTED]
