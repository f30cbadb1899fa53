"""Feature probe, the create call's parameter rules, and the fallback where the feature is off."""

from __future__ import annotations

import pytest

from harness.actions import Behaviour
from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import EventKind, Routine, StartContext
from harness.errors import NotApplicableError
from harness.scenarios.context import Scenario

S = EventKind.SYNC


def test_feature_probe(scenario: Scenario) -> None:
    """The driver reports the DriverProxy feature state; it is recorded, never assumed."""
    probes = scenario.records(trace.Probe)
    assert probes, "the target recorded no feature probe"
    probe = probes[0]
    scenario.facts["feature"] = "enabled" if probe.enabled else "disabled"
    scenario.facts["extension_status"] = st.name(probe.extension_status)
    scenario.facts["exports"] = "present" if probe.exports else "absent"
    if not probe.exports:
        return  # a kernel without the DriverProxy routines: nothing was called to judge
    assert probe.extension_status in (st.SUCCESS, st.NOT_SUPPORTED, st.DRIVER_BLOCKED), (
        f"IoCreateDriverProxyExtension returned {st.name(probe.extension_status)}, "
        "none of SUCCESS, NOT_SUPPORTED, DRIVER_BLOCKED"
    )
    if not probe.enabled:
        assert probe.extension_status == st.NOT_SUPPORTED, (
            "the feature is reported disabled but creating the extension returned "
            f"{st.name(probe.extension_status)} instead of STATUS_NOT_SUPPORTED"
        )


INVALID = {
    "null_routine": StartContext(routine=Routine.NULL),
    "raw_routine": StartContext(routine=Routine.RAW),
    "no_events": StartContext(events=()),
    "65_events": StartContext(events=(S,) * 65),
    "wait_type_7": StartContext(wait_type=7),
    "wait_mode_3": StartContext(wait_mode=3),
    "wait_reason_99": StartContext(wait_reason=99),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_parameters_rejected(scenario: Scenario, case: str) -> None:
    """A bad start context gives STATUS_INVALID_PARAMETER and creates no thread.

    The reference documents INVALID_PARAMETER for a NULL routine and a bad event count; a
    raw function instead of a wrapper, and an unknown wait type, mode or reason, are
    expected to get the same by analogy. The `create_status` fact records what the kernel
    returned, for the first lab run to confirm.
    """
    scenario.require_feature()
    out = scenario.create(INVALID[case])
    what = case.replace("_", " ")
    scenario.facts["create_status"] = st.name(out.status)
    assert out.status == st.INVALID_PARAMETER, (
        f"create with {what} returned {st.name(out.status)}, expected STATUS_INVALID_PARAMETER"
    )
    scenario.settle()  # a thread it made anyway would have run by now
    assert out.worker is None and not scenario.records(trace.Enter), (
        f"create with {what} started a worker thread"
    )


def test_start_context_freed_after_create(scenario: Scenario) -> None:
    """The caller frees the start context right after the create call; the thread is fine."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)), free_context=True)
    for i in range(4):
        scenario.signal(w, i % 2)
        scenario.wait_for_calls(w, i + 1)
    statuses = [c.wait_status for c in scenario.calls(w)]
    assert statuses == [st.wait(0), st.wait(1), st.wait(0), st.wait(1)], (
        "after the start context was freed the worker saw "
        f"{[st.name(s) for s in statuses]} instead of WAIT_0, WAIT_1, WAIT_0, WAIT_1"
    )


def test_fallback_worker_where_the_feature_is_off(scenario: Scenario) -> None:
    """Where DriverProxy is unavailable, hsprobe runs the routine on its own
    PsCreateSystemThread loop (as ACPI.sys does): the create is recorded as a fallback, each
    signal runs the routine, and returning FALSE ends the loop (the driver's own loop keeps
    the documented meaning: TRUE continues)."""
    if scenario.features.extension_status == st.SUCCESS:
        raise NotApplicableError("the feature is available here: the driver uses no fallback")
    w = scenario.worker(
        StartContext(events=(S, S)),
        behaviour=Behaviour(returns=True, returns_on=((st.wait(1), False),)),
    )
    create = scenario.records(trace.Create, worker=w)[0]
    assert create.fallback, "a worker created without the feature is not marked as a fallback"
    scenario.facts["fallback"] = "PsCreateSystemThread"
    for i in range(3):
        scenario.signal(w, 0)
        scenario.wait_for_calls(w, i + 1)
    scenario.signal(w, 1)
    assert scenario.wait_for_exit(w), "the fallback loop did not end when its routine said so"
    statuses = [c.wait_status for c in scenario.calls(w)]
    assert statuses == [st.wait(0)] * 3 + [st.wait(1)], (
        f"the fallback worker saw {[st.name(s) for s in statuses]} instead of "
        "WAIT_0 three times, then WAIT_1"
    )
    threads = {(c.thread, c.thread_object) for c in scenario.calls(w)}
    assert threads == {(create.thread, create.thread_object)}, (
        "the fallback routine ran on another thread than the one created"
    )
