"""swap-version, swap-all-or-none and swap-stall."""

from __future__ import annotations

from harness.contract import status as st
from harness.contract.trace import Swap, SwapPhase
from tests.unit.contract.script import Script


def test_complete_swap_switches_version_once() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    s.swap(1)
    s.cycle(version=2)
    s.end(version=2)
    assert s.check() == []


def test_old_version_after_swap_is_reported() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    switch = s.swap(1)["switch"]
    old = s.cycle(version=1)
    s.end(version=2)
    assert s.found("swap-version") == [(switch, old)]


def test_version_change_without_swap_is_reported() -> None:
    s = Script()
    s.create()
    first = s.cycle(version=1)
    changed = s.cycle(version=2)
    s.end(version=1)
    assert s.found("swap-version") == [(first, changed)]


def test_rolled_back_swap_keeps_old_version() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    seqs = s.swap(1, "request pre stall switch rollback done", status=st.UNSUCCESSFUL)
    s.cycle(version=1)
    new = s.cycle(version=2)
    s.end(version=1)
    assert s.found("swap-version") == [(seqs["rollback"], new)]


def test_failed_swap_without_rollback_record_keeps_old_version() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    seqs = s.swap(1, "request pre done", status=st.UNSUCCESSFUL)
    new = s.cycle(version=2)
    s.end(version=1)
    assert s.found("swap-version") == [(seqs["done"], new)]


def test_real_driver_swap_without_switch_record() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    s.swap(1, "request pre stall post")
    s.cycle(version=2)  # runs before the register call returns: the observed switch
    s.swap(1, "done")
    s.cycle(version=2)
    s.end(version=2)
    assert s.check() == []


def test_partial_switch_record_is_reported() -> None:
    s = Script()
    s.create()
    seqs = s.swap(1, endpoints=(1, 2), switched=(1,))
    s.end(version=2)
    assert s.found("swap-all-or-none") == [(seqs["request"], seqs["switch"])]


def test_endpoints_left_on_old_version_after_success_are_reported() -> None:
    s = Script()
    s.create(1)
    s.create(2)
    s.cycle(1, version=1, endpoint=1)
    s.cycle(2, version=1, endpoint=2)
    done = s.swap(1, "request pre stall post done", endpoints=(1, 2))["done"]
    s.cycle(1, version=2, endpoint=1)
    stale = s.cycle(2, version=1, endpoint=2)
    violations = s.check()
    mine = [v.records for v in violations if v.invariant == "swap-all-or-none"]
    assert mine == [(done, stale)]
    # the stale endpoint also breaks swap-version, which judges each endpoint on its own
    assert {v.invariant for v in violations} == {"swap-all-or-none", "swap-version"}


def test_enter_while_stalled_is_reported() -> None:
    s = Script()
    s.create()
    s.cycle()
    seqs = s.swap(1, "request pre stall")
    s.wait()
    s.signal()
    entered = s.enter(version=1)
    s.exit()
    s.swap(1, "switch post done")
    s.end(version=2)
    assert s.found("swap-stall") == [(seqs["stall"], entered)]


def test_invocation_in_flight_at_stall_is_reported() -> None:
    s = Script()
    s.create()
    s.wait()
    s.signal()
    entered = s.enter()
    seqs = s.swap(1, "request pre stall")
    s.exit()
    s.swap(1, "switch post done")
    s.end(version=2)
    assert s.found("swap-stall") == [(entered, seqs["stall"])]


def test_invocation_in_flight_at_switch_is_reported() -> None:
    s = Script()
    s.create()
    s.swap(1, "request pre stall")
    s.wait()
    s.signal()
    entered = s.enter()
    switch = s.swap(1, "switch")["switch"]
    s.exit(version=2)
    s.swap(1, "post done")
    s.end(version=2)
    assert ("swap-stall", (entered, switch)) in [(v.invariant, v.records) for v in s.check()]


def test_swap_waiting_for_in_flight_call_passes() -> None:
    s = Script()
    s.create()
    s.wait()
    s.signal()
    s.enter()
    s.swap(1, "request pre")
    s.exit()  # the drain: stall comes only after the call returned
    s.swap(1, "stall switch post done")
    s.end(version=2)
    assert s.check() == []


def test_old_version_after_post_without_switch_record_is_reported_once_the_swap_succeeds() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    post = s.swap(1, "request pre stall post")["post"]
    late = s.cycle(version=1)  # the pointers changed before PostProcess: too late for 1
    s.swap(1, "done")
    s.end(version=2)
    assert s.found("swap-version") == [(post, late)]


def test_old_version_after_post_is_fine_when_the_swap_rolls_back() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    s.swap(1, "request pre stall post")
    s.cycle(version=1)  # PostProcess failed: the kernel already rolled back
    s.swap(1, "rollback done", status=st.UNSUCCESSFUL)
    s.end(version=1)
    assert s.check() == []


def _request(s: Script, sid: int, counts: tuple[int, ...], current: tuple[int, ...]) -> int:
    return s.add(
        Swap,
        swap=sid,
        phase=SwapPhase.REQUEST,
        from_version=1,
        to_version=2,
        endpoints=(1, 2),
        parameter_counts=counts,
        current_counts=current,
    )


def test_a_parameter_count_change_must_fail_before_any_phase() -> None:
    s = Script()
    _request(s, 1, (3, 2), (2, 2))
    s.swap(1, "done", status=st.INVALID_PARAMETER_3)
    assert s.check() == []
    request = _request(s, 2, (3, 2), (2, 2))
    pre = s.swap(2, "pre stall post done")["pre"]
    assert s.found("swap-parameters") == [(request, pre)]


def test_a_parameter_count_change_that_succeeds_is_reported() -> None:
    s = Script()
    request = _request(s, 1, (2, 3), (2, 2))
    done = s.swap(1, "done", status=st.SUCCESS)["done"]
    assert ("swap-parameters", (request, done)) in [(v.invariant, v.records) for v in s.check()]


def test_invalid_parameter_3_without_a_change_is_reported() -> None:
    s = Script()
    request = _request(s, 1, (2, 2), (2, 2))
    done = s.swap(1, "done", status=st.INVALID_PARAMETER_3)["done"]
    assert s.found("swap-parameters") == [(request, done)]


def test_a_failing_callback_must_roll_the_swap_back() -> None:
    s = Script()
    s.create()
    s.cycle(version=1)
    s.add(Swap, swap=1, phase=SwapPhase.REQUEST, from_version=1, to_version=2, endpoints=(1,))
    pre = s.add(
        Swap, swap=1, phase=SwapPhase.PRE, from_version=1, to_version=2, status=st.UNSUCCESSFUL
    )
    stall = s.swap(1, "stall switch post done")["stall"]
    s.end(version=2)
    found = [v.records for v in s.check() if v.invariant == "swap-phases"]
    assert found == [(pre, stall)]


def test_a_failing_callback_then_rollback_is_the_contract() -> None:
    s = Script()
    s.create()
    s.add(Swap, swap=1, phase=SwapPhase.REQUEST, from_version=1, to_version=2, endpoints=(1,))
    s.add(Swap, swap=1, phase=SwapPhase.PRE, from_version=1, to_version=2, status=st.UNSUCCESSFUL)
    s.swap(1, "rollback done", status=st.UNSUCCESSFUL)
    s.end(version=1)
    assert s.check() == []
