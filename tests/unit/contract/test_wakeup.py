"""lost-wakeup."""

from __future__ import annotations

from harness.contract import status as st
from harness.contract.startctx import EventKind, StartContext, WaitType
from tests.unit.contract.script import MS, Script

SYNC2 = StartContext(events=(EventKind.SYNC, EventKind.SYNC), timeout=-10 * MS)


def test_coalesced_signals_need_one_wake() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    s.signal(event=1)
    s.signal(event=1)
    s.enter(status=st.wait(1))
    s.exit()
    s.end()
    assert s.check() == []


def test_signal_never_consumed_is_reported_at_the_end() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.cycle()
    s.wait()
    lost = s.signal(event=1)
    assert s.found("lost-wakeup") == [(lost,)]


def test_thread_exit_discharges_pending_signal() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.exit_enter(1, 1)
    s.signal(event=1)
    s.thread_exit()
    assert s.check() == []


def test_timeout_while_signal_pending_is_reported() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    sig = s.signal(event=0, dt=MS)
    timeout = s.enter(status=st.TIMEOUT, dt=10 * MS)
    s.exit()
    s.end()
    # the worker woke with WAIT_0 at its end, consuming the signal: only the timeout is wrong
    assert s.found("lost-wakeup") == [(sig, timeout)]


def test_signal_after_timeout_was_due_is_a_race_not_a_loss() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    s.signal(event=1, dt=11 * MS)  # later than the 10 ms timeout could fire
    s.enter(status=st.TIMEOUT, dt=1)
    s.exit()
    s.wait()
    s.enter(status=st.wait(1))
    s.exit()
    s.end()
    assert s.check() == []


def test_higher_index_winning_over_earlier_lower_signal_is_reported() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    low = s.signal(event=0)
    high = s.signal(event=1)
    wrong = s.enter(status=st.wait(1))
    s.exit()
    s.end()  # consumes event 0
    assert s.found("lost-wakeup") == [(low, high, wrong)]


def test_higher_index_signalled_first_may_win() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    s.signal(event=1)
    s.signal(event=0)
    s.enter(status=st.wait(1))
    s.exit()
    s.wait()
    s.enter(status=st.wait(0))
    s.exit(returned=False)
    s.thread_exit()
    assert s.check() == []


def test_notification_events_and_wait_all_are_not_tracked() -> None:
    s = Script()
    s.create(1, ctx=StartContext(events=(EventKind.NOTIFICATION,)))
    s.create(2, ctx=StartContext(events=(EventKind.SYNC,), wait_type=WaitType.ALL))
    s.signal(1)
    s.signal(2)
    s.thread_exit(1)
    s.thread_exit(2)
    assert s.check() == []
