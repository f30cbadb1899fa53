"""The Target protocol on the simulator: waiting on conditions, records since a seq,
expectations fixed at open, typed spec options."""

from __future__ import annotations

import pytest

from harness import actions as act
from harness.contract import status as st
from harness.contract import trace
from harness.contract.convention import Convention
from harness.contract.startctx import StartContext, relative
from harness.errors import ConfigError
from harness.sim.scheduler import MS, SECOND
from harness.targets import Target, open_target
from harness.targets.sim import SimTarget


def _sim(spec: str = "sim", **kw: object) -> SimTarget:
    t = open_target(spec, **kw)  # type: ignore[arg-type]
    assert isinstance(t, SimTarget) and isinstance(t, Target)
    return t


def _enters(records: object) -> int:
    return sum(isinstance(r, trace.Enter) for r in records)  # type: ignore[attr-defined]


def test_wait_for_advances_virtual_time_until_the_condition_holds() -> None:
    t = _sim()
    out = t.do(act.CreateWorker(context=StartContext(timeout=relative(10))))
    assert out.worker == 1
    start = t.kernel.sched.now
    assert t.wait_for(lambda rs: _enters(rs) >= 3, timeout=SECOND)
    elapsed = t.kernel.sched.now - start
    # three 10 ms timeouts, each a little late by the model's latencies, and no more
    assert 30 * MS <= elapsed < 31 * MS
    assert _enters(t.records()) == 3


def test_wait_for_is_true_at_once_when_the_condition_already_holds() -> None:
    t = _sim()
    t.probe()
    before = t.kernel.sched.now
    assert t.wait_for(lambda rs: len(rs) >= 1, timeout=SECOND)
    assert t.kernel.sched.now == before


def test_wait_for_gives_false_after_exactly_the_timeout() -> None:
    t = _sim()
    t.do(act.CreateWorker(context=StartContext()))  # waits forever: nothing will happen
    before = t.kernel.sched.now
    assert not t.wait_for(lambda rs: _enters(rs) > 0, timeout=250 * MS)
    assert t.kernel.sched.now == before + 250 * MS


def test_records_since_gives_only_newer_records() -> None:
    t = _sim()
    t.probe()
    w = t.do(act.CreateWorker(context=StartContext())).worker
    assert w is not None
    t.do(act.Signal(w, 0))
    t.run(MS)
    every = t.records()
    assert [r.seq for r in every] == list(range(1, len(every) + 1))
    assert list(t.records(since=2)) == [r for r in every if r.seq > 2]
    assert list(t.records(since=every[-1].seq)) == []
    assert list(t.records(since=0)) == list(every)


def test_expectations_are_fixed_when_the_target_opens() -> None:
    assert _sim("sim:convention=inverted").expectations.convention is Convention.INVERTED
    assert _sim("sim:convention=inverted,expect=documented").expectations.convention is (
        Convention.DOCUMENTED
    )
    given = trace.Expectations(convention=Convention.DOCUMENTED, max_events=3)
    assert _sim("sim:convention=inverted", expectations=given).expectations == given


def test_timing_slack_is_a_target_option() -> None:
    assert _sim().timing_slack == MS
    assert _sim("sim:timing_slack_ms=0.5").timing_slack == MS // 2


def test_an_unload_that_gives_up_on_a_worker_does_not_report_success() -> None:
    t = _sim("sim:mutant=return-ignored")
    t.do(act.CreateWorker(context=StartContext()))
    # hsprobe, like its model, waits without end for a worker that ignores both values
    assert t.do(act.Unload()).status == st.PENDING
    t.run(10 * 1000 * MS)  # 20 rounds of 500 ms, then it says it will wait for ever
    assert any(isinstance(r, trace.Mark) and "unload waits for it" in r.label for r in t.records())
    ok = _sim()
    ok.do(act.CreateWorker(context=StartContext()))
    assert ok.do(act.Unload()).status == st.SUCCESS


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("sim:drain_timeout_ms=-5", "drain_timeout_ms='-5': Expected `int` >= 1"),
        ("sim:drain_timeout_ms=ten", "drain_timeout_ms='ten'"),
        ("sim:timing_slack_ms=0", "timing_slack_ms='0'"),
        ("sim:timing_slack_ms=inf", "timing_slack_ms='inf'"),
        ("sim:feature=maybe", "use one of blocked, disabled, enabled"),
        ("sim:expect=sideways", "use one of documented, inverted"),
        ("sim:drain=5", "known options: feature, convention, expect, mutant, drain_timeout_ms"),
    ],
)
def test_bad_sim_options_are_one_config_error(spec: str, words: str) -> None:
    with pytest.raises(ConfigError) as e:
        open_target(spec)
    assert words in str(e.value)


def test_on_the_real_clock_time_passes_between_actions_and_waiting_polls() -> None:
    import time

    t = _sim("sim:clock=real")
    assert t.timing_slack == 100 * MS  # the real clock's default slack
    w = t.do(act.CreateWorker(context=StartContext(timeout=relative(20)))).worker
    assert w is not None
    start = time.monotonic()
    assert t.wait_for(lambda rs: _enters(rs) >= 2, timeout=SECOND)
    elapsed = time.monotonic() - start
    assert 0.035 <= elapsed < 0.9, "two 20 ms timeouts take about 40 ms of wall time"
    before = _enters(t.records())
    time.sleep(0.05)  # nobody waits, yet 50 ms pass: two more timeouts are due
    t.do(act.Signal(w, 0))  # an action first catches the model up with the wall clock
    assert _enters(t.records()) >= before + 2
