"""wait-status and timeout-early."""

from __future__ import annotations

import msgspec

from harness.contract import status as st
from harness.contract.check import Checker
from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitType
from tests.unit.contract.script import MS, T0, Script

TWO = (EventKind.SYNC, EventKind.SYNC)


def test_statuses_a_wait_can_return_pass() -> None:
    s = Script()
    s.create(ctx=StartContext(events=TWO, alertable=True, wait_mode=WaitMode.USER, timeout=-5 * MS))
    s.cycle(event=1)
    s.wait()
    s.alert()
    s.enter(status=st.ALERTED)
    s.exit()
    s.wait()
    s.enter(status=st.TIMEOUT, dt=6 * MS)
    s.exit()
    s.wait()
    s.alert(user_apc=True)
    s.enter(status=st.USER_APC)
    s.exit()
    s.end()
    assert s.check() == []


def test_index_out_of_range_is_reported() -> None:
    s = Script()
    s.create(ctx=StartContext(events=TWO))
    s.wait()
    bad = s.enter(status=st.wait(2))
    s.exit()
    s.end()
    [records] = s.found("wait-status")
    assert records == (bad,)
    [v] = s.check()
    assert "STATUS_WAIT_2" in v.message
    assert v.message.endswith("can only return STATUS_WAIT_0, STATUS_WAIT_1")


def test_alerted_without_alertable_wait_is_reported_with_reason() -> None:
    s = Script()
    s.create()
    s.wait()
    bad = s.enter(status=st.ALERTED)
    s.exit()
    s.end()
    assert s.found("wait-status") == [(bad,)]
    [v] = s.check()
    assert "STATUS_ALERTED" in v.message and "not alertable" in v.message


def test_user_apc_needs_user_mode() -> None:
    s = Script()
    s.create(ctx=StartContext(alertable=True))
    s.wait()
    bad = s.enter(status=st.USER_APC)
    s.exit()
    s.end()
    assert s.found("wait-status") == [(bad,)]


def test_wait_all_gives_success_only() -> None:
    s = Script()
    s.create(ctx=StartContext(events=TWO, wait_type=WaitType.ALL))
    s.wait()
    s.signal(event=0)
    s.signal(event=1)
    s.enter(status=st.SUCCESS)
    s.exit()
    s.wait()
    s.signal(event=1)
    bad = s.enter(status=st.wait(1))
    s.exit()
    s.end()
    assert s.found("wait-status") == [(bad,)]


def test_relative_timeout_on_time_passes_and_early_fails() -> None:
    s = Script(tick=0)
    s.create(ctx=StartContext(timeout=-10 * MS))
    s.cycle()
    s.wait()
    s.enter(status=st.TIMEOUT, dt=10 * MS)
    s.exit()
    waited = s.wait()
    early = s.enter(status=st.TIMEOUT, dt=9 * MS)
    s.exit()
    s.end()
    assert s.found("timeout-early") == [(waited, early)]


def test_relative_timeout_measured_from_last_exit_without_wait_records() -> None:
    s = Script(tick=0)
    s.create(ctx=StartContext(timeout=-10 * MS))
    s.enter(status=st.TIMEOUT, dt=10 * MS)
    returned = s.exit()
    early = s.enter(status=st.TIMEOUT, dt=2 * MS)
    s.exit()
    s.end()
    assert s.found("timeout-early") == [(returned, early)]


def test_absolute_timeout_before_its_time_is_reported() -> None:
    deadline = T0 + 50 * MS
    s = Script()
    s.create(ctx=StartContext(timeout=deadline))
    s.wait()
    early = s.enter(status=st.TIMEOUT, dt=10 * MS)
    s.exit()
    s.wait()
    s.enter(status=st.TIMEOUT, dt=50 * MS)  # past the deadline now
    s.exit()
    s.end()
    assert s.found("timeout-early") == [(early,)]


def test_poll_has_no_lower_bound() -> None:
    s = Script()
    s.create(ctx=StartContext(timeout=0))
    s.wait()
    s.enter(status=st.TIMEOUT, dt=1)
    s.exit()
    s.end()
    assert s.check() == []


def test_a_relative_timeout_may_come_one_tick_early_and_that_is_noted() -> None:
    s = Script()  # the default tick: 15.625 ms
    s.create(ctx=StartContext(timeout=-100 * MS))
    s.wait()
    within = s.enter(status=st.TIMEOUT, dt=90 * MS)
    s.exit()
    waited = s.wait()
    early = s.enter(status=st.TIMEOUT, dt=80 * MS)
    s.exit()
    s.end()
    assert s.found("timeout-early") == [(waited, early)]
    checker = Checker(s.expectations)
    checker.feed_many(s.records)
    checker.finish()
    [note] = checker.notes
    assert note.invariant == "timeout-early"
    assert note.message == (
        f"1 STATUS_TIMEOUT came up to 10 ms before its relative timeout "
        f"(first at seq {within}), within the one-tick slack of 15.625 ms"
    )


def test_relative_timeouts_are_judged_on_interrupt_time() -> None:
    """The system clock stepped back 50 ms during the wait: interrupt time shows the wait was
    long enough, system time alone would make it look early."""
    s = Script(tick=0)
    s.create(ctx=StartContext(timeout=-100 * MS))
    start = s.records[-1]
    s.records[-1] = msgspec.structs.replace(start, it=1_000 * MS)
    s.enter(status=st.TIMEOUT, dt=50 * MS)
    s.records[-1] = msgspec.structs.replace(s.records[-1], it=1_100 * MS)
    s.exit()
    s.end()
    assert s.check() == []
    # without interrupt time the same records are judged on system time, and are early
    s.records[1] = msgspec.structs.replace(s.records[1], it=None)
    assert s.found("timeout-early") == [(1, 2)]
