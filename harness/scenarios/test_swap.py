"""Image swaps: the thread survives, the new image runs, calls in flight drain, failures
roll back."""

from __future__ import annotations

import pytest

from harness.actions import routine_symbol
from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import EventKind, StartContext
from harness.scenarios.context import Scenario

S = EventKind.SYNC


def _versions(scenario: Scenario, worker: int) -> list[int]:
    return [c.version for c in scenario.calls(worker)]


def _break_in(scenario: Scenario, worker: int, version: int) -> tuple[int, int, int]:
    """Break in image `version`'s routine while `worker` runs it; (irql, thread id, object)."""
    dbg = scenario.debugger
    bp = dbg.break_at(routine_symbol(version))
    scenario.signal(worker, 0)
    dbg.wait_break(timeout=5)
    irql, thread = dbg.irql(), dbg.current_thread()
    dbg.clear(bp)
    dbg.resume()
    scenario.run(2)
    return irql, thread.id, thread.object


def test_swap_while_idle(scenario: Scenario) -> None:
    """Swap images while the worker waits: same thread, new image from the next wake, PASSIVE
    (checked by the debugger at a breakpoint in each image, not only from the trace)."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)))
    other = scenario.worker(StartContext(events=(S, S)), endpoint=2)
    created = scenario.records(trace.Create, worker=w)[0]
    before = _break_in(scenario, w, 1)
    assert before == (0, created.thread, created.thread_object), (
        f"in image 1 the debugger saw IRQL {before[0]} on thread {before[1]:#x}; expected "
        f"IRQL 0 on the created thread {created.thread:#x}")
    status = scenario.swap(2)
    assert status == st.SUCCESS, f"swapping to image 2 returned {st.name(status)}"
    after = _break_in(scenario, w, 2)
    assert after == before, (
        f"after the swap the debugger saw IRQL {after[0]} on thread {after[1]:#x}/{after[2]:#x}, "
        f"before it IRQL {before[0]} on {before[1]:#x}/{before[2]:#x}: the thread must survive")
    scenario.signal(other, 0)
    scenario.run(2)
    assert _versions(scenario, w) == [1, 2], f"image versions run: {_versions(scenario, w)}"
    assert _versions(scenario, other) == [2], "the second endpoint did not switch with the first"


def test_swap_with_call_in_flight(scenario: Scenario) -> None:
    """A swap requested while the gate holds a call waits for it, then completes."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)), behaviour=scenario.continuing(gated=True))
    other = scenario.worker(StartContext(events=(S, S)), endpoint=2)
    scenario.gate(closed=True)
    scenario.signal(w, 0)
    scenario.run(2)
    status = scenario.swap(2, wait=False)  # an action never sits inside an assert
    assert status == st.PENDING, f"a swap that must drain a held call returned {status:#x}"
    scenario.run(20)
    done = [r for r in scenario.records(trace.Swap) if r.phase == trace.SwapPhase.DONE]
    assert not done, "the swap completed while a call was held in flight by the gate"
    scenario.signal(other, 0)  # arrives during the drain: must wait for the swap to finish
    scenario.run(5)
    scenario.gate(closed=False)
    scenario.run(20)
    done = [r for r in scenario.records(trace.Swap) if r.phase == trace.SwapPhase.DONE]
    assert [d.status for d in done] == [st.SUCCESS], (
        f"after the gate opened the swap ended with {[st.name(d.status or 0) for d in done]}")
    scenario.signal(w, 0)
    scenario.run(3)
    assert _versions(scenario, w) == [1, 2] and _versions(scenario, other) == [2]


def test_swap_storm(scenario: Scenario) -> None:
    """N alternating swaps under continuous signalling: the thread survives, no wake-up lost."""
    scenario.require_feature()
    workers = [scenario.worker(StartContext(events=(S, S)), endpoint=e) for e in (1, 2)]
    swaps = 20
    for i in range(swaps):
        for step in range(4):
            for w in workers:
                scenario.signal(w, step % 2)
            scenario.run(0.25)
        status = scenario.swap(2 if i % 2 == 0 else 1)
        assert status == st.SUCCESS, f"swap {i + 1} of {swaps} returned {st.name(status)}"
    scenario.run(5)
    for w in workers:
        assert not scenario.exited(w), f"worker {w} ended during the swap storm"
        calls = scenario.calls(w)
        assert len({(c.thread, c.thread_object) for c in calls}) == 1


@pytest.mark.parametrize("phase", ["pre", "stall", "post"])
def test_swap_rollback(scenario: Scenario, phase: str) -> None:
    """A phase callback that fails rolls the whole swap back: the old image keeps running."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)))
    scenario.signal(w, 0)
    scenario.run(2)
    status = scenario.swap(2, fail_phase=phase)
    assert not st.is_success(status), (
        f"a swap whose {phase} callback failed returned {st.name(status)}")
    scenario.signal(w, 0)
    scenario.run(2)
    assert _versions(scenario, w) == [1, 1], (
        f"after a rolled-back swap the routine ran image versions {_versions(scenario, w)}")


def test_swap_parameter_mismatch(scenario: Scenario) -> None:
    """Re-registering an id with another ParameterCount fails with INVALID_PARAMETER_3."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)))
    status = scenario.swap(2, parameter_mismatch=True)
    assert status == st.INVALID_PARAMETER_3, (
        f"a ParameterCount mismatch returned {st.name(status)}, expected "
        "STATUS_INVALID_PARAMETER_3")
    scenario.signal(w, 0)
    scenario.run(2)
    assert _versions(scenario, w) == [1]


def test_swap_drain_timeout(scenario: Scenario) -> None:
    """A call held in flight past the drain timeout fails the swap with UNSUCCESSFUL."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)), behaviour=scenario.continuing(gated=True))
    scenario.gate(closed=True)
    scenario.signal(w, 0)
    scenario.run(2)
    status = scenario.swap(2)
    assert status == st.UNSUCCESSFUL, (
        f"a swap that could not drain a held call returned {st.name(status)}")
    scenario.gate(closed=False)
    scenario.signal(w, 0)
    scenario.run(3)
    assert _versions(scenario, w) == [1, 1]
