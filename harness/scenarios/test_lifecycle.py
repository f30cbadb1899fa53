"""The routine's return value, terminating the worker, and unloading with a live worker."""

from __future__ import annotations

from harness.actions import Behaviour
from harness.contract import status as st
from harness.contract import trace
from harness.contract.convention import Convention
from harness.contract.startctx import EventKind, StartContext
from harness.scenarios.context import Scenario

S = EventKind.SYNC


def _ended_after_one_call(scenario: Scenario, worker: int) -> bool:
    """Signal `worker` until it shows what its first return did: its thread ended, or it
    took a second call."""
    scenario.signal(worker)
    scenario.wait_for_returns(worker, 1)
    scenario.signal(worker)
    # the first call, then either the thread's end or a second call
    scenario.wait_for(
        lambda r: isinstance(r, trace.ThreadExit | trace.Enter) and r.worker == worker, 2
    )
    ended = scenario.exited(worker)
    assert ended or len(scenario.calls(worker)) >= 2, (
        f"worker {worker} neither ended nor ran again after its routine returned"
    )
    return ended


def test_return_convention_measured(scenario: Scenario) -> None:
    """Measures which BOOLEAN ends the thread, and compares it with the expected convention."""
    scenario.require_feature()
    true_w = scenario.worker(behaviour=Behaviour(returns=True))
    false_w = scenario.worker(behaviour=Behaviour(returns=False))
    true_ends = _ended_after_one_call(scenario, true_w)
    false_ends = _ended_after_one_call(scenario, false_w)
    measured = Convention.measured(true_ends=true_ends, false_ends=false_ends)
    scenario.facts["convention"] = measured.value if measured else "neither"
    scenario.facts["expected_convention"] = scenario.convention.value
    # The measurement is the point; judging thread ends by a convention would be circular.
    scenario.disabled_invariants += ("thread-end",)
    assert measured is not None, (
        "the kernel implements neither convention: a routine returning TRUE "
        f"{'ended' if true_ends else 'did not end'} its thread and one returning "
        f"FALSE {'ended' if false_ends else 'did not end'} its thread"
    )
    assert measured is scenario.convention, (
        f"the kernel implements the {measured.value} convention "
        f"({'TRUE' if measured.value_to_end() else 'FALSE'} ends the thread) but this target "
        f"is expected to implement the {scenario.convention.value} one"
    )


def test_terminate_on_request(scenario: Scenario) -> None:
    """Returning the end value on the terminate event ends the thread; nothing runs after."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)), behaviour=scenario.ending(st.wait(1)))
    for i in range(3):
        scenario.signal(w, 0)
        scenario.wait_for_calls(w, i + 1)
    scenario.signal(w, 1)  # its call proves the thread survived the first three
    assert scenario.wait_for_exit(w), "the worker did not end after its routine asked it to"
    statuses = [c.wait_status for c in scenario.calls(w)]
    assert statuses == [st.wait(0)] * 3 + [st.wait(1)], (
        f"the worker saw {[st.name(s) for s in statuses]} before it ended"
    )
    scenario.signal(w, 0)
    scenario.settle()
    assert len(scenario.calls(w)) == 4, "the routine ran again after its thread ended"


def test_unload_with_live_worker(scenario: Scenario) -> None:
    """Unloading the driver with live workers (image 2 swapped in) swaps home, ends the
    workers, then unloads; nothing of them runs after."""
    scenario.require_feature()
    workers = [scenario.worker(StartContext(events=(S, S)), endpoint=e) for e in (1, 2)]
    for w in workers:
        scenario.signal(w, 0)
        scenario.wait_for_calls(w, 1)
    assert scenario.swap(2) == st.SUCCESS
    status = scenario.unload()
    assert status == st.SUCCESS, f"unload returned {st.name(status)}"
    # image 2 is unloaded first (it leaves an unload record of its own where the driver
    # records one, as the Linux stand-in does); image 1's record is the one with the workers
    unload = scenario.records(trace.Unload, version=1)
    assert len(unload) == 1 and unload[0].live_workers == 2, (
        f"unload records {scenario.records(trace.Unload)}: expected one of image 1, with 2 "
        "live workers"
    )
    for w in workers:
        assert scenario.exited(w), f"worker {w} was still alive when the driver unloaded"
