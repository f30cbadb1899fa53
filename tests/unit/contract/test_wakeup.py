"""lost-wakeup and spurious-wake: what the records prove about each wake."""

from __future__ import annotations

from harness.contract import status as st
from harness.contract.clock import SECOND
from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitType
from tests.unit.contract.script import MS, Script

S, N = EventKind.SYNC, EventKind.NOTIFICATION
SYNC2 = StartContext(events=(S, S), timeout=-100 * MS)
NOTE2 = StartContext(events=(N, S), timeout=-100 * MS)


# -- coalescing and double wakes -----------------------------------------------------------
def test_two_signals_during_a_wait_need_only_one_wake() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    s.signal(event=1)
    s.signal(event=1)
    s.enter(status=st.wait(1))
    s.exit()
    s.end()
    assert s.check() == []


def test_a_second_signal_during_a_wait_may_give_a_second_wake() -> None:
    """It may have landed after the first wake: the set is kept for the next wait."""
    s = Script()
    s.create(ctx=SYNC2)
    s.signal(event=1)  # before the worker's first wait: certainly set
    s.wait()
    s.signal(event=1)  # during the wait: before or after the wake
    s.enter(status=st.wait(1))
    s.exit()
    s.wait()
    s.enter(status=st.wait(1))
    s.exit()
    s.end()
    assert s.check() == []


def test_two_signals_while_the_routine_runs_coalesce_into_one_wake() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    first = s.signal(event=0)
    s.enter(status=st.WAIT_0)
    s.signal(event=1)  # the worker is in its routine: nothing can consume these
    s.signal(event=1)
    s.exit()
    s.wait()
    s.enter(status=st.wait(1))
    s.exit()
    waited = s.wait()
    double = s.enter(status=st.wait(1))
    s.exit()
    s.end()
    assert first
    assert s.found("spurious-wake") == [(waited, double)]


def test_a_notification_event_gives_one_wake_per_set_under_the_clearing_rule() -> None:
    s = Script()
    s.create(ctx=NOTE2)
    s.wait()
    s.signal(event=0)
    s.enter(status=st.WAIT_0)  # the routine cleared event 0 before this record
    s.exit()
    waited = s.wait()
    again = s.enter(status=st.WAIT_0)
    s.exit()
    s.end(event=1)
    assert s.found("spurious-wake") == [(waited, again)]


def test_without_the_clearing_rule_a_notification_event_stays_set() -> None:
    s = Script(clears_notification=False)
    s.create(ctx=NOTE2)
    s.wait()
    sig = s.signal(event=0)
    for _ in range(3):
        s.enter(status=st.WAIT_0)
        s.exit()
        s.wait()
    timeout = s.enter(status=st.TIMEOUT, dt=200 * MS)
    s.exit()
    s.end()
    assert s.found("lost-wakeup") == [(sig, timeout)]


def test_alerts_coalesce_and_pay_for_one_wake_each() -> None:
    s = Script()
    s.create(ctx=StartContext(alertable=True))
    s.wait()
    s.alert()
    s.enter(status=st.ALERTED)
    s.alert()
    s.alert()
    s.exit()
    s.wait()
    s.enter(status=st.ALERTED)
    s.exit()
    waited = s.wait()
    double = s.enter(status=st.ALERTED)
    s.exit()
    s.end()
    assert s.found("spurious-wake") == [(waited, double)]


# -- the order the wait tests things in ----------------------------------------------------
def test_timeout_while_an_event_was_set_before_the_wait_is_lost() -> None:
    s = Script()
    s.create(ctx=NOTE2)
    s.wait()
    s.signal(event=1)
    s.enter(status=st.wait(1))
    sig = s.signal(event=0)  # while the routine runs
    s.exit()
    s.wait()
    timeout = s.enter(status=st.TIMEOUT, dt=100 * MS)
    s.exit()
    s.end()
    assert s.found("lost-wakeup") == [(sig, timeout)]


def test_a_poll_sees_an_event_already_signalled() -> None:
    s = Script()
    s.create(ctx=StartContext(timeout=0))
    sig = s.signal()
    s.wait()
    poll = s.enter(status=st.TIMEOUT)
    s.exit()
    s.end()
    assert s.found("lost-wakeup") == [(sig, poll)]


def test_a_set_during_the_wait_before_the_timeout_was_due_wins() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    sig = s.signal(event=0, dt=10 * MS)  # 90 ms before the timeout, more than a tick
    timeout = s.enter(status=st.TIMEOUT, dt=90 * MS)
    s.exit()
    s.end()
    assert s.found("lost-wakeup") == [(sig, timeout)]


def test_a_set_within_a_tick_of_the_timeout_is_a_race() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    s.signal(event=0, dt=90 * MS)  # the timer may fire up to one tick early
    s.enter(status=st.TIMEOUT, dt=10 * MS)
    s.exit()
    s.wait()
    s.enter(status=st.WAIT_0)  # the set was kept
    s.exit()
    s.end()
    assert s.check() == []


def test_set_beats_a_pending_alert() -> None:
    s = Script()
    s.create(ctx=StartContext(alertable=True))
    s.wait()
    s.alert()
    s.enter(status=st.ALERTED)
    sig = s.signal()
    s.alert()
    s.exit()
    s.wait()
    alerted = s.enter(status=st.ALERTED)
    s.exit()
    s.end()
    assert s.found("lost-wakeup") == [(sig, alerted)]


def test_set_first_then_the_pending_alert() -> None:
    s = Script()
    s.create(ctx=StartContext(alertable=True))
    s.wait()
    s.signal()
    s.enter(status=st.WAIT_0)
    s.signal()
    s.alert()
    s.exit()
    s.wait()
    s.enter(status=st.WAIT_0)
    s.exit()
    s.wait()
    s.enter(status=st.ALERTED)
    s.exit()
    s.end()
    assert s.check() == []


def test_a_pending_alert_ends_the_wait_before_its_timeout() -> None:
    s = Script()
    s.create(ctx=StartContext(alertable=True, timeout=-100 * MS))
    s.wait()
    s.signal()
    s.enter(status=st.WAIT_0)
    alert = s.alert()
    s.exit()
    s.wait()
    timeout = s.enter(status=st.TIMEOUT, dt=100 * MS)
    s.exit()
    s.end()
    assert s.found("lost-wakeup") == [(alert, timeout)]


def test_a_user_apc_stays_queued_for_every_later_wait() -> None:
    ctx = StartContext(alertable=True, wait_mode=WaitMode.USER, timeout=-100 * MS)
    s = Script()
    s.create(ctx=ctx)
    s.wait()
    apc = s.alert(user_apc=True)
    for _ in range(3):
        s.enter(status=st.USER_APC)
        s.exit()
        s.wait()
    timeout = s.enter(status=st.TIMEOUT, dt=100 * MS)
    s.exit()
    s.end()
    assert s.found("lost-wakeup") == [(apc, timeout)]


def test_a_user_apc_to_a_kernel_mode_wait_is_never_delivered() -> None:
    s = Script()
    s.create(ctx=StartContext(alertable=True, timeout=-100 * MS))
    s.wait()
    s.alert(user_apc=True)
    s.enter(status=st.TIMEOUT, dt=100 * MS)
    s.exit()
    s.end()
    assert s.check() == []


# -- WaitAny's lowest index ----------------------------------------------------------------
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


def test_a_lower_index_set_before_the_wait_wins() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.wait()
    s.signal(event=1)
    s.enter(status=st.wait(1))
    low = s.signal(event=0)
    high = s.signal(event=1)
    s.exit()
    s.wait()
    wrong = s.enter(status=st.wait(1))
    s.exit()
    s.end()
    assert high
    assert s.found("lost-wakeup") == [(low, wrong)]


def test_wait_all_needs_every_event_and_consumes_them_all() -> None:
    ctx = StartContext(events=(S, N), wait_type=WaitType.ALL, timeout=-100 * MS)
    s = Script()
    s.create(ctx=ctx)
    s.wait()
    s.signal(event=0)
    s.signal(event=1)
    s.enter(status=st.SUCCESS)
    s.exit()
    s.wait()
    s.signal(event=0)
    s.enter(status=st.TIMEOUT, dt=100 * MS)  # event 1 was consumed: a partial set times out
    s.exit()
    s.wait()
    s.signal(event=1)
    s.enter(status=st.SUCCESS)  # event 0 was kept
    s.exit()
    waited = s.wait()
    double = s.enter(status=st.SUCCESS)
    s.exit(returned=False)
    s.thread_exit()
    assert s.found("spurious-wake") == [(waited, double)]


# -- wakes that never came -----------------------------------------------------------------
def test_a_signal_never_consumed_is_reported_once_the_latency_has_passed() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.cycle()
    s.wait()
    lost = s.signal(event=1)
    s.mark(dt=SECOND // 2)
    assert s.check() == []  # half a second: still within the default latency
    end = s.mark(dt=SECOND)
    assert s.found("lost-wakeup") == [(lost, end)]


def test_a_timeout_that_never_fires_is_reported() -> None:
    s = Script(latency=10 * MS)
    s.create(ctx=SYNC2)
    s.cycle()
    waited = s.wait()
    end = s.mark(dt=200 * MS)
    [v] = s.check()
    assert (v.invariant, v.records) == ("lost-wakeup", (waited, end))
    assert "its 100 ms timeout" in v.message


def test_a_stalled_swap_holds_wakes_back() -> None:
    s = Script(latency=10 * MS)
    s.create(ctx=SYNC2)
    s.cycle()
    s.wait()
    s.signal(event=1)
    s.swap(1, "request pre stall")
    s.mark(dt=SECOND)
    assert s.check(disabled=("swap-phases",)) == []


def test_thread_exit_discharges_what_is_pending() -> None:
    s = Script()
    s.create(ctx=SYNC2)
    s.exit_enter(1, 1)
    s.signal(event=1)
    s.thread_exit()
    s.mark(dt=10 * SECOND)
    assert s.check() == []
