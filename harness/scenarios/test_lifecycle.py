"""The routine's return value, terminating the worker, and unloading with a live worker."""

from __future__ import annotations

from harness.actions import Behaviour
from harness.contract import status as st
from harness.contract import trace
from harness.contract.convention import Convention
from harness.contract.startctx import EventKind, StartContext
from harness.scenarios.context import Scenario

S = EventKind.SYNC


def test_return_convention_measured(scenario: Scenario) -> None:
    """Measures which BOOLEAN ends the thread, and compares it with the expected convention."""
    scenario.require_feature()
    true_w = scenario.worker(behaviour=Behaviour(returns=True))
    false_w = scenario.worker(behaviour=Behaviour(returns=False))
    for _ in range(2):
        scenario.signal(true_w)
        scenario.signal(false_w)
        scenario.run(3)
    measured = Convention.measured(true_ends=scenario.exited(true_w),
                                   false_ends=scenario.exited(false_w))
    scenario.facts["convention"] = measured.value if measured else "neither"
    scenario.facts["expected_convention"] = scenario.convention.value
    # The measurement is the point; judging thread ends by a convention would be circular.
    scenario.disabled_invariants += ("thread-end",)
    assert measured is not None, (
        "the kernel implements neither convention: a routine returning TRUE "
        f"{'ended' if scenario.exited(true_w) else 'did not end'} its thread and one returning "
        f"FALSE {'ended' if scenario.exited(false_w) else 'did not end'} its thread")
    assert measured is scenario.convention, (
        f"the kernel implements the {measured.value} convention "
        f"({'TRUE' if measured.value_to_end() else 'FALSE'} ends the thread) but this target "
        f"is expected to implement the {scenario.convention.value} one")


def test_terminate_on_request(scenario: Scenario) -> None:
    """Returning the end value on the terminate event ends the thread; nothing runs after."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)), behaviour=scenario.ending(st.wait(1)))
    for _ in range(3):
        scenario.signal(w, 0)
        scenario.run(2)
    assert not scenario.exited(w), "the worker ended although its routine asked to continue"
    scenario.signal(w, 1)
    scenario.run(5)
    assert scenario.exited(w), "the worker did not end after its routine asked it to"
    scenario.signal(w, 0)
    scenario.run(5)
    assert len(scenario.calls(w)) == 4, "the routine ran again after its thread ended"


def test_unload_with_live_worker(scenario: Scenario) -> None:
    """Unloading the driver with live workers (image 2 swapped in) swaps home, ends the
    workers, then unloads; nothing of them runs after."""
    scenario.require_feature()
    workers = [scenario.worker(StartContext(events=(S, S)), endpoint=e) for e in (1, 2)]
    for w in workers:
        scenario.signal(w, 0)
    scenario.run(3)
    swapped = scenario.swap(2)
    assert swapped == st.SUCCESS, f"the swap to image 2 returned {st.name(swapped)}"
    status = scenario.unload()
    assert status == st.SUCCESS, f"unload returned {st.name(status)}"
    unload = scenario.records(trace.Unload)
    assert unload and unload[0].live_workers == 2 and unload[0].version == 1, (
        f"unload records {unload}: expected one, of image 1, with 2 live workers")
    for w in workers:
        assert scenario.exited(w), f"worker {w} was still alive when the driver unloaded"
