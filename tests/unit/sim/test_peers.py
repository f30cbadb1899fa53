"""The peer corpus on the simulator: the hsprobe model on the simulated kernel shows each
expectation of tests/unit/contract/peers.py, and the checker passes what it records.

The gate holds the routine, so that what the test does next happens while it runs (not
while the worker waits): the only way to set an event "before the wait" on a real kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness import actions as act
from harness.contract import status as st
from harness.contract import trace
from harness.contract.check import Checker, check
from harness.contract.clock import MS
from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitType
from harness.targets.sim import SimTarget

S, N = EventKind.SYNC, EventKind.NOTIFICATION


def _target() -> SimTarget:
    t = SimTarget()
    t.probe()
    return t


def _worker(
    t: SimTarget, ctx: StartContext, *, gated: bool = False, behaviour: act.Behaviour | None = None
) -> int:
    out = t.do(
        act.CreateWorker(
            context=ctx, behaviour=behaviour or act.Behaviour(returns=True, gated=gated)
        )
    )
    assert out.worker is not None
    t.run(MS)
    return out.worker


def _held(t: SimTarget, w: int, event: int = 0) -> None:
    """Close the gate and wake the worker: it is held in its routine until `_release`."""
    t.do(act.Gate(closed=True))
    t.do(act.Signal(w, event))
    t.run(MS)


def _release(t: SimTarget, ms: float = 5) -> None:
    t.do(act.Gate(closed=False))
    t.run(round(ms * MS))


def _statuses(t: SimTarget, w: int) -> list[int]:
    return [r.wait_status for r in t.records() if isinstance(r, trace.Enter) and r.worker == w]


def _clean(t: SimTarget) -> None:
    assert check(t.records(), t.expectations) == []


def _names(statuses: Sequence[int]) -> list[str]:
    return [st.name(s) for s in statuses]


def test_a_notification_event_wakes_once_per_set_under_the_clearing_rule() -> None:
    t = _target()
    w = _worker(t, StartContext(events=(N,), timeout=-100 * MS))
    t.do(act.Signal(w, 0))
    t.run(150 * MS)
    assert _names(_statuses(t, w)[:2]) == ["STATUS_SUCCESS", "STATUS_TIMEOUT"]
    _clean(t)


def test_sync_reset_on_satisfy_and_one_set_one_wake() -> None:
    t = _target()
    w = _worker(t, StartContext(events=(S,), timeout=-100 * MS))
    t.do(act.Signal(w, 0))
    t.run(150 * MS)
    assert _statuses(t, w)[:2] == [st.WAIT_0, st.TIMEOUT]
    _clean(t)


def test_sets_while_the_routine_runs_coalesce_and_are_kept() -> None:
    t = _target()
    w = _worker(t, StartContext(events=(S,), timeout=-100 * MS), gated=True)
    _held(t, w)
    t.do(act.Signal(w, 0))
    t.do(act.Signal(w, 0))
    _release(t, 150)
    # kept: the next wait is satisfied at once; coalesced: only once
    assert _statuses(t, w)[:3] == [st.WAIT_0, st.WAIT_0, st.TIMEOUT]
    _clean(t)


def test_a_set_during_the_wait_wakes_it_with_its_index() -> None:
    t = _target()
    w = _worker(t, StartContext(events=(S, S), timeout=-100 * MS))
    t.do(act.Signal(w, 1))
    t.run(5 * MS)
    assert _statuses(t, w) == [st.wait(1)]
    _clean(t)


def test_wait_any_returns_the_lowest_index_and_keeps_the_others() -> None:
    t = _target()
    w = _worker(t, StartContext(events=(S, N)), gated=True)
    _held(t, w, 1)
    t.do(act.Signal(w, 1))
    t.do(act.Signal(w, 0))
    _release(t)
    assert _statuses(t, w) == [st.wait(1), st.wait(0), st.wait(1)]
    _clean(t)


def test_wait_all_consumes_all_and_a_partial_one_nothing() -> None:
    t = _target()
    w = _worker(t, StartContext(events=(S, N), wait_type=WaitType.ALL, timeout=-100 * MS))
    t.do(act.Signal(w, 0))
    t.do(act.Signal(w, 1))
    t.run(MS)
    t.do(act.Signal(w, 0))
    t.run(150 * MS)
    t.do(act.Signal(w, 1))
    t.run(MS)
    assert _statuses(t, w)[:3] == [st.SUCCESS, st.TIMEOUT, st.SUCCESS]
    _clean(t)


def test_an_object_beats_the_alert_and_the_alert_counts_once() -> None:
    t = _target()
    w = _worker(t, StartContext(alertable=True, timeout=-100 * MS), gated=True)
    _held(t, w)
    t.do(act.Signal(w, 0))
    t.do(act.Alert(w))
    t.do(act.Alert(w))
    _release(t, 150)
    assert _statuses(t, w)[:4] == [st.WAIT_0, st.WAIT_0, st.ALERTED, st.TIMEOUT]
    _clean(t)


def test_a_user_apc_stays_queued_for_alertable_user_mode_waits_only() -> None:
    t = _target()
    user = _worker(t, StartContext(alertable=True, wait_mode=WaitMode.USER))
    kernel = _worker(t, StartContext(alertable=True, timeout=-100 * MS))
    t.do(act.Alert(user, user_apc=True))
    t.do(act.Alert(kernel, user_apc=True))
    t.run(150 * MS)
    repeated = _statuses(t, user)
    assert len(repeated) > 3 and set(repeated) == {st.USER_APC}
    assert _statuses(t, kernel)[:1] == [st.TIMEOUT]
    _clean(t)


def test_an_alert_ends_only_alertable_waits() -> None:
    t = _target()
    alertable = _worker(t, StartContext(alertable=True))
    plain = _worker(t, StartContext())
    t.do(act.Alert(alertable))
    t.do(act.Alert(plain))
    t.run(5 * MS)
    assert _statuses(t, alertable) == [st.ALERTED] and _statuses(t, plain) == []
    t.do(act.Signal(plain, 0))
    t.run(MS)
    assert _statuses(t, plain) == [st.WAIT_0]
    _clean(t)


def test_a_relative_timeout_ignores_a_clock_change() -> None:
    t = _target()
    w = _worker(
        t,
        StartContext(timeout=-100 * MS),
        behaviour=act.Behaviour(returns=True, returns_on=((st.TIMEOUT, False),)),
    )
    t.run(20 * MS)
    t.kernel.step_clock(-50 * MS)  # the system clock goes back 50 ms mid-wait
    t.run(100 * MS)
    [enter] = [r for r in t.records() if isinstance(r, trace.Enter) and r.worker == w]
    [made] = [r for r in t.records() if isinstance(r, trace.Create)]
    assert enter.wait_status == st.TIMEOUT
    assert enter.t - made.t < 100 * MS - 40 * MS, "system time saw the step"
    assert enter.it is not None and made.it is not None
    assert enter.it - made.it >= 100 * MS - t.expectations.tick
    _clean(t)


def test_relative_timeouts_may_end_up_to_one_tick_early_and_that_is_noted() -> None:
    t = _target()
    w = _worker(t, StartContext(timeout=-3 * MS))
    t.run(100 * MS)
    records = t.records()
    waits = {r.seq: r for r in records if isinstance(r, trace.Wait) and r.worker == w}
    early = 0
    last_wait = None
    for r in records:
        if isinstance(r, trace.Wait) and r.worker == w:
            last_wait = r
        elif isinstance(r, trace.Enter) and r.worker == w and last_wait is not None:
            assert r.it is not None and last_wait.it is not None
            waited = r.it - last_wait.it
            assert waited >= 3 * MS - t.expectations.tick
            early += waited < 3 * MS
    assert waits and early, "the model's timers fire on ticks: some come early"
    checker = Checker(t.expectations)
    checker.feed_many(records)
    assert checker.finish() == []
    assert [n.invariant for n in checker.notes] == ["timeout-early"]
