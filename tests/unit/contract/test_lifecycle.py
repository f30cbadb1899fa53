"""create-status and unload."""

from __future__ import annotations

from harness.contract import status as st
from harness.contract.check import Checker
from harness.contract.convention import Convention
from harness.contract.startctx import EventKind, Routine, StartContext
from tests.unit.contract.script import Script, valid_worker

NULL_ROUTINE = StartContext(routine=Routine.NULL)
TOO_MANY = StartContext(events=(EventKind.SYNC,) * 65)


def test_invalid_contexts_rejected_without_thread_pass() -> None:
    s = Script()
    s.create(None, ctx=NULL_ROUTINE, status=st.INVALID_PARAMETER)
    s.create(None, ctx=TOO_MANY, status=st.INVALID_PARAMETER)
    s.create(None, ctx=StartContext(wait_type=7), status=st.INVALID_PARAMETER)
    assert s.check() == []


def test_invalid_context_accepted_is_reported() -> None:
    s = Script()
    bad = s.create(1, ctx=TOO_MANY, status=st.SUCCESS)
    s.thread_exit()
    assert s.found("create-status") == [(bad,)]


def test_rejection_that_still_made_a_thread_is_reported() -> None:
    s = Script()
    bad = s.create(1, ctx=NULL_ROUTINE, status=st.INVALID_PARAMETER)
    assert s.found("create-status") == [(bad,)]


def test_valid_context_rejected_as_invalid_is_reported() -> None:
    s = Script()
    bad = s.create(None, status=st.INVALID_PARAMETER)
    assert s.found("create-status") == [(bad,)]


def test_feature_disabled_gives_not_supported_or_driver_blocked() -> None:
    s = Script()
    s.probe(enabled=False, extension_status=st.NOT_SUPPORTED)
    s.create(None, status=st.NOT_SUPPORTED)
    s.probe(enabled=False, extension_status=st.DRIVER_BLOCKED)
    s.create(None, status=st.DRIVER_BLOCKED)
    assert s.check() == []


def test_success_while_feature_disabled_is_reported() -> None:
    s = Script()
    probe = s.probe(enabled=False, extension_status=st.NOT_SUPPORTED)
    bad = s.create(1, status=st.SUCCESS)
    s.thread_exit()
    blocked = s.probe(enabled=False, extension_status=st.DRIVER_BLOCKED)
    wrong = s.create(None, status=st.NOT_SUPPORTED)
    assert s.found("create-status") == [(probe, bad), (blocked, wrong)]


def test_unload_after_workers_ended_passes() -> None:
    s = Script()
    valid_worker(s)
    s.unload(1)
    assert s.check() == []


def test_unload_with_live_worker_is_reported() -> None:
    s = Script()
    create = s.create()
    s.cycle()
    unload = s.unload(1)
    s.end()
    found = s.check()
    unload_found = [v.records for v in found if v.invariant == "unload"]
    # the worker's later Enter runs unloaded code too
    assert unload_found[0] == (create, unload)
    assert len(unload_found) == 2


def test_unload_of_other_version_leaves_its_workers_alone() -> None:
    s = Script()
    s.create()
    s.there_and_back()
    s.unload(2)  # the second image leaves; the worker runs version 1 on
    s.cycle(version=1)
    s.end()
    assert s.check() == []


def test_code_of_unloaded_version_running_is_reported() -> None:
    s = Script()
    s.create(1)
    s.create(2)
    s.cycle(1)
    s.end(1)
    unload = s.unload(1)
    ran = s.cycle(2)
    s.end(2)
    found = [v.records for v in s.check() if v.invariant == "unload"]
    assert found == [(s.records[1].seq, unload), (unload, ran), (unload, ran + 4)]


def test_a_fallback_worker_is_not_a_create_status_violation() -> None:
    s = Script(convention=None)
    s.probe(enabled=False, extension_status=st.NOT_SUPPORTED)
    s.create(1, status=st.SUCCESS, fallback=True)
    s.cycle()
    s.exit_enter(1, 1)  # the driver's own loop ends on FALSE, whatever the convention
    s.thread_exit()
    assert s.check() == []


def test_a_fallback_worker_follows_the_documented_convention() -> None:
    s = Script(convention=Convention.INVERTED)
    s.probe(enabled=False, extension_status=st.NOT_SUPPORTED)
    s.create(1, status=st.SUCCESS, fallback=True)
    s.cycle()  # returns TRUE: keeps running on the fallback loop, although TRUE ends under
    s.end()  # the inverted convention; FALSE ends it
    assert s.check() == []


def test_a_failed_create_message_names_the_thread_it_reported() -> None:
    s = Script()
    s.create(None, status=st.INSUFFICIENT_RESOURCES, thread=4242)
    [v] = s.check()
    assert "still reported thread 4242;" in v.message and "None" not in v.message


def test_a_worker_no_create_made_is_reported_once() -> None:
    s = Script()
    s.create(None, ctx=NULL_ROUTINE, status=st.INVALID_PARAMETER)
    s.wait(7)
    rogue = s.signal(7)
    s.enter(7)
    s.exit(7)
    [v] = [v for v in s.check() if v.invariant == "worker-origin"]
    assert v.records == (rogue - 1,)
    assert v.message.startswith("worker 7 recorded a wait but no successful create made it")


def test_the_routine_on_a_thread_a_failed_create_reported_is_reported() -> None:
    s = Script()
    failed = s.create(None, status=st.UNSUCCESSFUL, thread=555)
    s.create(1)
    ran = s.enter(1, thread=555)
    found = [v.records for v in s.check() if v.invariant == "worker-origin"]
    assert found == [(failed, ran)]


def test_a_partial_trace_may_start_with_workers_it_never_created() -> None:
    s = Script()
    s.cycle(3)
    s.end(3)
    checker = Checker(s.expectations, partial=True)
    checker.feed_many(s.records)
    assert checker.finish() == []
    assert [v.invariant for v in s.check()] == ["worker-origin"]
