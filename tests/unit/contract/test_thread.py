"""same-thread and thread-end."""

from __future__ import annotations

from harness.contract.convention import Convention
from tests.unit.contract.script import Script, obj, valid_worker


def test_same_thread_across_swaps() -> None:
    s = Script()
    s.create()
    s.there_and_back()
    s.end()
    assert s.check() == []


def test_thread_recreated_by_swap_is_reported_once() -> None:
    s = Script()
    create = s.create()
    s.cycle()
    s.swap(1)
    moved = s.cycle(version=2, thread=999, thread_object=obj(9))
    s.cycle(version=2, thread=999, thread_object=obj(9))
    s.end(version=2)
    assert s.found("same-thread") == [(create, moved)]


def test_thread_object_mismatch_alone_is_reported() -> None:
    s = Script()
    create = s.create()
    moved = s.cycle(thread_object=obj(7))
    s.end()
    assert s.found("same-thread") == [(create, moved)]


def test_create_without_thread_takes_first_enter_as_reference() -> None:
    s = Script()
    s.create(thread=None, thread_object=None)
    first = s.cycle()
    other = s.cycle(thread=555)
    s.end()
    assert s.found("same-thread") == [(first, other)]


def test_thread_end_inverted_convention() -> None:
    s = Script(Convention.INVERTED)
    s.create()
    s.cycle()  # returns TRUE: under the inverted convention that ends the thread
    s.thread_exit()
    assert s.check() == []


def test_running_on_after_end_request_is_reported() -> None:
    s = Script(Convention.INVERTED)
    s.create()
    asked = s.cycle() + 1  # the Exit returning TRUE
    again = s.wait()
    s.signal()
    s.enter()
    s.exit(returned=True)
    s.thread_exit()
    assert s.found("thread-end") == [(asked, again)]


def test_end_request_without_thread_exit_is_reported_at_the_end() -> None:
    s = Script()
    s.create()
    s.wait()
    s.signal()
    s.enter()
    asked = s.exit(returned=False)
    assert s.found("thread-end") == [(asked,)]


def test_thread_ending_although_told_to_continue_is_reported() -> None:
    s = Script()
    s.create()
    told = s.cycle() + 1
    ended = s.thread_exit()
    assert s.found("thread-end") == [(told, ended)]


def test_activity_after_thread_exit_is_reported_without_convention() -> None:
    s = Script(convention=None)
    valid_worker(s)
    ended = s.seq
    late = s.wait()
    assert s.found("thread-end") == [(ended, late)]


def test_no_convention_judges_no_return_value() -> None:
    s = Script(convention=None)
    s.create()
    s.cycle()
    s.thread_exit()  # told to continue under the documented one, but nothing is expected
    assert s.check() == []


def test_lone_exit_after_thread_exit_is_reported() -> None:
    s = Script(convention=None)
    valid_worker(s)
    ended = s.seq
    late = s.exit()
    found = {(v.invariant, v.records) for v in s.check()}
    # with no open invocation, irql-restored cannot judge the IRQL either
    assert found == {("thread-end", (ended, late)), ("irql-restored", (late,))}


def test_a_worker_runs_the_endpoint_its_create_named() -> None:
    s = Script()
    made = s.create(1, endpoint=2)
    s.cycle(endpoint=2)
    wrong = s.cycle(endpoint=1)
    s.cycle(endpoint=1)
    s.end()
    assert s.found("same-endpoint") == [(made, wrong)]
