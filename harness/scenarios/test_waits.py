"""The worker's wait: which status it is handed, WaitAny vs WaitAll, timeouts, alerts."""

from __future__ import annotations

from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitType, relative
from harness.scenarios.context import Scenario

S = EventKind.SYNC
N = EventKind.NOTIFICATION


def _names(calls: list[trace.Enter]) -> list[str]:
    return [st.name(c.wait_status) for c in calls]


def test_wait_status_per_event(scenario: Scenario) -> None:
    """Signalling event n wakes the worker with STATUS_WAIT_n."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, N, S)))
    order = [2, 0, 1, 1, 2, 0]
    for n in order:
        scenario.signal(w, n)
        scenario.run(2)
    got = [c.wait_status for c in scenario.calls(w)]
    assert got == [st.wait(n) for n in order], (
        f"signalled events {order} but the routine saw {_names(scenario.calls(w))}")


def test_wait_any_lowest_index(scenario: Scenario) -> None:
    """WaitAny with several events signalled reports the lowest index first."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S, S)), behaviour=scenario.continuing(gated=True))
    scenario.gate(closed=True)
    scenario.signal(w, 1)  # the worker wakes and is held in its routine by the gate
    scenario.run(2)
    scenario.signal(w, 2)
    scenario.signal(w, 0)
    scenario.gate(closed=False)
    scenario.run(5)
    got = [c.wait_status for c in scenario.calls(w)]
    assert got == [st.wait(1), st.wait(0), st.wait(2)], (
        f"with events 2 then 0 signalled during a call, the routine saw {_names(scenario.calls(w))}"
        " instead of WAIT_1, WAIT_0, WAIT_2")


def test_wait_all(scenario: Scenario) -> None:
    """WaitAll wakes only when every event is signalled, with STATUS_SUCCESS."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S, N), wait_type=WaitType.ALL))
    scenario.signal(w, 0)
    scenario.signal(w, 2)
    scenario.run(5)
    assert not scenario.calls(w), "WaitAll woke before every event was signalled"
    scenario.signal(w, 1)
    scenario.run(5)
    assert [c.wait_status for c in scenario.calls(w)] == [st.SUCCESS], (
        f"WaitAll with all events signalled gave {_names(scenario.calls(w))}")


def test_timeout_relative(scenario: Scenario) -> None:
    """A relative timeout fires, never earlier than configured, and keeps firing."""
    scenario.require_feature()
    w = scenario.worker(StartContext(timeout=relative(10)))
    scenario.run(55)
    timeouts = [c for c in scenario.calls(w) if c.wait_status == st.TIMEOUT]
    assert 3 <= len(timeouts) <= 5, (
        f"a 10 ms timeout fired {len(timeouts)} times in 55 ms (expected 3 to 5)")


def test_timeout_absolute(scenario: Scenario) -> None:
    """An absolute timeout fires once its system time is reached, not before."""
    scenario.require_feature()
    start = scenario.records(trace.Probe)[0].t
    deadline = start + 20 * 10_000
    w = scenario.worker(StartContext(timeout=deadline), behaviour=scenario.ending(st.TIMEOUT))
    scenario.run(10)
    assert not scenario.calls(w), "an absolute timeout 20 ms ahead fired within 10 ms"
    scenario.run(30)
    calls = scenario.calls(w)
    assert [c.wait_status for c in calls] == [st.TIMEOUT], (
        f"an absolute timeout gave {_names(calls)} instead of one STATUS_TIMEOUT")
    assert calls[0].t >= deadline


def test_timeout_zero_polls(scenario: Scenario) -> None:
    """A zero timeout polls: with nothing signalled the routine runs at once with TIMEOUT."""
    scenario.require_feature()
    w = scenario.worker(StartContext(timeout=0), behaviour=scenario.ending(st.TIMEOUT))
    scenario.run(1)
    assert [c.wait_status for c in scenario.calls(w)] == [st.TIMEOUT], (
        f"a polling wait gave {_names(scenario.calls(w))} within 1 ms")
    assert scenario.exited(w)


def test_alertable_wait(scenario: Scenario) -> None:
    """An alertable wait returns STATUS_ALERTED (user mode: STATUS_USER_APC); others don't."""
    scenario.require_feature()
    kernel_w = scenario.worker(StartContext(alertable=True))
    # a user APC to a system thread is never delivered, so it ends every later alertable
    # user-mode wait too: the routine ends the thread on the first one
    user_w = scenario.worker(StartContext(alertable=True, wait_mode=WaitMode.USER),
                             behaviour=scenario.ending(st.USER_APC))
    plain_w = scenario.worker(StartContext(alertable=False))
    scenario.run(1)
    scenario.alert(kernel_w)
    scenario.alert(user_w, user_apc=True)
    scenario.alert(plain_w)
    scenario.run(5)
    assert _names(scenario.calls(kernel_w)) == ["STATUS_ALERTED"], (
        f"an alerted alertable wait gave {_names(scenario.calls(kernel_w))}")
    assert _names(scenario.calls(user_w)) == ["STATUS_USER_APC"], (
        f"a user APC to an alertable user-mode wait gave {_names(scenario.calls(user_w))}")
    assert not scenario.calls(plain_w), "a non-alertable wait was woken by an alert"
    scenario.signal(plain_w, 0)
    scenario.run(2)
    assert [c.wait_status for c in scenario.calls(plain_w)] == [st.wait(0)], (
        f"signalling a non-alertable worker gave {_names(scenario.calls(plain_w))}")
