"""The worker's wait: which status it is handed, WaitAny vs WaitAll, timeouts, alerts.

Events after a wake follow one rule, the same in hsprobe, the Linux stand-in and the
simulator's model: the kernel resets a synchronization event that satisfied the wait, and
the routine clears, on entry, the notification events that woke it. Timing checks are
contract bounds: never earlier than configured, never later than the target's slack.
"""

from __future__ import annotations

from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import EventKind, StartContext, WaitMode, WaitType, relative
from harness.scenarios.context import MS, Scenario

S = EventKind.SYNC
N = EventKind.NOTIFICATION


def _names(calls: list[trace.Enter]) -> list[str]:
    return [st.name(c.wait_status) for c in calls]


def _clock(r: trace.Record) -> int:
    """The clock relative timeouts run on: interrupt time when recorded, else system time."""
    return r.it if r.it is not None else r.t


def test_wait_status_per_event(scenario: Scenario) -> None:
    """Signalling event n wakes the worker with STATUS_WAIT_n."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, N, S)))
    order = [2, 0, 1, 1, 2, 0]
    for i, n in enumerate(order):
        scenario.signal(w, n)
        scenario.wait_for_returns(w, i + 1)
    got = [c.wait_status for c in scenario.calls(w)]
    assert got == [st.wait(n) for n in order], (
        f"signalled events {order} but the routine saw {_names(scenario.calls(w))}"
    )


def test_wait_any_lowest_index(scenario: Scenario) -> None:
    """WaitAny with several events signalled reports the lowest index first."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S, S)), behaviour=scenario.continuing(gated=True))
    scenario.gate(closed=True)
    scenario.signal(w, 1)
    scenario.wait_for_calls(w, 1)  # the worker is held in its routine by the gate
    scenario.signal(w, 2)
    scenario.signal(w, 0)
    scenario.gate(closed=False)
    calls = scenario.wait_for_calls(w, 3)
    assert [c.wait_status for c in calls] == [st.wait(1), st.wait(0), st.wait(2)], (
        f"with events 2 then 0 signalled during a call, the routine saw {_names(calls)}"
        " instead of WAIT_1, WAIT_0, WAIT_2"
    )


def test_wait_all(scenario: Scenario) -> None:
    """WaitAll wakes only when every event is signalled, with STATUS_SUCCESS."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S, N), wait_type=WaitType.ALL))
    scenario.signal(w, 0)
    scenario.signal(w, 2)
    scenario.settle()
    assert not scenario.calls(w), "WaitAll woke before every event was signalled"
    scenario.signal(w, 1)
    last = scenario.records(trace.Signal, worker=w)[-1]
    calls = scenario.wait_for_calls(w, 1)
    assert [c.wait_status for c in calls] == [st.SUCCESS], (
        f"WaitAll with all events signalled gave {_names(calls)}"
    )
    assert calls[0].seq > last.seq, "WaitAll woke before its last event was signalled"


def test_timeout_relative(scenario: Scenario) -> None:
    """A relative timeout fires, never earlier than configured nor later than the target's
    slack, and keeps firing."""
    scenario.require_feature()
    interval = 10 * MS
    w = scenario.worker(StartContext(timeout=relative(10)))
    calls = scenario.wait_for_calls(w, 3)
    assert _names(calls[:3]) == ["STATUS_TIMEOUT"] * 3, (
        f"a worker with a 10 ms timeout and no signal saw {_names(calls[:3])}"
    )
    returns = scenario.records(trace.Exit, worker=w)
    create = scenario.records(trace.Create, worker=w)[0]
    # The first wait began after the create call was made (after the record before the
    # create's) and, on a correct kernel, by the create's record plus the slack; each later
    # one began after the routine returned (its exit record) and within the slack of it.
    before = [r for r in scenario.target.records() if r.seq < create.seq][-1]
    earliest = [_clock(before)] + [_clock(r) for r in returns]
    latest = [_clock(create)] + [_clock(r) for r in returns]
    # the kernel computes the due time from its tick-updated clock: up to one tick early
    tick = scenario.target.expectations.tick
    for n, call in enumerate(calls[:3]):
        assert _clock(call) - earliest[n] >= interval - tick, (
            f"timeout {n + 1} fired {(_clock(call) - earliest[n]) / MS:g} ms after its wait "
            f"began at the latest: earlier than its 10 ms less one {tick / MS:g} ms tick"
        )
        late = _clock(call) - latest[n] - interval
        assert late <= scenario.slack, (
            f"timeout {n + 1} fired {late / MS:g} ms after its 10 ms: later than the "
            f"target's {scenario.slack / MS:g} ms slack"
        )


def test_timeout_absolute(scenario: Scenario) -> None:
    """An absolute timeout fires once its system time is reached: not before, and not later
    than the target's slack."""
    scenario.require_feature()
    # the guest's time as last recorded; the deadline must still be ahead at the create
    deadline = scenario.target.records()[-1].t + 100 * MS
    w = scenario.worker(StartContext(timeout=deadline), behaviour=scenario.ending(st.TIMEOUT))
    assert scenario.wait_for_calls(w, 1), "a worker whose absolute timeout passed never ran"
    # once past its deadline, a thread that did not end would poll in a loop: a short bound
    scenario.wait_for_exit(w, timeout_ms=4 * scenario.slack / MS)
    calls = scenario.calls(w)
    assert _names(calls[:2]) == ["STATUS_TIMEOUT"] and scenario.exited(w), (
        f"an absolute timeout gave {_names(calls[:3])} instead of one STATUS_TIMEOUT, then "
        "the thread's end"
    )
    assert calls[0].t >= deadline, (
        f"an absolute timeout fired {(deadline - calls[0].t) / MS:g} ms before its time"
    )
    created = scenario.records(trace.Create, worker=w)[0].t
    scenario.facts["deadline_ahead_at_create_ms"] = f"{(deadline - created) / MS:g}"
    assert calls[0].t <= max(deadline, created) + scenario.slack, (
        f"an absolute timeout fired {(calls[0].t - deadline) / MS:g} ms after its time, "
        f"more than the target's {scenario.slack / MS:g} ms slack"
    )


def test_timeout_zero_polls(scenario: Scenario) -> None:
    """A zero timeout polls: with nothing signalled the routine runs at once with TIMEOUT."""
    scenario.require_feature()
    w = scenario.worker(StartContext(timeout=0), behaviour=scenario.ending(st.TIMEOUT))
    # a thread that keeps polling would loop: give it only a few slacks to end
    scenario.wait_for_exit(w, timeout_ms=4 * scenario.slack / MS)
    calls = scenario.calls(w)
    assert _names(calls[:2]) == ["STATUS_TIMEOUT"], (
        f"a polling wait that asked to end on its first STATUS_TIMEOUT gave {_names(calls[:3])}"
    )
    created = scenario.records(trace.Create, worker=w)[0]
    assert calls[0].t - created.t <= scenario.slack, (
        f"a poll ran {(calls[0].t - created.t) / MS:g} ms after the create, not at once"
    )
    assert scenario.exited(w), "the polling worker did not end when its routine said so"


def test_alertable_wait(scenario: Scenario) -> None:
    """An alert ends an alertable wait with STATUS_ALERTED, once; a user APC ends only an
    alertable UserMode wait (STATUS_USER_APC); a non-alertable wait, or a KernelMode one for
    a user APC, is woken by its event only.

    A user APC queued to a system thread may stay queued (the thread never returns to user
    mode to run it), so every later alertable UserMode wait may return STATUS_USER_APC again:
    the UserMode worker ends on its first one, and the scenario asserts only that one.
    """
    scenario.require_feature()
    kernel_w = scenario.worker(StartContext(alertable=True))
    user_w = scenario.worker(
        StartContext(alertable=True, wait_mode=WaitMode.USER),
        behaviour=scenario.ending(st.USER_APC),
    )
    apc_w = scenario.worker(StartContext(alertable=True))
    plain_w = scenario.worker(StartContext(alertable=False))
    scenario.alert(kernel_w)
    scenario.alert(user_w, user_apc=True)
    scenario.alert(apc_w, user_apc=True)
    scenario.alert(plain_w)
    assert _names(scenario.wait_for_calls(kernel_w, 1)) == ["STATUS_ALERTED"], (
        f"an alerted alertable wait gave {_names(scenario.calls(kernel_w))}"
    )
    assert scenario.wait_for_exit(user_w), "a user APC did not end the alertable UserMode wait"
    assert _names(scenario.calls(user_w)) == ["STATUS_USER_APC"], (
        f"a user APC to an alertable user-mode wait gave {_names(scenario.calls(user_w))}"
    )
    for w, what in (
        (kernel_w, "an alerted worker after its STATUS_ALERTED"),
        (apc_w, "an alertable KernelMode worker sent a user APC"),
        (plain_w, "a non-alertable worker sent an alert"),
    ):
        before = len(scenario.calls(w))
        scenario.signal(w, 0)
        calls = scenario.wait_for_calls(w, before + 1)
        assert [c.wait_status for c in calls[before:]] == [st.wait(0)], (
            f"signalling {what} gave {_names(calls[before:])} instead of STATUS_WAIT_0 only"
        )
