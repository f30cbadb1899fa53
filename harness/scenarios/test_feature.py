"""Feature probe and the create call's parameter rules."""

from __future__ import annotations

import pytest

from harness.contract import status as st
from harness.contract import trace
from harness.contract.startctx import EventKind, Routine, StartContext
from harness.scenarios.context import Scenario

S = EventKind.SYNC


def test_feature_probe(scenario: Scenario) -> None:
    """The driver reports the DriverProxy feature state; it is recorded, never assumed."""
    probes = scenario.records(trace.Probe)
    assert probes, "the target recorded no feature probe"
    probe = probes[0]
    scenario.facts["feature"] = "enabled" if probe.enabled else "disabled"
    scenario.facts["extension_status"] = st.name(probe.extension_status)
    assert probe.extension_status in (st.SUCCESS, st.NOT_SUPPORTED, st.DRIVER_BLOCKED), (
        f"IoCreateDriverProxyExtension returned {st.name(probe.extension_status)}, "
        "none of SUCCESS, NOT_SUPPORTED, DRIVER_BLOCKED")
    if not probe.enabled:
        assert probe.extension_status == st.NOT_SUPPORTED, (
            "the feature is reported disabled but creating the extension returned "
            f"{st.name(probe.extension_status)} instead of STATUS_NOT_SUPPORTED")


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
    """A bad start context gives STATUS_INVALID_PARAMETER and creates no thread."""
    scenario.require_feature()
    out = scenario.create(INVALID[case])
    scenario.run(5)
    assert out.status == st.INVALID_PARAMETER, (
        f"create with {case.replace('_', ' ')} returned {st.name(out.status)}, "
        "expected STATUS_INVALID_PARAMETER")
    assert out.worker is None and not scenario.records(trace.Enter), (
        f"create with {case.replace('_', ' ')} started a worker thread")


def test_start_context_freed_after_create(scenario: Scenario) -> None:
    """The caller frees the start context right after the create call; the thread is fine."""
    scenario.require_feature()
    w = scenario.worker(StartContext(events=(S, S)), free_context=True)
    for i in range(4):
        scenario.signal(w, i % 2)
        scenario.run(2)
    statuses = [c.wait_status for c in scenario.calls(w)]
    assert statuses == [st.wait(0), st.wait(1), st.wait(0), st.wait(1)], (
        "after the start context was freed the worker saw "
        f"{[st.name(s) for s in statuses]} instead of WAIT_0, WAIT_1, WAIT_0, WAIT_1")
